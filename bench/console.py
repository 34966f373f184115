"""bench/console.sh's measurements: see that script. Nothing is uploaded (--no-upload): this is the
scan alone — copy the bot, verify it, run it, fetch the encrypted file, remove the bot."""
import glob
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "Integration" / "console"))
import testhosts  # noqa: E402

hosts, runs, binaries = int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
CONSOLE, SERVER = binaries / "assay", binaries / "assay-server"
BOT = pathlib.Path(sys.argv[4]) if len(sys.argv) > 4 else binaries / "assay-bot"
work = pathlib.Path(tempfile.mkdtemp(prefix="assay-console-bench-"))


def bundle():
    """A bundle for a key made here: the scan needs the tenant's public key, not the service."""
    subprocess.run([SERVER, "key", "generate", "--user-id", "Bench <bench@assay.invalid>", "--bits", "3072", "--secret-out",
                    str(work / "tenant.sec.asc"), "--public-out", str(work / "tenant.asc")], check=True, capture_output=True)
    inspect = subprocess.run([SERVER, "key", "inspect", str(work / "tenant.asc")], check=True, capture_output=True, text=True).stdout
    fingerprint = next(line.split()[-1] for line in inspect.splitlines() if "ingerprint" in line).replace(" ", "").lower()
    path = work / "bundle.json"
    path.write_text(json.dumps({"format": "assay-console-bundle/1", "serviceURL": "http://127.0.0.1:9", "tenantID": "00000000-0000-4000-8000-000000000001",
                                "publicKey": (work / "tenant.asc").read_text(), "fingerprint": fingerprint}))
    return path


def busy_seconds():
    """CPU seconds this machine has spent busy (all cores), from /proc/stat."""
    fields = [int(value) for value in open("/proc/stat").readline().split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def console_scan(fleet, state, concurrency):
    """Wall seconds, the console's own peak RSS (KiB), the console's CPU seconds (with its ssh
    clients) and the whole machine's CPU seconds (with every sshd and bot) of one scan."""
    args = [str(CONSOLE), "scan", "inventory", "--no-upload", "--quiet", "--json", "--concurrency", str(concurrency), "--bot", str(BOT),
            "--identity", str(fleet.client_key), "--known-hosts", str(fleet.known_hosts), "--ssh-config", str(fleet.ssh_config),
            "--state-dir", str(state)]
    started, busy = time.monotonic(), busy_seconds()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed, busy = time.monotonic() - started, busy_seconds() - busy
    outcome = json.loads(output)
    done = sum(1 for device in outcome["devices"] if device["status"] == "done")
    assert done == len(fleet.hosts), outcome
    assert not glob.glob("/tmp/assay-inventory.*"), "a bot was left behind"
    for file in (state / "spool").glob("*"):
        file.unlink()
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, busy


def shell_loop(fleet):
    """The one-at-a-time way by hand: scp the bot and key, ssh to run it, scp the file back, ssh rm."""
    ssh = ["-F", str(fleet.ssh_config), "-i", str(fleet.client_key), "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={fleet.known_hosts}"]
    started = time.monotonic()
    for host in fleet.hosts:
        directory = f"/tmp/assay-loop-{host.index}"
        subprocess.run(["ssh", *ssh, host.name, f"mkdir -p {directory}"], check=True)
        subprocess.run(["scp", "-q", *ssh, str(BOT), str(work / "tenant.asc"), f"{host.name}:{directory}/"], check=True)
        subprocess.run(["ssh", *ssh, host.name, f"nice {directory}/assay-bot inventory --recipient {directory}/tenant.asc --out {directory}/i.pgp"], check=True)
        subprocess.run(["scp", "-q", *ssh, f"{host.name}:{directory}/i.pgp", str(work / f"loop-{host.index}.pgp")], check=True)
        subprocess.run(["ssh", *ssh, host.name, f"rm -rf {directory}"], check=True)
    return time.monotonic() - started


def ssh_floor(fleet):
    """One `ssh host true` per host, one after another: what a connection costs here."""
    ssh = ["-F", str(fleet.ssh_config), "-i", str(fleet.client_key), "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={fleet.known_hosts}"]
    started = time.monotonic()
    for host in fleet.hosts:
        subprocess.run(["ssh", *ssh, host.name, "true"], check=True)
    return (time.monotonic() - started) / len(fleet.hosts)


def main():
    path = bundle()
    state = work / "state"
    subprocess.run([str(CONSOLE), "init", str(path), "--state-dir", str(state)], check=True, capture_output=True)
    with testhosts.Fleet(work / "hosts", ["ok"] * hosts, prefix="assayb") as fleet:
        csv = work / "devices.csv"
        csv.write_text(fleet.csv())
        subprocess.run([str(CONSOLE), "devices", "import", str(csv), "--state-dir", str(state)], check=True, capture_output=True)
        console_scan(fleet, state, 32)  # warm the page cache and sshd
        parallel = [console_scan(fleet, state, 32) for _ in range(runs)]
        sequential = console_scan(fleet, state, 1)
        loop = shell_loop(fleet)
        floor = ssh_floor(fleet)
    wall = statistics.median(run[0] for run in parallel)
    rss = max(run[1] for run in parallel) / 1024
    bot_bytes = BOT.stat().st_size
    print(f"inventory scan of {hosts} SSH hosts (sshd in network namespaces: the console, every sshd and every bot share this machine's {os.cpu_count()} cores)")
    print(f"bot copied to each host: {BOT.name}, {bot_bytes / 1048576:.1f} MiB")
    console_cpu = statistics.median(run[2] for run in parallel) / hosts
    machine_cpu = statistics.median(run[3] for run in parallel) / hosts
    print(f"{'how':38} {'wall s':>8} {'per host ms':>12} {'peak RSS MiB':>13}")
    print(f"{'assay, 32 at once (median of ' + str(runs) + ')':38} {wall:8.2f} {wall / hosts * 1000:12.0f} {rss:13.1f}")
    print(f"{'assay, one at a time':38} {sequential[0]:8.2f} {sequential[0] / hosts * 1000:12.0f} {sequential[1] / 1024:13.1f}")
    print(f"{'scp/ssh loop, one at a time':38} {loop:8.2f} {loop / hosts * 1000:12.0f} {'-':>13}")
    print(f"{'ssh host true (connection floor)':38} {floor * hosts:8.2f} {floor * 1000:12.0f} {'-':>13}")
    print(f"ratios: 32 at once is {sequential[0] / wall:.1f}x faster than one at a time, {loop / wall:.1f}x faster than the scp/ssh loop")
    print(f"target: {hosts} hosts in <= 10 s: {'met' if wall <= 10 else 'not met'} ({wall:.2f} s)")
    print(f"CPU per host: {machine_cpu * 1000:.0f} ms in all, of which the console and its ssh clients {console_cpu * 1000:.0f} ms "
          f"(the rest is sshd, the remote script and the bot: the devices' share)")
    print(f"1,000 devices: the console's own CPU is {console_cpu * 1000 / os.cpu_count():.0f} s on {os.cpu_count()} cores; "
          f"at this machine's whole per-host cost (devices sharing the console's cores) {wall / hosts * 1000 / 60:.1f} min (target 5 min)")


if __name__ == "__main__":
    try:
        main()
    finally:
        subprocess.run(["rm", "-rf", str(work)])
