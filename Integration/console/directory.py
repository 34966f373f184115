"""A real slapd (Debian's OpenLDAP) on loopback, shaped like an Active Directory for the console:
the few schema definitions slapd lacks (AD's computer class, dNSHostName, operatingSystem, with
AD's OIDs), 2,500 computer objects under OU=Servers, a size limit of 1,000 per search as AD has
(MaxPageSize), so that only a paged search (RFC 2696) sees them all, and TLS with a test CA for
StartTLS and LDAPS."""
import pathlib
import socket
import subprocess
import time

from support import free_port, make_ca_and_certificate

BASE = "dc=acme,dc=test"
SERVERS = f"ou=Servers,{BASE}"
READER = f"cn=assay-reader,{BASE}"
READER_PASSWORD = "Reader-Passw0rd!"
COMPUTERS = 2500

SCHEMA = """
attributetype ( 1.2.840.113556.1.4.619 NAME 'dNSHostName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.363 NAME 'operatingSystem' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.364 NAME 'operatingSystemVersion' EQUALITY caseIgnoreMatch
  SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.2.840.113556.1.3.30 NAME 'computer' SUP top STRUCTURAL MUST cn
  MAY ( dNSHostName $ operatingSystem $ operatingSystemVersion $ description ) )
"""


def computers(fleet_names):
    """The fleet's hosts (Linux), then a realistic mix: Windows servers, Linux servers elsewhere,
    entries without a host name, and a few hostile values."""
    entries = []
    for index, name in enumerate(fleet_names):
        entries.append((f"fleet{index + 1}", name, "Debian GNU/Linux", "12"))
    for index in range(COMPUTERS - len(fleet_names) - 3):
        if index % 5 < 2:
            entries.append((f"win{index:04d}", f"win{index:04d}.corp.acme.test", "Windows Server 2022 Datacenter", "10.0 (20348)"))
        else:
            entries.append((f"lnx{index:04d}", f"lnx{index:04d}.corp.acme.test", "Red Hat Enterprise Linux" if index % 2 else "Ubuntu", "9.3"))
    entries.append(("nohost", None, "Ubuntu", "22.04"))
    entries.append(("evil1", "evil;reboot.corp.acme.test", "Ubuntu", "22.04"))
    entries.append(("evil2", "-oProxyCommand=touch.corp.acme.test", "Linux", "6.1"))
    return entries


def ldif(fleet_names):
    lines = [f"dn: {BASE}", "objectClass: dcObject", "objectClass: organization", "dc: acme", "o: Acme", "",
             f"dn: {SERVERS}", "objectClass: organizationalUnit", "ou: Servers", "",
             f"dn: {READER}", "objectClass: organizationalRole", "objectClass: simpleSecurityObject", "cn: assay-reader",
             f"userPassword: {READER_PASSWORD}", ""]
    for cn, host, system, version in computers(fleet_names):
        lines += [f"dn: cn={cn},{SERVERS}", "objectClass: computer", f"cn: {cn}"]
        if host:
            lines.append(f"dNSHostName: {host}")
        lines += [f"operatingSystem: {system}", f"operatingSystemVersion: {version}", ""]
    return "\n".join(lines) + "\n"


class Directory:
    def __init__(self, directory, fleet_names):
        self.directory = pathlib.Path(directory)
        self.fleet_names = fleet_names
        self.port = free_port()
        self.tls_port = free_port()
        self.process = None

    def __enter__(self):
        d = self.directory
        (d / "db").mkdir(parents=True)
        make_ca_and_certificate(d)
        (d / "ad.schema").write_text(SCHEMA)
        (d / "slapd.conf").write_text(f"""include /etc/ldap/schema/core.schema
include {d / 'ad.schema'}
pidfile {d / 'slapd.pid'}
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile {d / 'ca.pem'}
TLSCertificateFile {d / 'server.pem'}
TLSCertificateKeyFile {d / 'server.key'}
sizelimit size.soft=1000 size.hard=1000 size.prtotal=unlimited
database mdb
maxsize 104857600
directory {d / 'db'}
suffix "{BASE}"
rootdn "cn=admin,{BASE}"
rootpw not-used-{self.port}
index objectClass eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""")
        (d / "data.ldif").write_text(ldif(self.fleet_names))
        subprocess.run(["slapadd", "-q", "-f", str(d / "slapd.conf"), "-l", str(d / "data.ldif")], check=True, capture_output=True)
        log = open(d / "slapd.log", "w")
        self.process = subprocess.Popen(
            ["/usr/sbin/slapd", "-f", str(d / "slapd.conf"), "-h", f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.tls_port}/", "-d", "0"],
            stdout=log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", self.tls_port), timeout=0.5):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("slapd ended: " + (d / "slapd.log").read_text())
                time.sleep(0.05)
        raise RuntimeError("slapd does not listen")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    @property
    def start_tls_url(self):
        return f"ldap://localhost:{self.port}"

    @property
    def ldaps_url(self):
        return f"ldaps://localhost:{self.tls_port}"
