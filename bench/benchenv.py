"""What every benchmark script does before importing its third-party packages: install
bench/requirements.txt into the running interpreter's venv when the file changed since the
last install (a stamp in .venv remembers it)."""
import os
import subprocess
import sys

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
