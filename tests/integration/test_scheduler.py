"""`hdp scheduler` (issue 8): the batch DAG on the interval with its history in dwh, alerts to
Telegram (a local HTTP stub stands in for the Bot API: the one service we cannot reach), a
ClickHouse outage that fails a run and is caught up after, Telegram down without holding up a
run, two schedulers that never run at once and a standby that takes over after kill -9.
Real PostgreSQL, Redis, ClickHouse and a file:// lake."""
import signal
import time

import psycopg2
import pytest

from stack import Stack, assert_exact

TOKEN = "123456:Secret-Bot-Token-do-not-print"
INTERVAL = 4


@pytest.fixture(scope="module")
def sch(tmp_path_factory, bot):
    s = Stack(tmp_path_factory.mktemp("sched"), clickhouse=True,
              env={"HDP_BATCH_INTERVAL": str(INTERVAL), "TELEGRAM_TOKEN": TOKEN,
                   "TELEGRAM_CHAT_ID": "-1001", "HDP_TELEGRAM_API": bot.url})
    try:
        s.start("capture", "capture")
        s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "3000", "--days", "2", "--seed", "61")
        yield s
    finally:
        s.close()


def dwh(stack, q, args=None):
    with psycopg2.connect(stack.pg.dsn("dwh")) as c, c.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(q, args)
        return cur.fetchall() if cur.description else None


def runs(stack):
    return dwh(stack, "SELECT run_id, status, trigger, started_at, finished_at, error "
                      "FROM ops.run WHERE dag = 'batch' ORDER BY run_id")


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def no_token_anywhere(stack, names):
    for n in names:
        assert TOKEN not in stack.log(n), n


def test_runs_on_the_interval_and_report_to_telegram(sch, bot):
    before = len(runs(sch))
    sch.start("scheduler", "scheduler")
    wait_for(lambda: len([r for r in runs(sch)[before:] if r[1] == "success"]) >= 2,
             6 * INTERVAL, "two successful runs")
    done = [r for r in runs(sch)[before:] if r[1] == "success"]
    gaps = [(b[3] - a[3]).total_seconds() for a, b in zip(done, done[1:])]
    assert all(INTERVAL - 1 <= g <= 3 * INTERVAL for g in gaps), gaps
    msg = wait_for(lambda: [m for m in bot.messages if "succeeded" in m[1]["text"]],
                   3 * INTERVAL, "a success message")[0]
    path, body = msg
    assert path == f"/bot{TOKEN}/sendMessage" and body["chat_id"] == "-1001"
    assert body["parse_mode"] == "HTML"
    assert "Rows:" in body["text"] and "Net revenue of the segments published" in body["text"]
    assert "Watermark: segment" in body["text"]
    tasks = dwh(sch, "SELECT task, status, attempts FROM ops.task_run WHERE run_id = %s "
                     "ORDER BY task_run_id", (done[0][0],))
    assert [t[0] for t in tasks] == ["compact", "vault", "marts", "publish"]
    assert all(t[1] == "success" for t in tasks)
    sch.wait_caught_up()
    assert_exact(sch)
    no_token_anywhere(sch, ["scheduler", "serve", "speed", "capture"])


def test_clickhouse_down_fails_a_run_alerts_then_catches_up(sch, bot):
    n0 = len(bot.messages)
    sch.ch.kill9()
    failed = wait_for(lambda: [r for r in runs(sch) if r[1] == "failed"], 8 * INTERVAL,
                      "a failed run")
    assert "marts" in failed[-1][5], failed[-1]
    alert = wait_for(lambda: [m for m in bot.messages[n0:] if "FAILED" in m[1]["text"]],
                     4 * INTERVAL, "an alert")[0][1]["text"]
    assert "Task: marts" in alert and "ClickHouse" in alert
    sch.hdp("generate", "--rate", "100", "--duration", "3", "--seed", "62")
    sch.ch.restart()
    last = runs(sch)[-1][0]
    wait_for(lambda: [r for r in runs(sch) if r[0] > last and r[1] == "success"], 8 * INTERVAL,
             "a successful run after ClickHouse is back")
    time.sleep(2 * 2 + 1)
    sch.wait_caught_up()
    last = runs(sch)[-1][0]
    wait_for(lambda: [r for r in runs(sch) if r[0] > last and r[1] == "success"], 4 * INTERVAL,
             "one more run")
    assert_exact(sch)


def test_telegram_down_delays_messages_not_runs(sch, bot):
    for mode in ("500", "hang"):
        bot.mode = mode
        last = runs(sch)[-1][0]
        sch.hdp("generate", "--rate", "50", "--duration", "2", "--seed", "63" if mode == "500" else "64")
        t0 = time.time()
        wait_for(lambda: len([r for r in runs(sch) if r[0] > last and r[1] == "success"]) >= 2,
                 6 * INTERVAL, f"runs while Telegram answers {mode}")
        assert time.time() - t0 < 6 * INTERVAL
        pending = dwh(sch, "SELECT count(*) FROM ops.notification WHERE status = 'pending'")[0][0]
        assert pending >= 1
        bot.mode = "ok"
        wait_for(lambda: dwh(sch, "SELECT count(*) FROM ops.notification WHERE status = "
                                  "'pending'")[0][0] == 0, 60, "the outbox drained")
    no_token_anywhere(sch, ["scheduler"])


def test_two_schedulers_never_overlap_and_standby_takes_over(sch):
    second = sch.start("scheduler2", "scheduler")
    t0 = time.time()
    time.sleep(4 * INTERVAL)
    rs = [r for r in runs(sch) if r[4] is not None and r[3].timestamp() >= t0 - 1]
    for a, b in zip(rs, rs[1:]):
        assert a[4] <= b[3], (a, b)  # intervals never overlap
    assert "standby" in sch.log("scheduler2")
    sch.kill9("scheduler")
    killed = time.time()
    last = runs(sch)[-1][0]
    wait_for(lambda: [r for r in runs(sch) if r[0] > last and r[1] == "success"],
             2 * INTERVAL + 6, "the standby's first run")
    assert time.time() - killed <= 2 * INTERVAL + 6
    assert "active" in sch.log("scheduler2")
    assert second.poll() is None
    sch.procs["scheduler2"].send_signal(signal.SIGTERM)
    assert sch.procs.pop("scheduler2").wait(timeout=60) == 0
