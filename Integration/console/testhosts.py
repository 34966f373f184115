"""Test hosts for the console: one network namespace per host, joined to this machine by a veth
pair, each running Debian's real OpenSSH server on its own address (10.X.N.2, X chosen per fleet so
that fleets of concurrent runs never share an address) with its own host
key, host name (a UTS namespace) and /etc/machine-id (ip netns exec bind-mounts /etc/netns/NAME),
so that every host is a device of its own to the bot and the service.

Kinds of host, for the statuses the console must tell apart:
  ok         accepts the test's key
  refuses    accepts no key                       -> authentication-failed
  changed    known_hosts holds another key for it -> host-key-changed
  unknown    not in known_hosts                   -> host-key-unknown
  down       namespace up, no sshd                -> unreachable
  killer     a `nice` that SIGKILLs the bot       -> bot-failed
  notlinux   a `uname` that says FreeBSD          -> not-linux
  hangs      a forced command that never ends     -> timed-out
  garbage    answers random bytes, not OpenPGP    -> bad-output (nothing kept)
  huge       answers 40 MB                        -> bad-output (nothing kept)
  noexec     /tmp mounted noexec (CIS hardening)   -> done (the bot runs from the home directory)
  slowbot    a bot run that never ends             -> timed-out, stopped on the device by its time limit
Used by Integration/console (pytest) and bench/console.sh. Needs root, iproute2, openssh-server."""
import os
import pathlib
import secrets
import shutil
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"


def run(*args, **kwargs):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kwargs)


class Host:
    def __init__(self, fleet, index, kind):
        self.fleet = fleet
        self.index = index
        self.kind = kind
        self.namespace = f"{fleet.prefix}{index}"
        self.address = f"10.{fleet.network}.{index}.2"
        self.name = f"h{index}.assay.test"
        self.directory = fleet.directory / f"host{index}"
        self.process = None

    def start(self):
        d = self.directory
        d.mkdir(parents=True)
        veth = f"{self.fleet.prefix}v{self.index}"
        run("ip", "netns", "add", self.namespace)
        run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", self.namespace)
        run("ip", "addr", "add", f"10.{self.fleet.network}.{self.index}.1/24", "dev", veth)
        run("ip", "link", "set", veth, "up")
        for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{self.address}/24", "dev", "eth0"], ["ip", "link", "set", "eth0", "up"]):
            run("ip", "netns", "exec", self.namespace, *command)
        etc = pathlib.Path("/etc/netns") / self.namespace
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "machine-id").write_text(secrets.token_hex(16) + "\n")
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_ed25519"))
        authorized = d / "authorized_keys"
        authorized.write_text("" if self.kind == "refuses" else self.fleet.client_public)
        config = [
            f"ListenAddress {self.address}", "Port 22", f"HostKey {d / 'host_ed25519'}", f"PidFile {d / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}", "PermitRootLogin prohibit-password", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no", "PrintMotd no", "LogLevel VERBOSE",
            "MaxStartups 200:30:400", "MaxSessions 64", "Subsystem sftp internal-sftp",
        ]
        fake = d / "fakebin"
        if self.kind in ("killer", "notlinux", "hangs", "garbage", "huge", "slowbot"):
            fake.mkdir()
            if self.kind == "killer":
                # Runs what it is given and kills it at once, as an OOM killer or an operator would
                # (at once: a bot fast enough to finish within a pause would make this host pass).
                (fake / "nice").write_text('#!/bin/sh\nshift 2\n"$@" &\npid=$!\nkill -KILL $pid\nwait $pid\n')
            if self.kind == "slowbot":
                # the bot's run hangs (a stuck package database, say); this host's own marker names it
                (fake / "nice").write_text(f"#!/bin/sh\nexec sleep 600{self.index}\n")
            if self.kind == "notlinux":
                (fake / "uname").write_text("#!/bin/sh\necho FreeBSD\n")
            for tool in fake.iterdir():
                tool.chmod(0o755)
            wrapper = d / "wrapper.sh"
            if self.kind == "hangs":
                wrapper.write_text("#!/bin/sh\nexec sleep 600\n")
            elif self.kind == "garbage":
                wrapper.write_text("#!/bin/sh\ncat > /dev/null\nprintf '\\303'\nhead -c 4000 /dev/urandom\n")
            elif self.kind == "huge":
                wrapper.write_text("#!/bin/sh\ncat > /dev/null\nhead -c 40000000 /dev/zero\n")
            else:
                wrapper.write_text(f'#!/bin/sh\nPATH={fake}:$PATH\nexport PATH\nexec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n')
            wrapper.chmod(0o755)
            config.append(f"ForceCommand {wrapper}")
        (d / "sshd_config").write_text("\n".join(config) + "\n")
        if self.kind == "down":
            return
        pathlib.Path("/run/sshd").mkdir(exist_ok=True)
        log = open(d / "sshd.log", "w")
        start = f"hostname {self.name} && exec {SSHD} -D -e -f {d / 'sshd_config'}"
        if self.kind == "noexec":
            # /tmp stays visible but nothing in it may run, in this host's mount namespace only
            start = "mount --bind /tmp /tmp && mount -o remount,bind,noexec /tmp && " + start
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "--mount", "sh", "-c", start], stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self):
        if self.kind == "down":
            return
        for _ in range(200):
            try:
                with socket.create_connection((self.address, 22), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"sshd of {self.name} ended: {(self.directory / 'sshd.log').read_text()}")
                time.sleep(0.05)
        raise RuntimeError(f"sshd of {self.name} does not listen")

    def known_hosts_line(self):
        key = (self.directory / "host_ed25519.pub").read_text().split()
        if self.kind == "changed":
            other = self.fleet.directory / f"other{self.index}"
            run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other))
            key = pathlib.Path(str(other) + ".pub").read_text().split()
        if self.kind == "unknown":
            return ""
        return f"{self.name},{self.address} {key[0]} {key[1]}\n"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        remove_namespace(self.namespace)


class Fleet:
    """`kinds` lists each host's kind in order; hosts are h1 … hN. The client key, known_hosts
    and an ssh_config that maps every name to its address are in `directory`."""

    NETWORKS = {"assayt": 231, "assayc": 232, "assayd": 233, "assayb": 234}

    def __init__(self, directory, kinds, prefix="assayt"):
        self.directory = pathlib.Path(directory)
        self.prefix = prefix
        self.network = self.NETWORKS.get(prefix, 235)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.client_key = self.directory / "client_ed25519"
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.client_key))
        self.client_public = pathlib.Path(str(self.client_key) + ".pub").read_text()
        self.hosts = [Host(self, index + 1, kind) for index, kind in enumerate(kinds)]
        self.known_hosts = self.directory / "known_hosts"
        self.ssh_config = self.directory / "ssh_config"

    def __enter__(self):
        cleanup(self.prefix)
        # ip netns exec bind-mounts /etc/netns/NAME/machine-id over /etc/machine-id, which must exist
        # for that (a systemd machine always has one; a bare container may not).
        if not pathlib.Path("/etc/machine-id").exists():
            pathlib.Path("/etc/machine-id").write_text(secrets.token_hex(16) + "\n")
        try:
            for host in self.hosts:
                host.start()
            for host in self.hosts:
                host.wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self.known_hosts.write_text("".join(host.known_hosts_line() for host in self.hosts))
        self.ssh_config.write_text("".join(f"Host {h.name}\n  HostName {h.address}\n  HostKeyAlias {h.name}\n  User root\n" for h in self.hosts))
        return self

    def __exit__(self, *exc):
        for host in self.hosts:
            host.stop()

    def csv(self, kinds=None):
        rows = ["host,port,user,labels"]
        for host in self.hosts:
            if kinds is None or host.kind in kinds:
                rows.append(f"{host.name},22,root,test;{host.kind}")
        return "\n".join(rows) + "\n"


def remove_namespace(name):
    """Ends every process in the namespace (sshd and what it started), then the namespace itself;
    its veth pair goes with it."""
    for pid in subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split():
        subprocess.run(["kill", "-KILL", pid], capture_output=True)
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    shutil.rmtree(pathlib.Path("/etc/netns") / name, ignore_errors=True)


def cleanup(prefix):
    """Namespaces a killed earlier run left behind."""
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            remove_namespace(name)
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in links.splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            link = parts[1].strip().split("@")[0]
            if link.startswith(prefix + "v"):
                subprocess.run(["ip", "link", "del", link], capture_output=True)
