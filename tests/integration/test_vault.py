"""The Data Vault end to end: generated orders (customers moving city, price changes, refunds)
-> capture -> compact -> `hdp run vault` -> PostgreSQL dwh. Checked against the source `shop`
and against the curated Parquet read with pyarrow, never against hdp's own answers:
hash keys equal PostgreSQL's md5() of the standard string; every hub holds every source key
once; links reference hubs; each key's latest satellite row equals the source row; a customer
has one sat_customer row per distinct version; PIT as of a past time gives that time's state;
a re-run inserts nothing; kill -9 mid-load then a re-run equals an uninterrupted load; records
that break the contract are quarantined with a reason; the history API answers from the vault
exactly what the source has."""
import json
import os
import re
import signal
import subprocess
import time

import psycopg2
import pyarrow.parquet as pq
import pytest

from stack import HDP, Stack

VAULT_TABLES = ["hub_customer", "hub_product", "hub_order", "link_order_customer",
                "link_order_product", "sat_customer", "sat_product", "sat_order",
                "sat_order_line", "pit_customer", "pit_order"]

# Customers whose names and cities exercise the hashing standard: multi-byte UTF-8, spaces
# around and inside, tabs, lower case, quotes and backslashes.
EDGE_CUSTOMERS = [
    (990001, "  Zoë Ærøskøbing  ", "zoe@example.com", "Zürich ", "CH"),
    (990002, "\tmüller, jürgen\t", "  J.Muller@Example.COM", "  São Paulo", "BR"),
    (990003, "O'Brien \\ backslash", "ob@example.com", "Kraków", "PL"),
]

# Prices at the edges of NUMERIC(12,2)'s binary form (base-10000 digits: none for zero, a
# fraction digit alone, whole digits with trailing zero groups, the largest value), which the
# vault receives through binary COPY and test_latest_satellite_equals_source compares.
EDGE_PRICES = ["0.00", "0.01", "0.05", "0.10", "1.00", "9999.99", "10000.00", "10000.01",
               "123456.78", "100000000.00", "9999999999.99"]

STD = r"""
CREATE FUNCTION pg_temp.p(x text) RETURNS text IMMUTABLE LANGUAGE sql
    AS $$ SELECT COALESCE(upper(btrim(x, E' \t\r\n') COLLATE "C"), '^^') $$;
CREATE FUNCTION pg_temp.t(x timestamptz) RETURNS text IMMUTABLE LANGUAGE sql
    AS $$ SELECT to_char(x AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;
CREATE FUNCTION pg_temp.h(x text) RETURNS bytea IMMUTABLE LANGUAGE sql
    AS $$ SELECT decode(md5(x), 'hex') $$;
"""


def dwh(stack, query, args=None, db="dwh"):
    with psycopg2.connect(stack.pg.dsn(db)) as c, c.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute(STD)
        # pg_temp functions are only found schema-qualified
        cur.execute(re.sub(r"\b([hpt])\(", r"pg_temp.\1(", query), args)
        return cur.fetchall() if cur.description else None


def counts(stack, db="dwh"):
    return {t: dwh(stack, f"SELECT count(*) FROM vault.{t}", db=db)[0][0] for t in VAULT_TABLES}


def run_vault(stack, env=None):
    e = dict(stack.env)
    e.update(env or {})
    out = subprocess.run([HDP, "run", "vault"], env=e, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def curated_rows(stack, table):
    """Every row of the table's newest manifest, read with pyarrow, in commit order."""
    lake = os.path.join(stack.tmp, "lake")
    mdir = os.path.join(lake, "curated/_manifests", table)
    newest = sorted(f for f in os.listdir(mdir) if re.match(r"v\d{10}\.json$", f))[-1]
    m = json.load(open(os.path.join(mdir, newest)))
    rows = []
    for f in m["files"]:
        rows += pq.read_table(os.path.join(lake, f["key"])).to_pylist()
    return sorted(rows, key=lambda r: (r["commit_lsn"], r["seq"]))


@pytest.fixture(scope="module")
def vs(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("vault"))
    try:
        stack.start("capture", "capture")
        stack.hdp("generate", "--orders", "20000", "--days", "4", "--seed", "11")
        for cid, name, email, city, country in EDGE_CUSTOMERS:
            stack.sql("INSERT INTO customers (customer_id, name, email, city, country) "
                      "VALUES (%s, %s, %s, %s, %s)", (cid, name, email, city, country))
        stack.sql("UPDATE customers SET city = 'Genève' WHERE customer_id = 990001")
        stack.sql("UPDATE customers SET city = 'Genève' WHERE customer_id = 990001")  # no change
        stack.sql("UPDATE customers SET email = email WHERE customer_id = 990002")  # same row
        stack.hdp("generate", "--rate", "600", "--duration", "6", "--seed", "12")
        # after the generator, which would sell them (a line of 9999999999.99 overflows a total)
        for i, price in enumerate(EDGE_PRICES):
            stack.sql("INSERT INTO products (product_id, sku, name, category, price) "
                      "VALUES (%s, %s, %s, 'edge', %s)", (990101 + i, f"EDGE-{i}", f"edge {i}",
                                                          price))
        stack.wait_caught_up(slot="hdp_lake", timeout=300)
        time.sleep(2 * 2 + 1)  # the last segment closes (heartbeat)
        stack.wait_caught_up(slot="hdp_lake", timeout=300)
        stack.hdp("run", "compact")
        stack.first_load = run_vault(stack)
        yield stack
    finally:
        stack.close()


def test_first_load_summary(vs):
    assert re.search(r"vault: load 1: \d+ file\(s\), \d+ row\(s\) read", vs.first_load), \
        vs.first_load
    assert " 0 quarantined" in vs.first_load, vs.first_load
    log = dwh(vs, "SELECT files, rows_read, rows_inserted, quarantined FROM ops.load_log")
    assert len(log) == 1 and log[0][0] >= 4 and log[0][3] == 0
    files = dwh(vs, "SELECT source_table, count(*) FROM ops.load_file GROUP BY 1 ORDER BY 1")
    assert [t for t, _ in files] == ["customers", "order_items", "orders", "products"]


def test_hash_keys_equal_postgres_md5(vs):
    bad = dwh(vs, """
        SELECT 'hub_customer', count(*) FROM vault.hub_customer
            WHERE hk_customer <> h(p(customer_id::text))
        UNION ALL SELECT 'hub_order', count(*) FROM vault.hub_order
            WHERE hk_order <> h(p(order_id::text))
        UNION ALL SELECT 'hub_product', count(*) FROM vault.hub_product
            WHERE hk_product <> h(p(product_id::text))
        UNION ALL SELECT 'link_order_customer', count(*) FROM vault.link_order_customer l
            JOIN vault.hub_order o USING (hk_order) JOIN vault.hub_customer c USING (hk_customer)
            WHERE l.hk_order_customer <> h(p(o.order_id::text) || '||' || p(c.customer_id::text))
        UNION ALL SELECT 'link_order_product', count(*) FROM vault.link_order_product l
            JOIN vault.hub_order o USING (hk_order) JOIN vault.hub_product x USING (hk_product)
            WHERE l.hk_order_product <> h(p(o.order_id::text) || '||' || p(x.product_id::text)
                                          || '||' || p(l.line_no::text))
        UNION ALL SELECT 'sat_customer', count(*) FROM vault.sat_customer
            WHERE hashdiff <> h(p(name) || '||' || p(email) || '||' || p(city) || '||' ||
                                p(country) || '||' || p(is_deleted::text))
        UNION ALL SELECT 'sat_product', count(*) FROM vault.sat_product
            WHERE hashdiff <> h(p(sku) || '||' || p(name) || '||' || p(category) || '||' ||
                                p(price::text) || '||' || p(is_deleted::text))
        UNION ALL SELECT 'sat_order', count(*) FROM vault.sat_order
            WHERE hashdiff <> h(p(status) || '||' || p(total::text) || '||' || p(currency) ||
                                '||' || p(ship_city) || '||' || p(t(created_at)) || '||' ||
                                p(t(paid_at)) || '||' || p(t(refunded_at)) || '||' ||
                                p(is_deleted::text))
        UNION ALL SELECT 'sat_order_line', count(*) FROM vault.sat_order_line
            WHERE hashdiff <> h(p(quantity::text) || '||' || p(unit_price::text) || '||' ||
                                p(is_deleted::text))
    """)
    assert all(n == 0 for _, n in bad), bad
    # the edge cases are really there: NULL parts (an unrefunded order), UTF-8, spaces
    assert dwh(vs, "SELECT count(*) FROM vault.sat_order WHERE refunded_at IS NULL")[0][0] > 0
    edge = dwh(vs, "SELECT s.name, encode(s.hashdiff, 'hex') FROM vault.sat_customer s "
                   "JOIN vault.hub_customer c USING (hk_customer) WHERE c.customer_id = 990002")
    assert edge[0][0] == "\tmüller, jürgen\t"
    std = "MüLLER, JüRGEN||J.MULLER@EXAMPLE.COM||SãO PAULO||BR||FALSE"
    assert edge[0][1] == dwh(vs, "SELECT md5(%s)", (std,))[0][0]


def test_hubs_hold_every_source_key_once(vs):
    for hub, key, table in [("hub_customer", "customer_id", "customers"),
                            ("hub_product", "product_id", "products"),
                            ("hub_order", "order_id", "orders")]:
        got = dwh(vs, f"SELECT {key} FROM vault.{hub}")
        want = vs.sql(f"SELECT {key} FROM {table}")
        assert len(got) == len(set(got)), hub
        assert sorted(got) == sorted(want), hub
    assert counts(vs)["hub_order"] > 20000


def test_links_reference_hubs_and_equal_source(vs):
    dangling = dwh(vs, """
        SELECT count(*) FROM vault.link_order_customer l
        WHERE NOT EXISTS (SELECT 1 FROM vault.hub_order h WHERE h.hk_order = l.hk_order)
           OR NOT EXISTS (SELECT 1 FROM vault.hub_customer h WHERE h.hk_customer = l.hk_customer)
        UNION ALL SELECT count(*) FROM vault.link_order_product l
        WHERE NOT EXISTS (SELECT 1 FROM vault.hub_order h WHERE h.hk_order = l.hk_order)
           OR NOT EXISTS (SELECT 1 FROM vault.hub_product h WHERE h.hk_product = l.hk_product)
    """)
    assert dangling == [(0,), (0,)]
    oc = dwh(vs, "SELECT o.order_id, c.customer_id FROM vault.link_order_customer l "
                 "JOIN vault.hub_order o USING (hk_order) JOIN vault.hub_customer c USING (hk_customer)")
    assert sorted(oc) == sorted(vs.sql("SELECT order_id, customer_id FROM orders"))
    op = dwh(vs, "SELECT o.order_id, x.product_id, l.line_no FROM vault.link_order_product l "
                 "JOIN vault.hub_order o USING (hk_order) JOIN vault.hub_product x USING (hk_product)")
    assert sorted(op) == sorted(vs.sql("SELECT order_id, product_id, line_no FROM order_items"))


LATEST = """
SELECT DISTINCT ON (s.{hk}) {cols} FROM vault.{sat} s {join}
ORDER BY s.{hk}, s.load_dts DESC
"""


def test_latest_satellite_equals_source(vs):
    cases = [
        ("sat_customer", "hk_customer", "JOIN vault.hub_customer b USING (hk_customer)",
         "b.customer_id, s.name, s.email, s.city, s.country",
         "SELECT customer_id, name, email, city, country FROM customers"),
        ("sat_product", "hk_product", "JOIN vault.hub_product b USING (hk_product)",
         "b.product_id, s.sku, s.name, s.category, s.price",
         "SELECT product_id, sku, name, category, price FROM products"),
        ("sat_order", "hk_order", "JOIN vault.hub_order b USING (hk_order)",
         "b.order_id, s.status, s.total, s.currency, s.ship_city, s.created_at, s.paid_at, "
         "s.refunded_at",
         "SELECT order_id, status, total, currency, ship_city, created_at, paid_at, refunded_at "
         "FROM orders"),
        ("sat_order_line", "hk_order_product",
         "JOIN vault.link_order_product l USING (hk_order_product) "
         "JOIN vault.hub_order o ON o.hk_order = l.hk_order",
         "o.order_id, l.line_no, s.quantity, s.unit_price",
         "SELECT order_id, line_no, quantity, unit_price FROM order_items"),
    ]
    for sat, hk, join, cols, truth in cases:
        got = dwh(vs, LATEST.format(hk=hk, cols=cols, sat=sat, join=join))
        want = vs.sql(truth)
        assert sorted(got) == sorted(want), sat
    refunds = vs.sql("SELECT count(*) FROM orders WHERE status = 'refunded'")[0][0]
    assert refunds > 0
    edge = dwh(vs, "SELECT s.price::text FROM vault.sat_product s WHERE s.category = 'edge' "
                   "ORDER BY s.price")
    assert [p for (p,) in edge] == EDGE_PRICES


def versions(rows, key, attrs):
    """Per key, the number of distinct consecutive versions of attrs in commit order."""
    last, n = {}, {}
    for r in rows:
        v = tuple(r[a] for a in attrs)
        if last.get(r[key]) != v:
            n[r[key]] = n.get(r[key], 0) + 1
            last[r[key]] = v
    return n


def test_one_satellite_row_per_version(vs):
    want = versions(curated_rows(vs, "customers"), "customer_id",
                    ["name", "email", "city", "country"])
    got = dict(dwh(vs, "SELECT b.customer_id, count(*) FROM vault.sat_customer s "
                       "JOIN vault.hub_customer b USING (hk_customer) GROUP BY 1"))
    assert got == want
    moved = [c for c, n in got.items() if n > 1]
    assert len(moved) >= 10, "the generator moved too few customers to prove anything"
    assert got[990001] == 2 and got[990002] == 1  # an update to the same values adds no row
    # every move is a change of city (or country) between consecutive rows
    same = dwh(vs, """
        SELECT count(*) FROM (SELECT hk_customer, city, country, lag(city) OVER w AS pc,
                                     lag(country) OVER w AS pco
                              FROM vault.sat_customer WINDOW w AS (PARTITION BY hk_customer
                                                                   ORDER BY load_dts)) x
        WHERE pc IS NOT NULL AND pc = city AND pco = country""")[0][0]
    assert same == 0
    orders = versions(curated_rows(vs, "orders"), "order_id",
                      ["status", "total", "currency", "ship_city", "created_at", "paid_at",
                       "refunded_at"])
    got = dict(dwh(vs, "SELECT b.order_id, count(*) FROM vault.sat_order s "
                       "JOIN vault.hub_order b USING (hk_order) GROUP BY 1"))
    assert got == orders


def test_pit_as_of_past_time(vs):
    rows = curated_rows(vs, "customers")
    history = {}
    for r in rows:
        history.setdefault(r["customer_id"], []).append((r["commit_ts"], r["city"]))
    movers = [c for c, h in history.items() if len({city for _, city in h}) > 1][:20]
    assert movers
    for cid in movers:
        h = history[cid]
        for (t0, city0), (t1, _) in zip(h, h[1:]):
            if t1 <= t0:
                continue
            mid = t0 + (t1 - t0) / 2
            got = dwh(vs, """
                SELECT s.city FROM vault.pit_customer p
                JOIN vault.hub_customer b USING (hk_customer)
                JOIN vault.sat_customer s ON s.hk_customer = p.hk_customer
                                         AND s.load_dts = p.sat_customer_ldts
                WHERE b.customer_id = %s AND p.valid_from <= %s AND %s < p.valid_to""",
                      (cid, mid, mid))
            assert got == [(city0,)], (cid, mid, h)
        current = dwh(vs, """
            SELECT s.city FROM vault.pit_customer p JOIN vault.hub_customer b USING (hk_customer)
            JOIN vault.sat_customer s ON s.hk_customer = p.hk_customer
                                     AND s.load_dts = p.sat_customer_ldts
            WHERE b.customer_id = %s AND p.valid_to = 'infinity'""", (cid,))
        assert current == vs.sql("SELECT city FROM customers WHERE customer_id = %s", (cid,))
    # orders: as of just after payment, a delivered order was 'paid'
    oid = vs.sql("SELECT order_id FROM orders WHERE status = 'delivered' "
                          "ORDER BY order_id LIMIT 1")[0][0]
    first = dwh(vs, """
        SELECT s.status, p.valid_from FROM vault.pit_order p JOIN vault.hub_order b USING (hk_order)
        JOIN vault.sat_order s ON s.hk_order = p.hk_order AND s.load_dts = p.sat_order_ldts
        WHERE b.order_id = %s ORDER BY p.valid_from""", (oid,))
    assert [s for s, _ in first][0] in ("paid", "shipped") and first[-1][0] == "delivered"
    overlaps = dwh(vs, "SELECT count(*) FROM vault.pit_order p JOIN vault.pit_order q "
                       "ON p.hk_order = q.hk_order AND p.valid_from < q.valid_from "
                       "AND q.valid_from < p.valid_to")[0][0]
    assert overlaps == 0


PIT_DEFINITION = """
    SELECT {hk}, load_dts, COALESCE(lead(load_dts) OVER (PARTITION BY {hk} ORDER BY load_dts),
                                    'infinity'), load_dts
    FROM vault.{sat}
    EXCEPT ALL
    SELECT {hk}, valid_from, valid_to, {sat}_ldts FROM vault.{pit}"""


def test_pit_equals_its_definition(vs):
    """A first load writes the PIT rows while it stages (each key's interval ends at its next
    version; the open one at the end); they must be exactly the intervals of the satellite,
    row for row, and no more."""
    for sat, pit, hk in (("sat_customer", "pit_customer", "hk_customer"),
                         ("sat_order", "pit_order", "hk_order")):
        q = PIT_DEFINITION.format(hk=hk, sat=sat, pit=pit)
        assert dwh(vs, q) == [], pit
        assert dwh(vs, f"SELECT count(*) FROM vault.{pit}") == \
            dwh(vs, f"SELECT count(*) FROM vault.{sat}"), pit
        many = dwh(vs, f"SELECT count(*) FROM vault.{pit} WHERE valid_to <> 'infinity'")[0][0]
        assert many > 0, pit  # keys with more than one version were there


def test_rerun_inserts_nothing(vs):
    before = counts(vs)
    out = run_vault(vs)
    assert "nothing new" in out, out
    assert counts(vs) == before
    assert dwh(vs, "SELECT count(*) FROM ops.load_log")[0][0] == 1


def test_history_api_answers_from_the_vault(vs):
    vs.start("serve", "serve")
    picks = vs.sql("""
        (SELECT customer_id FROM orders GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2)
        UNION (SELECT customer_id FROM orders WHERE status = 'refunded' ORDER BY 1 LIMIT 2)
        UNION (SELECT c.customer_id FROM customers c JOIN orders o USING (customer_id)
               WHERE c.updated_at > c.created_at ORDER BY 1 LIMIT 2)""")
    assert len(picks) >= 3
    for (cid,) in picks:
        status, body = vs.get(f"/api/v1/users/{cid}/history")
        assert status == 200, body
        name, city = vs.sql("SELECT name, city FROM customers WHERE customer_id = %s", (cid,))[0]
        assert (body["customer_id"], body["name"], body["city"]) == (cid, name, city)
        want = vs.sql("SELECT order_id, status, total::text, ship_city FROM orders "
                      "WHERE customer_id = %s ORDER BY order_id", (cid,))
        got = [(o["order_id"], o["status"], o["total"], o["ship_city"]) for o in body["orders"]]
        assert got == [tuple(r) for r in want]
        for o in body["orders"]:
            lines = vs.sql("SELECT line_no, product_id, quantity, unit_price::text "
                           "FROM order_items WHERE order_id = %s ORDER BY line_no",
                           (o["order_id"],))
            assert [(x["line_no"], x["product_id"], x["quantity"], x["unit_price"])
                    for x in o["lines"]] == [tuple(r) for r in lines]
            assert o["status_history"][-1]["status"] == o["status"]
        status, orig = vs.get(f"/api/v1/user/{cid}/history")
        assert status == 200 and orig["user_id"] == cid and orig["history"] == body["orders"]
    assert vs.get("/api/v1/users/424242424/history")[0] == 404
    assert vs.get("/api/v1/users/x1/history")[0] == 400


def test_contract_violations_are_quarantined(vs):
    """Raw changes that break the contract, written as one more closed segment: an order of
    an unknown customer, an order without its key, a line of an unknown order. The load goes
    on with the good rows of the same segment."""
    lake = os.path.join(vs.tmp, "lake")
    seg = 1000  # far below every real segment: a closed segment compaction has not seen
    cust = vs.sql("SELECT customer_id FROM customers ORDER BY 1 LIMIT 1")[0][0]
    prod = vs.sql("SELECT product_id FROM products ORDER BY 1 LIMIT 1")[0][0]
    meta = '"commit_lsn":%d,"seq":%d,"commit_ts":"1970-01-01T04:36:40.000000Z","xid":9,' \
           '"segment":1000,"op":"I"'
    order = ('{%s,"table":"orders","order_id":%s,"customer_id":%d,"status":"paid",'
             '"currency":"USD","total":"10.00","ship_city":"X","created_at":'
             '"1970-01-01T04:36:40.000000Z","updated_at":"1970-01-01T04:36:40.000000Z",'
             '"paid_at":"1970-01-01T04:36:40.000000Z","refunded_at":null}')
    orders = "\n".join([order % (meta % (10, 0), "880001", 77777777),
                        order % (meta % (10, 1), "null", cust),
                        order % (meta % (10, 2), "880002", cust)]) + "\n"
    item = ('{%s,"table":"order_items","order_id":%d,"line_no":1,"product_id":%d,'
            '"quantity":1,"unit_price":"10.00"}')
    items = "\n".join([item % (meta % (10, 3), 880002, prod),
                       item % (meta % (10, 4), 880003, prod)]) + "\n"
    objs = []
    for table, body in [("orders", orders), ("order_items", items)]:
        key = f"raw/{table}/dt=1970-01-01/{seg}-10.jsonl"
        os.makedirs(os.path.dirname(os.path.join(lake, key)), exist_ok=True)
        with open(os.path.join(lake, key), "w") as f:
            f.write(body)
        objs.append({"key": key, "rows": body.count("\n"), "bytes": len(body)})
    with open(os.path.join(lake, f"raw/_segments/{seg}.json"), "w") as f:
        json.dump({"segment": seg, "first_lsn": 10, "last_lsn": 10, "objects": objs}, f)
    vs.hdp("run", "compact")
    before = counts(vs)
    out = run_vault(vs)
    assert re.search(r"load 2: 2 file\(s\), 5 row\(s\) read, .* 3 quarantined", out), out
    q = dwh(vs, "SELECT source_table, reason, record->>'order_id' FROM ops.quarantine "
                "WHERE load_id = 2 ORDER BY id")
    assert q == [("orders", "unknown customer 77777777", "880001"),
                 ("orders", "missing business key order_id", None),
                 ("order_items", "unknown order 880003", "880003")]
    after = counts(vs)
    assert after["hub_order"] == before["hub_order"] + 1  # 880002 went in
    assert after["link_order_product"] == before["link_order_product"] + 1
    assert dwh(vs, "SELECT count(*) FROM vault.hub_order WHERE order_id IN (880001, 880003)") \
        == [(0,)]


# Statements of a first load, one of which the kill lands in: rows COPYed straight into the
# empty vault, the PIT tables built, the deferred keys and indexes built.
MID_LOAD = ["COPY vault.%", "INSERT INTO vault.%", "ALTER TABLE vault.%"]


def test_kill9_mid_load_then_rerun_equals_uninterrupted(vs):
    """A second warehouse loads the same lake from scratch; the first attempt is killed -9
    while its transaction is open. It must leave nothing, and the re-run must give exactly
    the vault the uninterrupted loads gave."""
    vs.pg.psql("postgres", "CREATE DATABASE dwh2")
    env = {"HDP_DWH_DSN": vs.pg.dsn("dwh2")}
    e = dict(vs.env)
    e.update(env)
    subprocess.run([HDP, "init"], env=e, check=True, capture_output=True, timeout=120)
    killed = False
    for attempt in range(5):
        p = subprocess.Popen([HDP, "run", "vault"], env=e, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline and p.poll() is None:
            busy = dwh(vs, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                           "'hdp vault' AND state = 'active' AND query LIKE %s",
                       (MID_LOAD[attempt % len(MID_LOAD)],), db="dwh2")
            if busy[0][0]:
                p.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
        p.wait()
        if killed:
            break
    assert killed, "never caught the load mid-way"
    # the backend notices its client is gone (client_connection_check_interval) and rolls back
    deadline = time.time() + 30
    while dwh(vs, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hdp vault'",
              db="dwh2")[0][0] and time.time() < deadline:
        time.sleep(0.1)
    assert all(n == 0 for n in counts(vs, "dwh2").values())
    assert dwh(vs, "SELECT count(*) FROM ops.load_log", db="dwh2") == [(0,)]
    run_vault(vs, env)
    assert "nothing new" in run_vault(vs, env)
    for t in VAULT_TABLES:
        cols = "*" if t.startswith(("pit_", "sat_")) else "*"
        q = f"SELECT {cols} FROM vault.{t} ORDER BY 1, 2"
        assert dwh(vs, q) == dwh(vs, q, db="dwh2"), t


def test_incremental_same_transaction_and_unchanged_updates(vs):
    """After the loads above: a customer changed twice in ONE transaction (both changes share
    a commit time) keeps only the last version; a customer updated to the values the vault
    already holds gets no new row; every latest row still equals the source."""
    before = dict(dwh(vs, "SELECT b.customer_id, count(*) FROM vault.sat_customer s "
                          "JOIN vault.hub_customer b USING (hk_customer) "
                          "WHERE b.customer_id IN (990002, 990003) GROUP BY 1"))
    vs.sql("UPDATE customers SET city = 'Gdańsk' WHERE customer_id = 990003;"
           "UPDATE customers SET city = 'Łódź' WHERE customer_id = 990003")
    vs.sql("UPDATE customers SET email = email, updated_at = now() WHERE customer_id = 990002")
    vs.wait_caught_up(slot="hdp_lake", timeout=120)
    time.sleep(2 * 2 + 1)
    vs.wait_caught_up(slot="hdp_lake", timeout=120)
    vs.hdp("run", "compact")
    out = run_vault(vs)
    assert re.search(r"vault: load \d+: ", out), out
    rows = dwh(vs, "SELECT b.customer_id, s.city FROM vault.sat_customer s "
                   "JOIN vault.hub_customer b USING (hk_customer) "
                   "WHERE b.customer_id IN (990002, 990003) ORDER BY 1, s.load_dts")
    got = {}
    for cid, city in rows:
        got.setdefault(cid, []).append(city)
    assert len(got[990002]) == before[990002]
    assert len(got[990003]) == before[990003] + 1 and got[990003][-1] == "Łódź"
    latest = dwh(vs, LATEST.format(hk="hk_customer", sat="sat_customer",
                                   join="JOIN vault.hub_customer b USING (hk_customer)",
                                   cols="b.customer_id, s.name, s.email, s.city, s.country"))
    assert sorted(latest) == sorted(vs.sql("SELECT customer_id, name, email, city, country "
                                           "FROM customers"))
    # an increment closes a key's open interval and appends the staged ones
    for sat, pit, hk in (("sat_customer", "pit_customer", "hk_customer"),
                         ("sat_order", "pit_order", "hk_order")):
        assert dwh(vs, PIT_DEFINITION.format(hk=hk, sat=sat, pit=pit)) == [], pit


def test_increment_pit_of_a_late_version_is_rebuilt(tmp_path):
    """An increment appends each key's new PIT intervals from the staging table when they all
    come after the key's latest one. A key whose vault already holds a later version (here a
    satellite row from a clock a day ahead) takes the other way: its intervals are rebuilt
    from the satellite. Both PITs must equal their definition, row for row, and the late
    version must sit before the later one, not after it."""
    stack = Stack(tmp_path)
    try:
        stack.start("capture", "capture")
        stack.hdp("generate", "--orders", "300", "--days", "1", "--seed", "6")
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        time.sleep(2 * 2 + 1)
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        stack.hdp("run", "compact")
        run_vault(stack)
        late, steady = [r[0] for r in stack.sql(
            "SELECT customer_id FROM customers ORDER BY customer_id LIMIT 2")]
        # the vault gets a version of `late` from tomorrow, its PIT kept to the definition
        dwh(stack, """
            WITH k AS (SELECT hk_customer FROM vault.hub_customer WHERE customer_id = %s),
            cur AS (SELECT s.* FROM vault.sat_customer s JOIN k USING (hk_customer)
                    ORDER BY s.load_dts DESC LIMIT 1),
            ins AS (INSERT INTO vault.sat_customer (hk_customer, load_dts, hashdiff, name,
                        email, city, country, is_deleted, record_source, source_lsn,
                        source_seq, source_segment)
                    SELECT hk_customer, now() + interval '1 day', decode(md5('tomorrow'), 'hex'),
                        name, email, 'Tomorrow', country, false, record_source, source_lsn,
                        source_seq, source_segment FROM cur RETURNING hk_customer, load_dts),
            cls AS (UPDATE vault.pit_customer p SET valid_to = ins.load_dts FROM ins
                    WHERE p.hk_customer = ins.hk_customer AND p.valid_to = 'infinity')
            INSERT INTO vault.pit_customer (hk_customer, valid_from, valid_to, sat_customer_ldts)
            SELECT hk_customer, load_dts, 'infinity', load_dts FROM ins""", (late,))
        before = dwh(stack, "SELECT count(*) FROM vault.pit_customer JOIN vault.hub_customer "
                            "USING (hk_customer) WHERE customer_id = %s", (late,))[0][0]
        assert before >= 2
        stack.sql("UPDATE customers SET city = 'Late' WHERE customer_id = %s", (late,))
        stack.sql("UPDATE customers SET city = 'Steady' WHERE customer_id = %s", (steady,))
        stack.hdp("generate", "--orders", "50", "--days", "1", "--seed", "7")
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        time.sleep(2 * 2 + 1)
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        stack.hdp("run", "compact")
        e = dict(stack.env, HDP_LOG_LEVEL="debug")
        r = subprocess.run([HDP, "run", "vault"], env=e, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"vault: load 2: ", r.stdout), r.stdout
        for sat, pit, hk in (("sat_customer", "pit_customer", "hk_customer"),
                             ("sat_order", "pit_order", "hk_order")):
            assert dwh(stack, PIT_DEFINITION.format(hk=hk, sat=sat, pit=pit)) == [], pit
            assert dwh(stack, f"SELECT count(*) FROM vault.{pit}") == \
                dwh(stack, f"SELECT count(*) FROM vault.{sat}"), pit
        # the late key was rebuilt (its DELETE removed its intervals); the rest appended
        assert re.search(r"vault: DELETE FROM vault\.pit_customer p USING stg_pit k.* %d rows"
                         % before, r.stderr), r.stderr
        assert re.search(r"vault: UPDATE vault\.pit_customer .* [1-9]\d* rows", r.stderr), r.stderr
        pit = dwh(stack, "SELECT s.city, p.valid_to = 'infinity' FROM vault.pit_customer p "
                         "JOIN vault.hub_customer b USING (hk_customer) JOIN vault.sat_customer s "
                         "ON s.hk_customer = p.hk_customer AND s.load_dts = p.sat_customer_ldts "
                         "WHERE b.customer_id = %s ORDER BY p.valid_from", (late,))
        assert [c for c, _ in pit][-2:] == ["Late", "Tomorrow"] and pit[-1][1], pit
        steady_pit = dwh(stack, "SELECT s.city FROM vault.pit_customer p JOIN vault.hub_customer "
                                "b USING (hk_customer) JOIN vault.sat_customer s ON "
                                "s.hk_customer = p.hk_customer AND s.load_dts = "
                                "p.sat_customer_ldts WHERE b.customer_id = %s AND "
                                "p.valid_to = 'infinity'", (steady,))
        assert steady_pit == [("Steady",)]
    finally:
        stack.close()


def test_first_load_collapses_changes_in_one_transaction(tmp_path):
    """The first load COPYs satellites straight into the empty vault. A customer created and
    changed twice in ONE transaction (three rows, one commit time) keeps its last version as
    one row; one changed twice in a later transaction keeps two rows, the last one's values;
    keys stay unique and the PIT intervals follow the satellite."""
    stack = Stack(tmp_path)
    try:
        stack.start("capture", "capture")
        stack.hdp("generate", "--orders", "300", "--days", "1", "--seed", "5")
        stack.sql("INSERT INTO customers (customer_id, name, email, city, country) VALUES "
                  "(990010, 'Ada', 'ada@example.com', 'Aarau', 'CH');"
                  "UPDATE customers SET city = 'Basel' WHERE customer_id = 990010;"
                  "UPDATE customers SET city = 'Chur' WHERE customer_id = 990010")
        stack.sql("INSERT INTO customers (customer_id, name, email, city, country) VALUES "
                  "(990011, 'Bo', 'bo@example.com', 'Oslo', 'NO')")
        stack.sql("UPDATE customers SET city = 'Bergen' WHERE customer_id = 990011;"
                  "UPDATE customers SET city = 'Tromsø' WHERE customer_id = 990011")
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        time.sleep(2 * 2 + 1)
        stack.wait_caught_up(slot="hdp_lake", timeout=120)
        stack.hdp("run", "compact")
        e = dict(stack.env)
        r = subprocess.run([HDP, "run", "vault"], env=e, capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"vault: load 1: .* 0 quarantined", r.stdout), r.stdout
        # the direct path's collapse ran (the satellite was empty)
        assert "vault.sat_customer: a key changed twice in one transaction" in r.stderr, r.stderr
        rows = dwh(stack, "SELECT b.customer_id, s.city FROM vault.sat_customer s "
                          "JOIN vault.hub_customer b USING (hk_customer) "
                          "WHERE b.customer_id IN (990010, 990011) ORDER BY 1, s.load_dts")
        assert rows == [(990010, "Chur"), (990011, "Oslo"), (990011, "Tromsø")]
        dup = dwh(stack, "SELECT count(*) FROM (SELECT hk_customer, load_dts FROM "
                         "vault.sat_customer GROUP BY 1, 2 HAVING count(*) > 1) d")[0][0]
        assert dup == 0
        pit = dwh(stack, "SELECT b.customer_id, p.valid_to = 'infinity', s.city "
                         "FROM vault.pit_customer p JOIN vault.hub_customer b "
                         "USING (hk_customer) JOIN vault.sat_customer s ON "
                         "s.hk_customer = p.hk_customer AND s.load_dts = p.sat_customer_ldts "
                         "WHERE b.customer_id IN (990010, 990011) ORDER BY 1, p.valid_from")
        assert pit == [(990010, True, "Chur"), (990011, False, "Oslo"),
                       (990011, True, "Tromsø")]
        assert dwh(stack, "SELECT count(*) FROM vault.pit_customer")[0][0] == \
            dwh(stack, "SELECT count(*) FROM vault.sat_customer")[0][0]
        # the stage's PIT rows were dropped for the rebuild from the collapsed satellite
        assert dwh(stack, PIT_DEFINITION.format(hk="hk_customer", sat="sat_customer",
                                                pit="pit_customer")) == []
        latest = dwh(stack, LATEST.format(hk="hk_customer", sat="sat_customer",
                                          join="JOIN vault.hub_customer b USING (hk_customer)",
                                          cols="b.customer_id, s.name, s.email, s.city, "
                                               "s.country"))
        assert sorted(latest) == sorted(stack.sql("SELECT customer_id, name, email, city, "
                                                  "country FROM customers"))
    finally:
        stack.close()


def test_copy_error_fails_the_load_and_leaves_nothing(vs):
    """Rows go to the server from a COPY thread while the next ones are staged: a COPY the
    server refuses (here a CHECK the orders break) still fails the load with the server's
    reason, exit 1, and the vault stays as it was."""
    vs.pg.psql("postgres", "CREATE DATABASE dwh3")
    env = {"HDP_DWH_DSN": vs.pg.dsn("dwh3")}
    e = dict(vs.env)
    e.update(env)
    subprocess.run([HDP, "init"], env=e, check=True, capture_output=True, timeout=120)
    dwh(vs, "ALTER TABLE vault.sat_order_line ADD CONSTRAINT no_big_lines "
            "CHECK (quantity < 3)", db="dwh3")
    r = subprocess.run([HDP, "run", "vault"], env=e, capture_output=True, text=True, timeout=600)
    assert r.returncode != 0, r.stdout + r.stderr
    assert "no_big_lines" in r.stderr, r.stderr
    assert all(n == 0 for n in counts(vs, "dwh3").values())
    assert dwh(vs, "SELECT count(*) FROM ops.load_log", db="dwh3") == [(0,)]
