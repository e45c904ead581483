"""`hdp up`: private PostgreSQL, Redis and ClickHouse under HDP_VAR_DIR, supervised children,
clean stop.

Runs the real binary against real postgres and redis-server on free ports. The hdp children
(init, speed, serve, generate) may still be stubs that exit 1: that is how the supervisor's
restart-with-backoff is observed here."""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import shutil

import psycopg2
import pytest
import redis
import requests

from services import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HDP = os.environ.get("HDP_BIN", os.path.join(ROOT, "build", "hdp"))


def poll(what, fn, limit=60.0):
    """Polls fn until it returns a true value; fails naming `what` after `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception:  # not ready yet
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def refuses(port):
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children_of(ppid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().split(") ")[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == ppid:
            kids.append(int(d))
    return kids


class Stack:
    """One `hdp up` run: its own var dir (reachable by the postgres user) and ports."""

    def __init__(self, var_root=None):
        self.root = var_root or tempfile.mkdtemp(prefix="hdp-up-", dir="/tmp")
        os.chmod(self.root, 0o755)
        self.var = os.path.join(self.root, "var")
        self.pg_port, self.redis_port, self.http_port = free_port(), free_port(), free_port()
        self.ch_port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "HDP_ENV_FILE": "/dev/null",
            "HDP_VAR_DIR": self.var,
            "HDP_SOURCE_DSN": f"host=127.0.0.1 port={self.pg_port} dbname=shop user=hdp",
            "HDP_DWH_DSN": f"host=127.0.0.1 port={self.pg_port} dbname=dwh user=hdp",
            "HDP_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "HDP_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "HDP_LAKE_URL": f"file://{self.root}/var/lake",
            "HDP_CLICKHOUSE_URL": f"http://127.0.0.1:{self.ch_port}",
        })
        self.proc = None

    def start(self, *args):
        self.err_path = os.path.join(self.root, f"up-{time.monotonic_ns()}.err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([HDP, "up", *args], env=self.env, cwd=self.root,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        return self.proc

    def run(self, *args, timeout=120):
        return subprocess.run([HDP, "up", *args], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def pg_ready(self):
        with psycopg2.connect(host="127.0.0.1", port=self.pg_port, user="hdp",
                              dbname="postgres", connect_timeout=2) as c:
            with c.cursor() as cur:
                cur.execute("SHOW wal_level")
                return cur.fetchone()[0]

    def redis_ready(self):
        return redis.Redis(host="127.0.0.1", port=self.redis_port, socket_timeout=2).ping()

    def ch_query(self, sql):
        r = requests.post(f"http://127.0.0.1:{self.ch_port}/", data=sql, timeout=5)
        r.raise_for_status()
        return r.text

    def ch_ready(self):
        return self.ch_query("SELECT version()").strip()

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=30)
        finally:
            self.err.close()
        return rc

    def kill_leftovers(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        pidfile = os.path.join(self.var, "pg", "postmaster.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as f:
                pid = int(f.readline())
            try:
                os.kill(pid, signal.SIGQUIT)
            except ProcessLookupError:
                pass


@pytest.fixture
def stack():
    s = Stack()
    yield s
    s.kill_leftovers()
    shutil.rmtree(s.root, ignore_errors=True)


def test_up_runs_supervises_and_stops_everything(stack):
    up = stack.start("--no-init", "--generate-rate", "5")
    assert poll("PostgreSQL with wal_level=logical", stack.pg_ready) == "logical"
    assert poll("Redis PING", stack.redis_ready)
    assert poll("ClickHouse answering", stack.ch_ready).startswith("18.16.")
    assert "initdb" in stack.stderr()
    for name in ("postgres.log", "redis.log", "clickhouse.log"):
        assert os.path.exists(os.path.join(stack.var, "log", name))
    for sub in ("pg", "run", "redis", "log", "lake", "clickhouse/data"):
        assert os.path.isdir(os.path.join(stack.var, sub))
    with open(os.path.join(stack.var, "pg", "postmaster.pid")) as f:
        postmaster = int(f.readline())

    # The stub children exit at once; the supervisor restarts them with growing delays.
    def backoff_seen():
        err = stack.stderr()
        delays = re.findall(r"(speed|serve|generate) exited .*restarting in ([\d.]+) s", err)
        by_child = {}
        for name, d in delays:
            by_child.setdefault(name, []).append(float(d))
        return any(v[:2] == [1.0, 2.0] for v in by_child.values()) and "restarted" in err
    poll("children restarted with backoff on stderr", backoff_seen)
    for name in ("speed.log", "serve.log"):
        assert os.path.exists(os.path.join(stack.var, "log", name))

    kids = children_of(up.pid)
    assert kids, "hdp up has no children"
    assert up.poll() is None
    stack.ch_query("CREATE TABLE IF NOT EXISTS default.kept (a UInt8) ENGINE = MergeTree ORDER BY a")
    stack.ch_query("INSERT INTO default.kept VALUES (7)")
    assert stack.stop() == 0
    assert refuses(stack.pg_port) and refuses(stack.redis_port) and refuses(stack.ch_port)
    assert not pid_alive(postmaster)
    for pid in kids:
        assert not pid_alive(pid), f"child {pid} of hdp up survived"
    assert "stopping PostgreSQL" in stack.stderr()
    assert "stopping Redis and ClickHouse" in stack.stderr()

    # A second run on the same var dir reuses the cluster: no initdb.
    stack.start("--no-init")
    assert poll("PostgreSQL again", stack.pg_ready) == "logical"
    assert poll("Redis again", stack.redis_ready)
    assert poll("ClickHouse again", stack.ch_ready)
    assert stack.ch_query("SELECT a FROM default.kept") == "7\n"  # its data survived
    err = stack.stderr()
    assert "initdb" not in err
    assert "existing PostgreSQL cluster" in err
    assert stack.stop() == 0
    assert refuses(stack.pg_port) and refuses(stack.redis_port) and refuses(stack.ch_port)


def test_up_runs_init_against_its_clickhouse(stack):
    stack.start()
    poll("ClickHouse", stack.ch_ready)
    init_log = os.path.join(stack.var, "log", "init.log")

    def init_done():
        with open(init_log) as f:
            return "init: ok" in f.read()
    poll("hdp init to finish", init_done, limit=120)
    assert stack.ch_query("SELECT count() FROM system.databases WHERE name = 'hdp'") == "1\n"
    out = subprocess.run([HDP, "status", "--json"], env=stack.env, capture_output=True,
                         text=True, timeout=60)
    ch = json.loads(out.stdout)["services"]["clickhouse"]
    assert ch["ok"] and ch["version"].startswith("18.16."), ch
    assert stack.stop() == 0
    assert refuses(stack.ch_port)


def test_up_without_clickhouse_configured(stack):
    stack.env["HDP_CLICKHOUSE_URL"] = ""
    stack.start("--no-init")
    poll("Redis", stack.redis_ready)
    assert "ClickHouse" not in stack.stderr()
    assert not os.path.exists(os.path.join(stack.var, "clickhouse"))
    assert refuses(stack.ch_port)
    assert stack.stop() == 0


def test_kill_9_leaves_postgres_for_the_next_run(stack):
    up = stack.start("--no-init")
    poll("PostgreSQL", stack.pg_ready)
    poll("Redis", stack.redis_ready)
    up.kill()
    up.wait()
    stack.err.close()
    # Redis and ClickHouse were our children with a parent-death signal; PostgreSQL was
    # daemonized by pg_ctl.
    poll("Redis to go with its parent", lambda: refuses(stack.redis_port), limit=30)
    poll("ClickHouse to go with its parent", lambda: refuses(stack.ch_port), limit=30)
    assert stack.pg_ready() == "logical"
    stack.start("--no-init")
    poll("Redis again", stack.redis_ready)
    assert "reusing the PostgreSQL already running" in stack.stderr()
    assert stack.stop() == 0
    assert refuses(stack.pg_port) and refuses(stack.redis_port)


def test_clickhouse_port_taken_is_one_line_exit_1(stack):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", stack.ch_port))
        s.listen(1)
        r = stack.run("--no-init")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "HDP_CLICKHOUSE_URL" in lines[0] and str(stack.ch_port) in lines[0]


def test_port_taken_is_one_line_exit_1(stack):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", stack.pg_port))
        s.listen(1)
        r = stack.run("--no-init")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "already in use" in lines[0] and str(stack.pg_port) in lines[0]


def test_init_failure_stops_and_exits_1(stack):
    # Without services and with nothing on the source port, `hdp init` fails whatever it is.
    r = stack.run("--no-services")
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("hdp up: hdp init exited with status"), r.stderr
    with open(os.path.join(stack.var, "log", "init.log")) as f:
        init_last = [ln for ln in f.read().splitlines() if ln.strip()][-1]
    assert init_last.strip() in last
    assert refuses(stack.http_port)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands PostgreSQL to the postgres user")
def test_var_dir_postgres_cannot_reach_is_explained(stack):
    os.chmod(stack.root, 0o700)
    r = stack.run("--no-init")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and "HDP_VAR_DIR" in lines[0]


def test_bad_option_is_usage_error(stack):
    r = stack.run("--frobnicate")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    r = stack.run("--generate-rate", "-3")
    assert r.returncode == 2


def test_demo_serves_a_watermark_within_two_intervals(stack):
    """`make demo`'s command for real: hdp up with a live generator; within two batch
    intervals (plus the time a segment takes to close) the API answers with a published W and
    a non-zero batch part, the portal and /docs answer, and the scheduler records its runs."""
    interval = 8
    stack.env.update({"HDP_BATCH_INTERVAL": str(interval), "HDP_SEGMENT_SECONDS": "2"})
    stack.start("--generate-rate", "20")
    url = f"http://127.0.0.1:{stack.http_port}"
    poll("the API answering", lambda: requests.get(url + "/health", timeout=2).ok, limit=90)
    t0 = time.monotonic()
    body = poll("a published watermark with a batch part",
                lambda: (lambda b: b if b["watermark"] is not None and
                         b["batch"]["orders"] > 0 else None)(
                    requests.get(url + "/api/v1/revenue", timeout=5).json()),
                limit=2 * interval + 30)
    took = time.monotonic() - t0
    assert body["watermark"] >= 0, body
    assert requests.get(url + "/", timeout=5).status_code == 200
    assert requests.get(url + "/docs", timeout=5).status_code == 200
    runs = requests.get(url + "/api/v1/pipeline/runs", timeout=5).json()["runs"]
    assert any(r["trigger"] == "scheduler" and r["status"] == "success" for r in runs), runs
    assert os.path.exists(os.path.join(stack.var, "log", "scheduler.log"))
    assert stack.stop() == 0
    print(f"watermark after {took:.1f} s")
