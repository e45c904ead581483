"""The real-time path end to end: generated orders -> PostgreSQL -> logical replication ->
hdp speed -> Redis -> hdp serve, compared with SQL ground truth on the source, to the cent,
also across kill -9 of the consumer and a Redis outage."""
import threading
import time

import pytest

from stack import Stack, assert_exact


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("exact"))
    try:
        s.start("speed", "speed")
        s.start("serve", "serve")
        yield s
    finally:
        s.close()


def test_backfill_of_20000_orders_is_exact(stack):
    out = stack.hdp("generate", "--orders", "20000", "--days", "7", "--seed", "7")
    assert "20000" in out.stdout
    refunds = stack.sql("SELECT count(*) FROM orders WHERE status = 'refunded'")[0][0]
    moved = stack.sql("SELECT count(DISTINCT o.customer_id) FROM orders o JOIN customers c "
                      "USING (customer_id) WHERE o.ship_city <> c.city")[0][0]
    repriced = stack.sql("SELECT count(*) FROM order_items i JOIN products p USING (product_id) "
                         "WHERE i.unit_price <> p.price")[0][0]
    assert refunds > 0 and moved > 0 and repriced > 0, (refunds, moved, repriced)
    days = assert_exact(stack)
    assert len(days) >= 7
    # hdp's own reconcile agrees with the independent check
    out = stack.hdp("reconcile", "--wait", "60")
    assert "0 mismatch" in out.stdout, out.stdout


def test_kill9_of_speed_three_times_during_generation_is_exact(stack):
    gen = threading.Thread(target=stack.hdp, args=("generate", "--rate", "1500", "--duration",
                                                   "8", "--seed", "8"))
    gen.start()
    for _ in range(3):
        time.sleep(1.5)
        stack.kill9("speed")
        time.sleep(0.3)
        stack.start("speed", "speed")
    gen.join()
    assert stack.log("speed").count("streaming slot hdp_speed") >= 4
    assert_exact(stack)


def test_redis_outage_of_5s_during_generation_recovers_exact(stack):
    gen = threading.Thread(target=stack.hdp, args=("generate", "--rate", "1000", "--duration",
                                                   "9", "--seed", "9"))
    gen.start()
    time.sleep(1.5)
    stack.restart_redis(down_seconds=5)
    gen.join()
    assert_exact(stack)
    assert "reconnecting" in stack.log("speed")


def test_postgres_restart_is_survived_exact(stack):
    from pgserver import restart_postgres
    stack.hdp("generate", "--orders", "500", "--days", "1", "--seed", "10")
    restart_postgres(stack.pg)
    stack.hdp("generate", "--orders", "500", "--days", "1", "--seed", "11")
    assert_exact(stack)
    assert "reconnecting" in stack.log("speed")


def test_serve_answers_503_json_while_redis_is_down(stack):
    from services import stop_redis, start_redis
    stop_redis(stack.redis)
    try:
        deadline = time.time() + 5
        status = None
        while time.time() < deadline:
            status, body = stack.get("/api/v1/revenue?date=2026-01-01")
            if status == 503:
                break
            time.sleep(0.05)
        assert status == 503 and body["error"]["code"]
    finally:
        stack.redis, _ = start_redis(stack.tmp, port=stack.redis_port, persistent=True)
    assert_exact(stack)


def test_init_twice_changes_nothing(stack):
    before = stack.sql("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM customers), "
                       "(SELECT count(*) FROM pg_replication_slots), "
                       "(SELECT count(*) FROM pg_publication_tables)")
    stack.hdp("init")
    out = stack.hdp("init")
    assert "slot hdp_speed exists" in out.stdout
    after = stack.sql("SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM customers), "
                      "(SELECT count(*) FROM pg_replication_slots), "
                      "(SELECT count(*) FROM pg_publication_tables)")
    assert before == after
    assert_exact(stack)


def test_quiet_source_closes_segments_and_lag_reaches_zero(stack):
    stack.wait_caught_up()
    seg0 = int(stack.hdp("status", "--json").stdout.split('"segment": ')[1].split(",")[0])
    # HDP_SEGMENT_SECONDS=2: the heartbeat moves a quiet stream on within a few seconds
    deadline = time.time() + 30
    import json
    while time.time() < deadline:
        st = json.loads(stack.hdp("status", "--json").stdout)
        if st["speed"]["segment"] > seg0 + 1 and st["consumers"][0]["lag_bytes"] == 0:
            break
        time.sleep(0.2)
    assert st["speed"]["segment"] > seg0 + 1, st
    assert st["speed"]["closed_through"] == st["speed"]["segment"] - 1
    # writes to another database move the WAL; the idle consumer confirms it anyway
    import psycopg2
    with psycopg2.connect(stack.pg.dsn("dwh")) as c, c.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS filler (x int); INSERT INTO filler "
                    "SELECT generate_series(1, 5000)")
    deadline = time.time() + 30
    while time.time() < deadline:
        st = json.loads(stack.hdp("status", "--json").stdout)
        if st["consumers"][0]["lag_bytes"] == 0:
            break
        time.sleep(0.2)
    assert st["consumers"][0]["lag_bytes"] == 0, st
