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
