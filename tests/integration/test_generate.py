"""`hdp generate` against a private PostgreSQL: the shop workload's rules hold in SQL."""
import datetime as dt
import os
import signal
import subprocess
import time

import pytest

from pgserver import create_shop, start_postgres, stop_postgres

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HDP = os.environ.get("HDP_BIN", os.path.join(ROOT, "build", "hdp"))
SCHEMA = os.path.join(ROOT, "sql", "postgres", "shop.sql")


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    handle = start_postgres(tmp_path_factory.mktemp("gen"))
    try:
        yield handle
    finally:
        stop_postgres(handle)


_dbs = iter(range(1, 1000))


@pytest.fixture
def shop(pg):
    """A fresh database with the shop schema; returns its name."""
    name = f"shop_{next(_dbs)}"
    create_shop(pg, name, SCHEMA)
    return name


def generate(pg, db, *args, timeout=300):
    env = dict(os.environ, HDP_SOURCE_DSN=pg.dsn(db), HDP_ENV_FILE="/dev/null")
    return subprocess.run([HDP, "generate", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def one(pg, db, sql):
    return pg.psql(db, sql).strip()


@pytest.fixture(scope="module")
def backfilled(pg):
    name = "shop_backfill"
    create_shop(pg, name, SCHEMA)
    before = one(pg, name, "SELECT now()")
    r = generate(pg, name, "--orders", "20000", "--days", "7", "--seed", "42")
    assert r.returncode == 0, r.stderr
    return name, before, r


def test_backfill_counts_and_summary(pg, backfilled):
    db, _, r = backfilled
    assert one(pg, db, "SELECT count(*) FROM orders") == "20000"
    assert r.stdout.count("\n") == 1 and "20000 orders" in r.stdout
    assert int(one(pg, db, "SELECT count(*) FROM customers")) >= 5000
    assert int(one(pg, db, "SELECT count(*) FROM products")) >= 500
    assert one(pg, db, "SELECT min(order_id) || '-' || max(order_id) FROM orders") == "1-20000"


def test_totals_are_exact_sums_of_items(pg, backfilled):
    db = backfilled[0]
    bad = one(pg, db, """
        SELECT count(*) FROM orders o
        LEFT JOIN (SELECT order_id, sum(quantity * unit_price) AS s, count(*) AS n,
                          count(DISTINCT product_id) AS np, min(line_no) AS lo,
                          max(line_no) AS hi
                   FROM order_items GROUP BY order_id) i USING (order_id)
        WHERE i.s IS DISTINCT FROM o.total OR i.n NOT BETWEEN 1 AND 5 OR i.np <> i.n
           OR i.lo <> 1 OR i.hi <> i.n""")
    assert bad == "0"
    assert one(pg, db, "SELECT count(*) FROM order_items WHERE quantity NOT BETWEEN 1 AND 5") == "0"
    assert one(pg, db, "SELECT count(DISTINCT currency) || currency FROM orders GROUP BY currency") \
        == "1USD"


def test_variety(pg, backfilled):
    db = backfilled[0]
    assert int(one(pg, db, """SELECT count(DISTINCT p.category) FROM order_items i
                              JOIN products p USING (product_id)""")) >= 20
    assert int(one(pg, db, "SELECT count(DISTINCT ship_city) FROM orders")) >= 200
    assert one(pg, db, "SELECT count(*) FROM products WHERE price NOT BETWEEN 0.99 AND 999.99") \
        == "0"
    # Real, multi-byte city names made it through COPY intact.
    assert int(one(pg, db, "SELECT count(*) FROM customers WHERE city IN "
                           "('São Paulo', 'Zürich', 'Kraków', 'Москва')")) > 0


def test_refunds_and_lifecycle(pg, backfilled):
    db = backfilled[0]
    share = float(one(pg, db, """SELECT avg((status = 'refunded')::int) FROM orders"""))
    assert 0.015 <= share <= 0.05
    assert one(pg, db, """SELECT count(*) FROM orders WHERE (status = 'refunded')
                          <> (refunded_at IS NOT NULL)""") == "0"
    assert one(pg, db, """SELECT count(*) FROM orders WHERE status = 'refunded'
                          AND (refunded_at < paid_at OR refunded_at > now()
                               OR updated_at <> refunded_at)""") == "0"
    counts = dict(l.split("|") for l in pg.psql(
        db, "SELECT status, count(*) FROM orders GROUP BY status").split())
    assert set(counts) == {"paid", "shipped", "delivered", "refunded"}
    assert one(pg, db, """SELECT count(*) FROM orders WHERE created_at <> paid_at
                          OR updated_at < paid_at OR updated_at > now()""") == "0"


def test_paid_at_in_window(pg, backfilled):
    db, before, _ = backfilled
    assert one(pg, db, f"""SELECT count(*) FROM orders WHERE paid_at IS NULL
                           OR paid_at < timestamptz '{before}' - interval '7 days'
                           OR paid_at > now()""") == "0"
    # Spread over the whole window, not bunched: every one of the 7 days has orders.
    assert one(pg, db, """SELECT count(DISTINCT floor(extract(epoch FROM now() - paid_at)
                          / 86400)) FROM orders""") in ("7", "8")


def test_history_exists(pg, backfilled):
    db = backfilled[0]
    moved = one(pg, db, """SELECT count(DISTINCT c.customer_id) FROM customers c
                           JOIN orders o USING (customer_id) WHERE o.ship_city <> c.city""")
    assert int(moved) > 0
    assert int(one(pg, db, "SELECT count(*) FROM customers WHERE updated_at > created_at")) > 0
    repriced = one(pg, db, """SELECT count(DISTINCT p.product_id) FROM order_items i
                              JOIN products p USING (product_id) WHERE i.unit_price <> p.price""")
    assert int(repriced) > 0


FINGERPRINT = """
SELECT md5(string_agg(concat_ws(',', order_id, customer_id, total, ship_city, status), ';'
                      ORDER BY order_id)) FROM orders
UNION ALL
SELECT md5(string_agg(concat_ws(',', order_id, line_no, product_id, quantity, unit_price), ';'
                      ORDER BY order_id, line_no)) FROM order_items
UNION ALL
SELECT md5(string_agg(concat_ws(',', customer_id, name, email, city, country), ';'
                      ORDER BY customer_id)) FROM customers
UNION ALL
SELECT md5(string_agg(concat_ws(',', product_id, sku, name, category, price), ';'
                      ORDER BY product_id)) FROM products
"""


def test_same_seed_same_rows(pg, backfilled, shop):
    r = generate(pg, shop, "--orders", "20000", "--days", "7", "--seed", "42")
    assert r.returncode == 0, r.stderr
    assert pg.psql(shop, FINGERPRINT) == pg.psql(backfilled[0], FINGERPRINT)


def test_other_seed_other_rows(pg, backfilled, shop):
    r = generate(pg, shop, "--orders", "20000", "--days", "7", "--seed", "43")
    assert r.returncode == 0, r.stderr
    assert pg.psql(shop, FINGERPRINT) != pg.psql(backfilled[0], FINGERPRINT)


def test_second_run_continues_ids(pg, shop):
    assert generate(pg, shop, "--orders", "300", "--days", "1", "--customers", "50",
                    "--products", "30").returncode == 0
    r = generate(pg, shop, "--orders", "200", "--days", "1", "--customers", "60",
                 "--products", "30", "--seed", "5")
    assert r.returncode == 0, r.stderr
    assert one(pg, shop, "SELECT count(*) || ' ' || max(order_id) FROM orders") == "500 500"
    assert one(pg, shop, "SELECT count(*) || ' ' || max(customer_id) FROM customers") == "60 60"
    assert one(pg, shop, "SELECT count(*) FROM products") == "30"


@pytest.mark.parametrize("args", [
    [],
    ["--orders", "10", "--rate", "5"],
    ["--orders", "0", "--days", "1"],
    ["--orders", "-3", "--days", "1"],
    ["--orders", "ten", "--days", "1"],
    ["--orders", "10", "--days", "0"],
    ["--orders", "10", "--duration", "3"],
    ["--rate", "0"],
    ["--rate", "5", "--days", "2"],
    ["--orders", "10", "--bogus", "1"],
    ["--orders"],
    ["--customers", "0", "--orders", "5"],
])
def test_bad_options_exit_2(pg, args):
    r = generate(pg, "shop_backfill", *args)
    assert r.returncode == 2, (args, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("hdp generate: ")
    assert r.stdout == ""


def test_missing_tables_hint_init(pg):
    pg.psql("postgres", "CREATE DATABASE shop_empty")
    r = generate(pg, "shop_empty", "--orders", "10", "--days", "1")
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "hdp init" in r.stderr


def test_unreachable_database_exit_1(pg):
    env = dict(os.environ, HDP_SOURCE_DSN="host=127.0.0.1 port=1 dbname=shop connect_timeout=2",
               HDP_ENV_FILE="/dev/null")
    r = subprocess.run([HDP, "generate", "--orders", "1"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and r.stderr.count("\n") == 1


def test_live_rate(pg, shop):
    start = one(pg, shop, "SELECT now()")
    r = generate(pg, shop, "--rate", "200", "--duration", "3", "--customers", "500",
                 "--products", "100", timeout=60)
    assert r.returncode == 0, r.stderr
    end = one(pg, shop, "SELECT now()")
    n = int(one(pg, shop, "SELECT count(*) FROM orders"))
    assert 400 <= n <= 800
    assert one(pg, shop, f"""SELECT count(*) FROM orders WHERE paid_at < '{start}'
                             OR paid_at > '{end}'""") == "0"
    # Orders came in many transactions (one per tick), not one.
    assert int(one(pg, shop, "SELECT count(DISTINCT xmin::text) FROM order_items")) > 10
    assert one(pg, shop, """SELECT count(*) FROM orders o WHERE total <>
               (SELECT sum(quantity * unit_price) FROM order_items i
                WHERE i.order_id = o.order_id)""") == "0"
    assert one(pg, shop, """SELECT count(*) FROM orders WHERE status = 'refunded'
                            AND (refunded_at < paid_at OR refunded_at > now())""") == "0"


def test_live_until_sigterm(pg, shop):
    env = dict(os.environ, HDP_SOURCE_DSN=pg.dsn(shop), HDP_ENV_FILE="/dev/null")
    p = subprocess.Popen([HDP, "generate", "--rate", "100", "--customers", "100",
                          "--products", "50"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        # Wait for the first orders (no timing assertion: just poll for progress).
        for _ in range(300):
            if int(one(pg, shop, "SELECT count(*) FROM orders")) > 0:
                break
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "(stopped)" in out
    assert int(one(pg, shop, "SELECT count(*) FROM orders")) > 0


def test_concurrent_generators_do_not_collide(pg, shop):
    env = dict(os.environ, HDP_SOURCE_DSN=pg.dsn(shop), HDP_ENV_FILE="/dev/null")
    args = ["--days", "2", "--customers", "200", "--products", "50"]
    procs = [subprocess.Popen([HDP, "generate", "--orders", str(n), "--seed", str(n), *args],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (3000, 4000)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert one(pg, shop, "SELECT count(*) || ' ' || max(order_id) FROM orders") == "7000 7000"
    assert one(pg, shop, "SELECT count(*) FROM customers") == "200"
