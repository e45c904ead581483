"""The stack every real-time benchmark runs against, and the marker probe they share.

Stack: a private PostgreSQL (wal_level=logical, via tests/integration/pgserver.py) and Redis
(tests/integration/services.py) on free ports, `hdp init`, then `hdp speed` / `hdp serve` as
children. Use it as a context manager: everything it started is stopped on exit, also on an
exception, Ctrl-C or SIGTERM (run.py turns SIGTERM into KeyboardInterrupt).

Markers: one-order transactions paid on MARKER_DAY, a date the generator never writes, so the
API's revenue for that day changes only by markers. Marker order ids count down from
MARKER_BASE while `hdp generate` counts up from max(order_id)+1, so they never collide."""
import os
import subprocess
import sys
import threading
import time
from decimal import Decimal

import psycopg2
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from pgserver import start_postgres, stop_postgres  # noqa: E402
from services import free_port, start_redis, stop_process, wait_port  # noqa: E402

HDP = os.environ.get("HDP_BIN") or os.path.join(ROOT, "build", "hdp")
FORBIDDEN = {5432, 6379, 55432, 56379, 8080}
MARKER_DAY = "2030-01-01"
MARKER_BASE = 9_000_000_000_000_000


def port():
    while True:
        p = free_port()
        if p not in FORBIDDEN:
            return p


class Stack:
    def __init__(self, workdir, log=print, env=None):
        self.dir = workdir
        self.log = log
        self.extra_env = env or {}
        self.pg = self.redis = self.speed = self.serve = None
        self.procs = []

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.pg = start_postgres(self.dir)
        # Bigger WAL budget so a 1M-order backlog does not checkpoint constantly.
        self.pg.psql("postgres", "ALTER SYSTEM SET max_wal_size = '8GB'")
        self.pg.psql("postgres", "SELECT pg_reload_conf()")
        self.redis, self.redis_port = start_redis(self.dir)
        self.http_port = port()
        self.env = dict(os.environ)
        self.env.update({
            "HDP_ENV_FILE": "/dev/null", "HDP_API_TOKEN": "", "HDP_LOG_LEVEL": "info",
            "HDP_SOURCE_DSN": self.dsn(),
            "HDP_DWH_DSN": self.pg.dsn("dwh"),
            "HDP_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "HDP_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "HDP_VAR_DIR": os.path.join(self.dir, "var"),
            "HDP_LAKE_URL": f"file://{self.dir}/lake",
            "HDP_CLICKHOUSE_URL": "",  # no marts in these benchmarks (yet)
        })
        self.env.update(self.extra_env)
        self.hdp("init")
        self.url = f"http://127.0.0.1:{self.http_port}"

    def dsn(self):
        return self.pg.dsn("shop")

    def close(self):
        for p in reversed(self.procs):
            try:
                stop_process(p)
            except Exception as e:  # keep stopping the others
                self.log(f"stack: stopping pid {p.pid}: {e}")
        self.procs = []
        if self.redis is not None:
            stop_process(self.redis)
            self.redis = None
        if self.pg is not None:
            stop_postgres(self.pg)
            self.pg = None

    # hdp commands ----------------------------------------------------------------------------
    def hdp(self, *args, timeout=3600):
        """Runs `hdp args...` to completion; returns stdout; raises on a non-zero exit."""
        r = subprocess.run([HDP, *args], env=self.env, cwd=self.dir, capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"hdp {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def spawn(self, name, *args):
        log = open(os.path.join(self.dir, f"{name}.log"), "ab")
        p = subprocess.Popen([HDP, *args], env=self.env, cwd=self.dir, stdout=log,
                             stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(p)
        return p

    def stop(self, p):
        if p is None:
            return None
        rc = stop_process(p)
        if p in self.procs:
            self.procs.remove(p)
        return rc

    def start_speed(self):
        self.speed = self.spawn("speed", "speed")
        return self.speed

    def stop_speed(self):
        self.stop(self.speed)
        self.speed = None

    def start_serve(self):
        self.serve = self.spawn("serve", "serve")
        wait_port(self.http_port, proc=self.serve)
        return self.serve

    def revive(self):
        """Restarts speed/serve when they died (something outside may have stopped them);
        returns what was found dead, as "name exited N", for the report."""
        dead = []
        if self.speed is not None and self.speed.poll() is not None:
            dead.append(f"hdp speed exited {self.speed.returncode}")
            self.procs.remove(self.speed)
            self.start_speed()
        if self.serve is not None and self.serve.poll() is not None:
            dead.append(f"hdp serve exited {self.serve.returncode}")
            self.procs.remove(self.serve)
            self.start_serve()
        for d in dead:
            self.log(f"stack: {d} unexpectedly; restarted")
        return dead

    # source queries --------------------------------------------------------------------------
    def connect(self):
        c = psycopg2.connect(self.dsn())
        with c.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
        c.commit()
        return c

    def query(self, sql, args=None):
        c = self.connect()
        try:
            with c.cursor() as cur:
                cur.execute(sql, args)
                rows = cur.fetchall()
            c.commit()
            return rows
        finally:
            c.close()


def api_cents(session, url, day, timeout=2.0):
    """The day's net revenue from /api/v1/revenue, in cents."""
    r = session.get(f"{url}/api/v1/revenue", params={"date": day}, timeout=timeout)
    r.raise_for_status()
    return int(Decimal(r.json()["revenue"]) * 100)


class MarkerProbe:
    """Inserts one marker order every `interval` s (own connection, committed) and polls the
    API every `poll` s in another thread. Marker i has amount 1000+i cents; the API's revenue
    on MARKER_DAY is the sum of visible markers, so marker i is visible once the revenue
    reaches the prefix sum up to i (transactions apply in commit order)."""

    def __init__(self, stack, url, interval=0.05, poll=0.005):
        self.stack, self.url, self.interval, self.poll = stack, url, interval, poll
        self.commits = []  # (wall time after COMMIT returned, prefix sum of cents)
        self.seen = []     # (wall time of the answer, cents)
        self.errors = 0
        self._stop = threading.Event()

    def setup(self):
        c = self.stack.connect()
        with c.cursor() as cur:
            cur.execute("INSERT INTO customers (customer_id, name, email, city, country) "
                        "VALUES (%s, 'Bench Marker', 'marker@bench.invalid', 'Benchville', 'ZZ') "
                        "ON CONFLICT DO NOTHING", (MARKER_BASE,))
            cur.execute("INSERT INTO products (product_id, sku, name, category, price) "
                        "VALUES (%s, 'BENCH-MARKER', 'Marker', 'Bench', 0) "
                        "ON CONFLICT DO NOTHING", (MARKER_BASE,))
            cur.execute("SELECT coalesce(min(order_id), %s) FROM orders "
                        "WHERE order_id > %s AND order_id < %s",
                        (MARKER_BASE, MARKER_BASE - 10**12, MARKER_BASE))
            self.next_id = cur.fetchone()[0] - 1
        c.commit()
        return c

    def _poller(self):
        s = requests.Session()
        last = None
        while not self._stop.is_set():
            try:
                v = api_cents(s, self.url, MARKER_DAY)
                t = time.time()
                if v != last:
                    self.seen.append((t, v))
                    last = v
            except Exception:
                self.errors += 1
            time.sleep(self.poll)

    def run(self, seconds, max_markers=None):
        c = self.setup()
        self.base = api_cents(requests.Session(), self.url, MARKER_DAY)
        th = threading.Thread(target=self._poller, daemon=True)
        th.start()
        total, i, end = self.base, 0, time.monotonic() + seconds
        try:
            with c.cursor() as cur:
                while time.monotonic() < end and (max_markers is None or i < max_markers):
                    cents = 1000 + i
                    oid, self.next_id = self.next_id, self.next_id - 1
                    cur.execute(
                        "INSERT INTO orders (order_id, customer_id, status, total, ship_city, "
                        "created_at, updated_at, paid_at) VALUES (%s, %s, 'paid', %s, "
                        "'Benchville', %s, %s, %s)",
                        (oid, MARKER_BASE, Decimal(cents) / 100, *[MARKER_DAY + " 00:00:00+00"] * 3))
                    cur.execute("INSERT INTO order_items VALUES (%s, 1, %s, 1, %s)",
                                (oid, MARKER_BASE, Decimal(cents) / 100))
                    c.commit()
                    total += cents
                    self.commits.append((time.time(), total))
                    i += 1
                    time.sleep(self.interval)
            # let the last markers arrive
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (not self.seen or self.seen[-1][1] < total):
                time.sleep(0.01)
        finally:
            self._stop.set()
            th.join()
            c.close()
        return self.latencies()

    def latencies(self):
        """Seconds from commit to the first answer that includes the marker (None: never)."""
        out, j = [], 0
        for tc, need in self.commits:
            while j < len(self.seen) and self.seen[j][1] < need:
                j += 1
            out.append(self.seen[j][0] - tc if j < len(self.seen) else None)
        return out


def with_freshness_probe(st, dur, load):
    """Runs load() (a benchmark of about dur seconds, e.g. wrk) while a MarkerProbe commits
    marker orders through its middle half; returns (load's result, the markers' latencies):
    how fresh the answers stay under that load."""
    probe = MarkerProbe(st, st.url, interval=0.2, poll=0.005)
    lat = []

    def run_probe():
        time.sleep(dur / 4)
        lat.extend(probe.run(dur / 2))

    th = threading.Thread(target=run_probe, daemon=True)
    th.start()
    try:
        return load(), lat
    finally:
        th.join()


def percentiles(xs, ps=(50, 90, 99, 100)):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return {f"p{p}": None for p in ps}
    return {("max" if p == 100 else f"p{p}"):
            xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs) + 0.5)) - 1))] for p in ps}
