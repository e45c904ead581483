"""A whole hdp stack for end-to-end tests: a private PostgreSQL and a persistent Redis on free
ports, `hdp init` applied, and `hdp speed` / `hdp serve` as processes the test controls (it
may kill -9 them). Ground truth is computed with SQL on the source, independently of hdp."""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

import psycopg2

from chserver import start_clickhouse
from pgserver import start_postgres, stop_postgres
from services import free_port, start_redis, stop_process, stop_redis, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HDP = os.environ.get("HDP_BIN", os.path.join(ROOT, "build", "hdp"))


class Stack:
    def __init__(self, tmpdir, segment_seconds=2, env=None, clickhouse=False):
        """clickhouse=True starts a private ClickHouse (self.ch) for the marts; False leaves
        HDP_CLICKHOUSE_URL empty, so `hdp init` skips ClickHouse."""
        self.tmp = str(tmpdir)
        self.pg = start_postgres(tmpdir)
        self.ch = start_clickhouse(tmpdir) if clickhouse else None
        self.redis, self.redis_port = start_redis(tmpdir, persistent=True)
        self.http_port = free_port()
        self.env = dict(os.environ)
        self.env.update({
            "HDP_SOURCE_DSN": self.pg.dsn("shop"),
            "HDP_DWH_DSN": self.pg.dsn("dwh"),
            "HDP_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "HDP_HTTP_ADDR": f"127.0.0.1:{self.http_port}",
            "HDP_SEGMENT_SECONDS": str(segment_seconds),
            "HDP_SERVE_CACHE_MS": "50",
            "HDP_ENV_FILE": os.devnull,
            "HDP_VAR_DIR": os.path.join(self.tmp, "var"),
            "HDP_LAKE_URL": "file://" + os.path.join(self.tmp, "lake"),
            "HDP_CLICKHOUSE_URL": self.ch.url if self.ch else "",
        })
        self.env.update(env or {})
        self.procs = {}
        self.hdp("init")

    # -------------------------------------------------------------- processes

    def hdp(self, *args, check=True, timeout=600):
        out = subprocess.run([HDP, *args], env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"hdp {' '.join(args)} exited {out.returncode}: {out.stderr}")
        return out

    def start(self, name, *args):
        log = open(os.path.join(self.tmp, f"{name}.log"), "ab")
        p = subprocess.Popen([HDP, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs[name] = p
        if name == "serve":
            wait_port(self.http_port, proc=p)
        return p

    def kill9(self, name):
        p = self.procs.pop(name)
        p.send_signal(signal.SIGKILL)
        p.wait()

    def restart_redis(self, down_seconds):
        stop_redis(self.redis)
        time.sleep(down_seconds)
        self.redis, _ = start_redis(self.tmp, port=self.redis_port, persistent=True)

    def close(self):
        for p in self.procs.values():
            stop_process(p)
        self.procs.clear()
        stop_redis(self.redis)
        if self.ch:
            self.ch.stop()
        stop_postgres(self.pg)

    def log(self, name):
        with open(os.path.join(self.tmp, f"{name}.log"), errors="replace") as f:
            return f.read()

    # -------------------------------------------------------------- source

    def sql(self, query, args=None):
        with psycopg2.connect(self.pg.dsn("shop")) as c, c.cursor() as cur:
            cur.execute("SET TimeZone = 'UTC'")
            cur.execute(query, args)
            return cur.fetchall() if cur.description else None

    def wait_caught_up(self, timeout=120, slot="hdp_speed"):
        """Waits until `slot` (hdp_speed: speed; hdp_lake: capture) confirmed the source's
        WAL position of now, then one cache window more for serve."""
        target = self.sql("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.time() + timeout
        while time.time() < deadline:
            done = self.sql("SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots "
                            "WHERE slot_name = %s", (target, slot))
            if done and done[0][0]:
                time.sleep(0.2)
                return
            time.sleep(0.1)
        who = "speed" if slot == "hdp_speed" else "capture"
        raise AssertionError(f"{slot} did not reach {target} in {timeout}s:\n" + self.log(who))

    # -------------------------------------------------------------- API

    def get(self, path):
        """(status, parsed JSON) of a GET on serve."""
        url = f"http://127.0.0.1:{self.http_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def metrics(stack):
    """{series: value text} of serve's /metrics (series with their labels)."""
    url = f"http://127.0.0.1:{stack.http_port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as r:
        text = r.read().decode()
    return dict(l.rsplit(" ", 1) for l in text.splitlines() if l and l[0] != "#")


def cents(text):
    """'-12.30' -> -1230, exactly (no float)."""
    neg = text.startswith("-")
    whole, _, frac = text.lstrip("-").partition(".")
    assert len(frac) == 2, text
    v = int(whole) * 100 + int(frac)
    return -v if neg else v


TRUTH_BY_DAY = """
WITH ev AS (SELECT paid_at AS t, total AS amt, 1 AS o, 0 AS r, ship_city FROM orders
            WHERE paid_at IS NOT NULL
  UNION ALL SELECT refunded_at, -total, 0, 1, ship_city FROM orders WHERE refunded_at IS NOT NULL)
SELECT t::date::text, (sum(amt) * 100)::bigint, sum(o)::int, sum(r)::int FROM ev GROUP BY 1
"""
TRUTH_BY_CITY = """
WITH ev AS (SELECT paid_at AS t, total AS amt, 1 AS o, ship_city FROM orders
            WHERE paid_at IS NOT NULL
  UNION ALL SELECT refunded_at, -total, 0, ship_city FROM orders WHERE refunded_at IS NOT NULL)
SELECT t::date::text, ship_city, (sum(amt) * 100)::bigint, sum(o)::int FROM ev GROUP BY 1, 2
"""
TRUTH_BY_CATEGORY = """
WITH lines AS (SELECT oi.order_id, p.category, sum(oi.quantity * oi.unit_price) AS amt
               FROM order_items oi JOIN products p USING (product_id) GROUP BY 1, 2),
ev AS (SELECT o.paid_at AS t, l.category, l.amt, 1 AS n FROM orders o JOIN lines l USING (order_id)
       WHERE o.paid_at IS NOT NULL
  UNION ALL SELECT o.refunded_at, l.category, -l.amt, 0 FROM orders o JOIN lines l USING (order_id)
       WHERE o.refunded_at IS NOT NULL)
SELECT t::date::text, category, (sum(amt) * 100)::bigint, sum(n)::int FROM ev GROUP BY 1, 2
"""


def assert_exact(stack):
    """Every day, city and category the API serves equals SQL ground truth on the source."""
    stack.wait_caught_up()
    days = {d: (rev, o, r) for d, rev, o, r in stack.sql(TRUTH_BY_DAY)}
    assert days, "no data generated"
    cities, cats = {}, {}
    for d, c, rev, o in stack.sql(TRUTH_BY_CITY):
        cities.setdefault(d, {})[c] = (rev, o)
    for d, k, rev, n in stack.sql(TRUTH_BY_CATEGORY):
        cats.setdefault(d, {})[k] = (rev, n)
    problems = []
    for day, (rev, orders, refunds) in sorted(days.items()):
        st, body = stack.get(f"/api/v1/revenue?date={day}")
        assert st == 200, body
        got = (cents(body["revenue"]), body["orders"], body["refunds"])
        if got != (rev, orders, refunds):
            problems.append(f"{day}: api {got} != source {(rev, orders, refunds)}")
        assert round(body["total_revenue"] * 100) == cents(body["revenue"])
        st, body = stack.get(f"/api/v1/revenue/by-city?date={day}")
        api = {c["city"]: (cents(c["revenue"]), c["orders"]) for c in body["cities"]}
        want = {c: v for c, v in cities.get(day, {}).items() if v != (0, 0)}
        api = {c: v for c, v in api.items() if v != (0, 0)}
        if api != want:
            diff = {c: (api.get(c), want.get(c)) for c in set(api) | set(want)
                    if api.get(c) != want.get(c)}
            problems.append(f"{day} by city: {len(diff)} differ, e.g. {list(diff.items())[:3]}")
        st, body = stack.get(f"/api/v1/revenue/by-category?date={day}")
        api = {c["category"]: (cents(c["revenue"]), c["orders"]) for c in body["categories"]}
        want = {c: v for c, v in cats.get(day, {}).items() if v != (0, 0)}
        api = {c: v for c, v in api.items() if v != (0, 0)}
        if api != want:
            diff = {c: (api.get(c), want.get(c)) for c in set(api) | set(want)
                    if api.get(c) != want.get(c)}
            problems.append(f"{day} by category: {len(diff)} differ, e.g. {list(diff.items())[:3]}")
    assert not problems, "\n".join(problems[:20])
    return days
