"""What every benchmark script shares: installing bench/requirements.txt into the running
interpreter's venv when the file changed since the last install (a stamp in .venv remembers
it), before the scripts import their third-party packages; and small process helpers."""
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQ = os.path.join(ROOT, "bench", "requirements.txt")
STAMP = os.path.join(ROOT, ".venv", ".bench-req-stamp")


def ensure_requirements():
    """Installs bench/requirements.txt into the running interpreter's venv when it changed."""
    want = open(REQ).read()
    if os.path.exists(STAMP) and open(STAMP).read() == want:
        return
    print("bench: installing bench/requirements.txt", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", REQ], check=True)
    with open(STAMP, "w") as f:
        f.write(want)


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_s(pid):
    """User+system CPU seconds of a process (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def sh(cmd):
    """First line a command prints (for the machine description), or why it could not run."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout or r.stderr).strip().splitlines()[0]
    except Exception as e:
        return f"? ({e})"


def machine():
    """The machine a run measured: CPU, cores, RAM, kernel, server versions, load."""
    import glob
    import platform

    def first(cmd):
        return sh(cmd)

    cpu = first(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).strip()
    pg = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return {
        "cpu": cpu, "cores": os.cpu_count(),
        "memory": first(["awk", "/MemTotal/ {printf \"%.1f GiB\", $2/1048576}", "/proc/meminfo"]),
        "kernel": platform.release(),
        "postgres": first([pg[-1], "--version"]) if pg else "not found",
        "redis": first(["redis-server", "--version"]),
        "clickhouse": first(["clickhouse-client", "--version"]),
        "wrk": first(["wrk", "-v"]),
        "perf": first(["perf", "--version"]),
        "python": platform.python_version(),
        "hdp_commit": first(["git", "-C", ROOT, "describe", "--always", "--dirty"]),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }


def perf_top(data, limit=10, pids=None, comms=None, sort="dso,symbol"):
    """The hottest symbols in a perf.data file as "pct dso symbol" lines (flat, self time,
    percentages relative to the filtered samples)."""
    if not os.path.exists(data):
        return ["(no profile: perf record did not run)"]
    cmd = ["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
           "--percentage", "relative"]
    if pids:
        cmd += ["--pid", ",".join(str(p) for p in pids)]
    if comms:
        cmd += ["--comms", ",".join(comms)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    import re
    rows = [re.sub(r"( -)+$", "", re.sub(r"\s+", " ", ln.strip())) for ln in r.stdout.splitlines()
            if re.match(r"\s+\d+\.\d+%", ln)]
    return rows[:limit]


def perf_record(data, target, freq=499):
    """Starts `perf record` in the background: target is ["-p", "PID,..."], ["-a"] or
    ["--", cmd...]. Returns the Popen; stop it with perf_stop()."""
    import shutil
    if not shutil.which("perf"):
        log("perf not installed: no profile (scripts/deps.sh installs linux-perf)")
        return None
    return subprocess.Popen(["perf", "record", "-F", str(freq), "-o", data, "-q"] + target,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def perf_stop(p, timeout=60):
    import signal
    if p is None:
        return None
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p.returncode


def tree_cpu_s(pid):
    """User+system CPU seconds of a process and all its descendants (uvicorn's workers)."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(d))
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu_s(p) or 0.0
        todo.extend(kids.get(p, []))
    return total


def busy_cores(seconds=2.0):
    """Cores busy on the whole machine over `seconds` (from /proc/stat): what else runs."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v[:8]) - idle, sum(v[:8])
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return round((os.cpu_count() or 1) * (b1 - b0) / max(1, t1 - t0), 2)
