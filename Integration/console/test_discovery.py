"""Active Directory discovery (CON-1) against a real slapd shaped like AD: StartTLS and LDAPS with
a test CA, 2,500 computers behind a 1,000-entry size limit (so only paging finds them all), then
a scan of what was found, end to end."""
import json
import subprocess

import pytest

import directory as ldap_directory
import testhosts
from conftest import CONSOLE


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    names = [f"h{index}.assay.test" for index in range(1, 9)]
    with ldap_directory.Directory(tmp_path_factory.mktemp("slapd"), names) as server:
        yield server


def discover(console, slapd, url, *extra, password=ldap_directory.READER_PASSWORD, check=True):
    args = ["devices", "discover", "--ldap", url, "--base-dn", ldap_directory.SERVERS, "--bind-dn", ldap_directory.READER,
            "--password-stdin", "--ca-file", str(slapd.directory / "ca.pem"), *extra]
    result = console.run(*args, "--json", input=password + "\n", check=check)
    return result if not check else json.loads(result.stdout)


def expected_linux(slapd):
    valid = [c for c in ldap_directory.computers(slapd.fleet_names) if c[1] and "Windows" not in c[2] and not c[1].startswith(("evil", "-"))]
    return {c[1] for c in valid}


def test_start_tls_pages_past_the_size_limit(console, slapd):
    found = discover(console, slapd, slapd.start_tls_url, "--page-size", "400")
    expected = expected_linux(slapd)
    assert found["found"] == len(expected) > 1000, found["found"]
    listed = {entry["device"]["host"] for entry in console.json("devices", "list")}
    assert listed == expected
    reasons = " ".join(skipped["reason"] for skipped in found["skipped"])
    assert "Windows" in reasons and "no dNSHostName" in reasons and "is not a host name" in reasons
    assert len(found["skipped"]) == ldap_directory.COMPUTERS - len(expected)
    # a search without paging is cut at 1,000 by the directory: paging is what found them
    plain = subprocess.run(["ldapsearch", "-x", "-H", f"ldap://127.0.0.1:{slapd.port}", "-D", ldap_directory.READER, "-w",
                            ldap_directory.READER_PASSWORD, "-b", ldap_directory.SERVERS, "(objectClass=computer)", "cn"],
                           capture_output=True, text=True)
    assert "Size limit exceeded" in plain.stdout + plain.stderr


def test_ldaps_with_a_filter_then_scan_what_was_found(console, service, slapd, tmp_path):
    preview = discover(console, slapd, slapd.ldaps_url, "--filter", "(dNSHostName=*.assay.test)", "--dry-run")
    assert preview["new"] == 8 and console.json("devices", "list") == []
    found = discover(console, slapd, slapd.ldaps_url, "--filter", "(dNSHostName=*.assay.test)", "--user", "root", "--label", "dc1")
    assert found["found"] == 8 and found["added"] == 8
    devices = console.json("devices", "list", "--label", "dc1")
    assert {d["device"]["host"] for d in devices} == set(slapd.fleet_names)
    assert all(d["device"]["labels"] == ["ad", "dc1"] and d["source"].startswith("ldap:") for d in devices)
    console.login(service)
    before = service.catalog().execute("SELECT COUNT(*) FROM uploads").fetchone()[0]
    with testhosts.Fleet(tmp_path / "hosts", ["ok"] * 8, prefix="assayd") as fleet:
        result = console.json("scan", "inventory", "--label", "ad", "--identity", str(fleet.client_key), "--known-hosts",
                              str(fleet.known_hosts), "--ssh-config", str(fleet.ssh_config))
    assert [d["status"] for d in result["devices"]] == ["done"] * 8
    service.wait_ingested(before + 8)
    with service.tenant_db() as db:
        hosts = {row[0] for row in db.execute("SELECT hostname FROM devices")}
    assert set(slapd.fleet_names) <= hosts


def test_wrong_password_untrusted_certificate_and_bad_filter_are_named(console, slapd, tmp_path):
    wrong = discover(console, slapd, slapd.ldaps_url, password="not-it", check=False)
    assert wrong.returncode == 69 and "invalidCredentials" in wrong.stderr
    untrusted = console.run("devices", "discover", "--ldap", slapd.ldaps_url, "--base-dn", ldap_directory.SERVERS, "--bind-dn",
                            ldap_directory.READER, "--password-stdin", input="x\n", check=False)
    assert untrusted.returncode == 69 and "TLS" in untrusted.stderr
    bad = discover(console, slapd, slapd.ldaps_url, "--filter", "(cn=a)(", check=False)
    assert bad.returncode == 64 and "RFC 4515" in bad.stderr
    by_ip = discover(console, slapd, f"ldaps://127.0.0.1:{slapd.tls_port}", check=False)
    assert by_ip.returncode == 64 and "DNS name" in by_ip.stderr
    assert console.json("devices", "list") == []
