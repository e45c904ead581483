"""The Lambda merge end to end (issue 12): generated orders -> capture -> compact -> vault ->
ClickHouse marts -> publish W; `hdp serve` answers batch(segments <= W) + speed(segments > W).
Against real PostgreSQL, Redis and ClickHouse; ground truth by SQL on the source, to the cent.

Covered: exactness under motion (batch runs while orders flow, capture, speed and a running
`hdp run marts` killed -9 at random moments), the boundary cases (paid <= W, refunded > W; a
batch run that stops between marts and publish; W moving under many concurrent readers;
speed buckets <= W dropped), idempotent marts and --rebuild, the average check by city."""
import hashlib
import json
import random
import re
import signal
import subprocess
import threading
import time

import pytest
import redis as redislib

from stack import HDP, TRUTH_BY_DAY, Stack, assert_exact, cents

SEG = 2


@pytest.fixture(scope="module")
def lam(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("marts"), segment_seconds=SEG, clickhouse=True,
              env={"HDP_SPEED_DROP_GRACE": "1"})
    try:
        s.start("capture", "capture")
        s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "8000", "--days", "5", "--seed", "41")
        yield s
    finally:
        s.close()


def watermark(stack):
    v = redislib.Redis(port=stack.redis_port).get("hdp:batch:watermark")
    return int(v) if v is not None else None


def quiesce(stack):
    """Generation is paused: wait until both consumers hold everything, the last segment is
    closed, and a batch run published every closed segment."""
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    stack.wait_caught_up(timeout=180)
    time.sleep(2 * SEG + 1)
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    closed = json.loads(open(f"{stack.tmp}/lake/_state/capture.json").read())["segment"]
    for _ in range(30):
        stack.hdp("run", "batch")
        if (watermark(stack) or -1) >= closed:
            return
        time.sleep(0.5)
    raise AssertionError(f"W {watermark(stack)} never reached closed segment {closed}")


AVG_TRUTH = """
SELECT ship_city, (sum(total) * 100)::bigint, count(*)::int FROM orders
WHERE paid_at IS NOT NULL AND paid_at::date BETWEEN %s AND %s GROUP BY 1
"""


def assert_avg_check_exact(stack, day_from, day_to):
    """average check = average total of the orders paid in the range, by ship city, rounded
    half away from zero to cents."""
    truth = {c: (paid, n) for c, paid, n in stack.sql(AVG_TRUTH, (day_from, day_to))}
    st, body = stack.get(f"/api/v1/cities/average-check?from={day_from}&to={day_to}")
    assert st == 200, body
    got = {c["city"]: (cents(c["average_check"]), c["orders"]) for c in body["cities"]}
    want = {}
    for c, (paid, n) in truth.items():
        q, r = divmod(abs(paid), n)
        q += 1 if 2 * r >= n else 0
        want[c] = (q if paid >= 0 else -q, n)
    assert got == want


def test_first_batch_run_serves_from_clickhouse_exactly(lam):
    quiesce(lam)
    w = watermark(lam)
    assert w is not None
    days = assert_exact(lam)
    some = sorted(days)[0]
    st, body = lam.get(f"/api/v1/revenue?date={some}")
    assert body["watermark"] == w and cents(body["batch"]["revenue"]) != 0, body
    assert body["speed"]["orders"] == 0  # every segment with data is published
    assert_avg_check_exact(lam, sorted(days)[0], sorted(days)[-1])


def test_exact_under_motion_with_kills(lam):
    """Batch runs while orders flow; capture, speed and a running marts killed -9 at random
    moments. At the quiescent point every number is exact; during the motion the revenue of a
    past day whose segments are all closed never changes between two reads."""
    rng = random.Random(1234)
    past = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    st, before = lam.get(f"/api/v1/revenue?date={past}")
    gen = threading.Thread(target=lam.hdp, args=("generate", "--rate", "300", "--duration",
                                                  "16", "--seed", "42"))
    gen.start()
    stable = []
    t_end = time.time() + 16
    while time.time() < t_end:
        what = rng.choice(["batch", "kill-capture", "kill-speed", "kill-marts"])
        if what == "batch":
            lam.hdp("run", "batch", check=False)
        elif what == "kill-marts":
            p = subprocess.Popen([HDP, "run", "marts"], env=lam.env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.05, 0.6))
            p.send_signal(signal.SIGKILL)
            p.wait()
        else:
            name = what.split("-")[1]
            lam.kill9(name)
            time.sleep(0.2)
            lam.start(name, name)
        st, body = lam.get(f"/api/v1/revenue?date={past}")
        if st == 200:
            stable.append((body["revenue"], body["orders"], body["refunds"]))
        time.sleep(rng.uniform(0.1, 0.5))
    gen.join()
    assert set(stable) == {(before["revenue"], before["orders"], before["refunds"])}, stable
    quiesce(lam)
    days = assert_exact(lam)
    today = sorted(days)[-1]
    st, body = lam.get(f"/api/v1/revenue?date={today}")
    assert cents(body["batch"]["revenue"]) != 0
    assert_avg_check_exact(lam, sorted(days)[0], today)
    out = lam.hdp("reconcile", "--wait", "60")
    assert " 0 mismatch" in out.stdout, out.stdout


def test_paid_before_w_refunded_after_w(lam):
    quiesce(lam)
    w = watermark(lam)
    oid = lam.sql("SELECT order_id FROM orders WHERE status IN ('paid', 'shipped') "
                  "ORDER BY order_id LIMIT 1")[0][0]
    lam.sql("UPDATE orders SET status = 'refunded', refunded_at = now(), updated_at = now() "
            "WHERE order_id = %s", (oid,))
    lam.wait_caught_up()
    assert watermark(lam) == w  # the refund is in the speed layer only
    today = time.strftime("%Y-%m-%d", time.gmtime())
    st, body = lam.get(f"/api/v1/revenue?date={today}")
    assert body["speed"]["refunds"] >= 1, body
    assert_exact(lam)
    quiesce(lam)  # now the batch layer has it too
    assert watermark(lam) > w
    assert_exact(lam)


def test_a_run_that_stops_between_marts_and_publish(lam):
    lam.hdp("generate", "--rate", "200", "--duration", "3", "--seed", "43")
    lam.wait_caught_up(slot="hdp_lake")
    time.sleep(2 * SEG + 1)
    w = watermark(lam)
    for task in ("compact", "vault", "marts"):  # publish never runs
        lam.hdp("run", task)
    assert watermark(lam) == w
    assert_exact(lam)  # facts above W in ClickHouse are not counted twice
    lam.hdp("run", "publish")
    assert watermark(lam) > w
    assert_exact(lam)


def test_w_moves_under_concurrent_readers(lam):
    """Data in segments above W, generation paused; many readers while batch runs move W over
    them: every answer is the same exact number."""
    lam.hdp("generate", "--rate", "200", "--duration", "3", "--seed", "44")
    lam.wait_caught_up()
    lam.wait_caught_up(slot="hdp_lake")
    time.sleep(2 * SEG + 1)
    lam.wait_caught_up()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    truth = {d: (rev, o, r) for d, rev, o, r in lam.sql(
        "WITH ev AS (SELECT paid_at AS t, total AS amt, 1 AS o, 0 AS r FROM orders WHERE paid_at "
        "IS NOT NULL UNION ALL SELECT refunded_at, -total, 0, 1 FROM orders WHERE refunded_at "
        "IS NOT NULL) SELECT t::date::text, (sum(amt) * 100)::bigint, sum(o)::int, sum(r)::int "
        "FROM ev GROUP BY 1")}
    w0 = watermark(lam)
    stop = threading.Event()
    bad, seen_w = [], set()

    def reader():
        while not stop.is_set():
            st, body = lam.get(f"/api/v1/revenue?date={today}")
            if st != 200:
                bad.append((st, body))
                continue
            seen_w.add(body["watermark"])
            got = (cents(body["revenue"]), body["orders"], body["refunds"])
            if got != truth[today]:
                bad.append((body["watermark"], got, truth[today]))

    readers = [threading.Thread(target=reader) for _ in range(6)]
    for t in readers:
        t.start()
    for _ in range(3):
        lam.hdp("run", "batch")
    time.sleep(0.3)
    stop.set()
    for t in readers:
        t.join()
    assert not bad, bad[:5]
    assert len(seen_w) >= 2 and watermark(lam) > w0, seen_w


def test_old_speed_buckets_dropped_answers_unchanged(lam):
    quiesce(lam)
    r = redislib.Redis(port=lam.redis_port)
    old = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    before = {d: lam.get(f"/api/v1/revenue?date={d}")[1]["revenue"] for d in (old, yesterday)}
    time.sleep(1.5)  # HDP_SPEED_DROP_GRACE=1: the published W is old enough
    out = lam.hdp("run", "publish").stdout
    assert "speed buckets dropped" in out
    assert r.exists(f"hdp:sp:dropped:{old}")
    assert r.zcard(f"hdp:sp:days:{old}") == 0 or \
        int(r.zrange(f"hdp:sp:days:{old}", 0, 0)[0]) > watermark(lam) - 100000
    assert not r.exists(f"hdp:sp:dropped:{yesterday}")  # today and yesterday stay
    assert r.zcard(f"hdp:sp:days:{yesterday}") > 0
    after = {d: lam.get(f"/api/v1/revenue?date={d}")[1]["revenue"] for d in (old, yesterday)}
    assert after == before
    assert_exact(lam)


def ch_contents(stack, view="_current"):
    """Rows and a hash of each fact table as readers see it, without the build number (which
    every run stamps anew)."""
    h = {}
    for t in ("fact_order", "fact_order_line"):
        cols = stack.ch.query(f"SELECT name FROM system.columns WHERE database = 'hdp' AND "
                              f"table = '{t}' AND name != 'build' FORMAT TabSeparated").split()
        c = ", ".join(cols)
        rows = stack.ch.query(f"SELECT {c} FROM hdp.{t}{view} ORDER BY {c} FORMAT TabSeparated")
        h[t] = (rows.count("\n"), hashlib.sha256(rows.encode()).hexdigest())
    return h


def test_marts_twice_and_rebuild_leave_identical_contents(lam):
    quiesce(lam)
    first = ch_contents(lam)
    assert first["fact_order"][0] > 8000
    # the same range again: marts' progress set back one partition, the run replaces it
    lam.pg.psql("dwh", "UPDATE ops.progress SET through_segment = through_segment - 64 "
                       "WHERE stage = 'marts'")
    out = lam.hdp("run", "marts").stdout
    assert "1 partition(s)" in out or "2 partition(s)" in out, out
    assert ch_contents(lam) == first
    assert ch_contents(lam, view="") == first  # nothing but the newest build is stored
    # A hard restart right after that REPLACE PARTITION brings the replaced parts back
    # (ClickHouse 18.16 forgets they were outdated): readers must not count them, and the
    # next run swaps the newest build in alone again.
    lam.ch.kill9()
    lam.ch.start()
    resurrected = ch_contents(lam, view="")
    assert ch_contents(lam) == first
    lam.kill9("serve")  # a serve with nothing cached reads the facts again
    lam.start("serve", "serve")
    assert_exact(lam)
    out = lam.hdp("run", "marts").stdout
    if resurrected != first:
        assert re.search(r"[1-9]\d* healed", out), out
    assert ch_contents(lam, view="") == first
    out = lam.hdp("run", "marts", "--rebuild").stdout
    assert "rebuilt" in out, out
    assert ch_contents(lam) == first
    # a stray partition (no vault data) goes away with --rebuild
    lam.ch.query("INSERT INTO hdp.fact_order (segment, event, event_time, day, hour, minute, "
                 "ship_city, customer_id, order_id, amount, orders, refunds) VALUES "
                 "(640, 'paid', '1970-01-01 00:21:20', '1970-01-01', 0, 21, 'X', 1, 1, 1.00, 1, 0)")
    out = lam.hdp("run", "marts", "--rebuild").stdout
    assert "1 stray partition(s) dropped" in out, out
    assert ch_contents(lam) == first
    assert_exact(lam)


def test_clickhouse_killed_degraded_then_recovers(lam):
    """ClickHouse away: a day the speed layer still holds whole (today, yesterday) is answered
    from it alone, exactly, marked degraded; a day whose buckets <= W were dropped is a 503;
    /health says degraded; orders placed meanwhile are counted; when ClickHouse returns, every
    answer is the merge again and exact."""
    quiesce(lam)
    today = time.strftime("%Y-%m-%d", time.gmtime())
    yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    old = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86400))
    r = redislib.Redis(port=lam.redis_port)
    assert r.exists(f"hdp:sp:dropped:{old}")  # test_old_speed_buckets_dropped_... did that
    before = {d: lam.get(f"/api/v1/revenue?date={d}")[1] for d in (today, yesterday)}
    lam.ch.kill9()
    try:
        # The batch part of (day, W) is final, so what serve has cached answers on as before.
        for d in (today, yesterday):
            st, body = lam.get(f"/api/v1/revenue?date={d}")
            assert st == 200 and (body["revenue"], body["orders"]) == (before[d]["revenue"],
                                                                       before[d]["orders"])
        # A serve with nothing cached must read the batch views: it cannot, so it degrades.
        lam.kill9("serve")
        lam.start("serve", "serve")
        for d in (today, yesterday):
            st, body = lam.get(f"/api/v1/revenue?date={d}")
            assert st == 200, body
            assert body["degraded"] == "batch unavailable" and body["watermark"] is None
            assert (body["revenue"], body["orders"]) == (before[d]["revenue"],
                                                          before[d]["orders"])
        st, body = lam.get(f"/api/v1/revenue?date={old}")
        assert st == 503 and "ClickHouse" in body["error"]["message"], body
        st, health = lam.get("/health")
        assert st == 200 and health["status"] == "degraded" and health["clickhouse"] == "down"
        # the batch layer fails while ClickHouse is away; the speed layer keeps counting
        assert lam.hdp("run", "batch", check=False).returncode != 0
        lam.hdp("generate", "--rate", "100", "--duration", "3", "--seed", "77")
        lam.wait_caught_up()
        truth = {d: (rev, o) for d, rev, o, _ in lam.sql(TRUTH_BY_DAY)}
        st, body = lam.get(f"/api/v1/revenue?date={today}")
        assert st == 200 and body["degraded"] == "batch unavailable"
        assert (cents(body["revenue"]), body["orders"]) == truth[today]
    finally:
        lam.ch.start()
    quiesce(lam)
    st, body = lam.get(f"/api/v1/revenue?date={today}")
    assert "degraded" not in body and body["watermark"] == watermark(lam)
    assert lam.get("/health")[1]["status"] == "ok"
    assert_exact(lam)

