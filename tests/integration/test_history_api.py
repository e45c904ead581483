"""`hdp serve`'s customer history (GET /api/v1/users/{id}/history and the original platform's
/api/v1/user/{id}/history) against a real dwh: a small Data Vault written here by SQL, with
hash keys computed as DESIGN.md §3 and sql/postgres/dwh.sql define them. Bodies are asserted
exactly."""
import hashlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import psycopg2
import pytest

from pgserver import pause_postgres, restart_postgres, resume_postgres
from services import free_port, stop_process, wait_port
from stack import HDP, Stack

TOKEN = "history-test-token"


def hk(*parts):
    """The vault's hash key: MD5 over trimmed, upper-cased parts joined with '||'."""
    text = "||".join(str(p).strip(" \t\r\n").upper() for p in parts)
    return hashlib.md5(text.encode()).digest()


def t(s):
    return s + "+00"


class Vault:
    """Inserts vault rows the way the loader would (insert-only, one row per change)."""

    def __init__(self, cur):
        self.cur = cur
        self.lsn = 1000

    def _next_lsn(self):
        self.lsn += 1
        return self.lsn

    def hub(self, table, key_col, hk_col, key, at="2026-11-01 00:00:00"):
        self.cur.execute(f"INSERT INTO vault.{table} ({hk_col}, {key_col}, load_dts, record_source)"
                         " VALUES (%s, %s, %s, 'shop') ON CONFLICT DO NOTHING",
                         (hk(key), key, t(at)))

    def customer(self, cid, at, name, city, deleted=False):
        self.hub("hub_customer", "customer_id", "hk_customer", cid)
        self.cur.execute(
            "INSERT INTO vault.sat_customer (hk_customer, load_dts, hashdiff, name, email, city,"
            " country, is_deleted, record_source, source_lsn, source_seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'NO', %s, 'shop.customers', %s, 0)",
            (hk(cid), t(at), hk(name, city, deleted), name, f"c{cid}@example.com", city,
             deleted, self._next_lsn()))

    def order(self, oid, cid, at, status, total, ship_city, created_at, paid_at=None,
              refunded_at=None, deleted=False):
        self.hub("hub_order", "order_id", "hk_order", oid)
        self.cur.execute(
            "INSERT INTO vault.link_order_customer (hk_order_customer, hk_order, hk_customer,"
            " load_dts, record_source) VALUES (%s, %s, %s, %s, 'shop.orders')"
            " ON CONFLICT DO NOTHING", (hk(oid, cid), hk(oid), hk(cid), t(at)))
        self.cur.execute(
            "INSERT INTO vault.sat_order (hk_order, load_dts, hashdiff, status, total, currency,"
            " ship_city, created_at, paid_at, refunded_at, is_deleted, record_source, source_lsn,"
            " source_seq) VALUES (%s, %s, %s, %s, %s, 'USD', %s, %s, %s, %s, %s, 'shop.orders',"
            " %s, 0)",
            (hk(oid), t(at), hk(status, total, ship_city, deleted), status, total, ship_city,
             t(created_at), paid_at and t(paid_at), refunded_at and t(refunded_at), deleted,
             self._next_lsn()))

    def line(self, oid, line_no, pid, at, qty, price, deleted=False):
        self.hub("hub_product", "product_id", "hk_product", pid)
        self.cur.execute(
            "INSERT INTO vault.link_order_product (hk_order_product, hk_order, hk_product,"
            " line_no, load_dts, record_source) VALUES (%s, %s, %s, %s, %s, 'shop.order_items')"
            " ON CONFLICT DO NOTHING", (hk(oid, pid, line_no), hk(oid), hk(pid), line_no, t(at)))
        self.cur.execute(
            "INSERT INTO vault.sat_order_line (hk_order_product, load_dts, hashdiff, quantity,"
            " unit_price, is_deleted, record_source, source_lsn, source_seq)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'shop.order_items', %s, 0)",
            (hk(oid, pid, line_no), t(at), hk(qty, price, deleted), qty, price, deleted,
             self._next_lsn()))


def fill_vault(dsn):
    with psycopg2.connect(dsn) as c, c.cursor() as cur:
        # our hash keys are the schema's: check one of each shape against its SQL definition
        cur.execute("SELECT decode(md5(upper(btrim('42'::text, E' \\t\\r\\n') COLLATE \"C\")),"
                    " 'hex'), decode(md5('7||3||1'), 'hex')")
        single, multi = cur.fetchone()
        assert (bytes(single), bytes(multi)) == (hk(42), hk(7, 3, 1))
        v = Vault(cur)
        # 42 moved from Oslo to Bergen
        v.customer(42, "2026-11-01 09:00:00", "Ada Lovelace", "Oslo")
        v.customer(42, "2026-11-10 12:00:00", "Ada Lovelace", "Bergen")
        # order 9 (written first: the answer sorts by order_id): paid, then refunded
        v.order(9, 42, "2026-11-12 08:00:00", "paid", "5.50", "Bergen", "2026-11-12 08:00:00",
                "2026-11-12 08:00:00")
        v.order(9, 42, "2026-11-13 09:30:00", "refunded", "5.50", "Bergen",
                "2026-11-12 08:00:00", "2026-11-12 08:00:00", "2026-11-13 09:30:00")
        v.line(9, 1, 8, "2026-11-12 08:00:00", 1, "5.50")
        # order 7: paid -> shipped -> shipped (address corrected) -> delivered
        created = "2026-11-02 10:00:00.123456"
        v.order(7, 42, created, "paid", "123.40", "Oslo", created, created)
        v.order(7, 42, "2026-11-03 11:00:00", "shipped", "123.40", "Oslo", created, created)
        v.order(7, 42, "2026-11-03 12:00:00", "shipped", "123.40", "Drammen", created, created)
        v.order(7, 42, "2026-11-05 15:00:00", "delivered", "123.40", "Drammen", created, created)
        v.line(7, 2, 5, created, 1, "103.40")
        v.line(7, 1, 3, created, 1, "10.00")
        v.line(7, 1, 3, "2026-11-02 10:05:00", 2, "10.00")  # quantity changed
        # order 8 was deleted in the source
        v.order(8, 42, "2026-11-04 10:00:00", "paid", "10.00", "Oslo", "2026-11-04 10:00:00",
                "2026-11-04 10:00:00")
        v.order(8, 42, "2026-11-06 10:00:00", "paid", "10.00", "Oslo", "2026-11-04 10:00:00",
                "2026-11-04 10:00:00", deleted=True)
        v.line(8, 1, 3, "2026-11-04 10:00:00", 1, "10.00")
        # order 11: one of its two lines was deleted
        v.order(11, 42, "2026-11-14 07:00:00", "paid", "10.00", "Bergen",
                "2026-11-14 07:00:00", "2026-11-14 07:00:00")
        v.line(11, 1, 3, "2026-11-14 07:00:00", 1, "10.00")
        v.line(11, 2, 5, "2026-11-14 07:00:00", 1, "5.00")
        v.line(11, 2, 5, "2026-11-14 07:01:00", 1, "5.00", deleted=True)
        # 43: no orders, a name that needs escaping; 44: deleted; 45: hub only
        v.customer(43, "2026-11-01 09:00:00", 'Bob "Q" Smith', "Tromsø")
        v.customer(44, "2026-11-01 09:00:00", "Gone", "Oslo")
        v.customer(44, "2026-11-02 09:00:00", "Gone", "Oslo", deleted=True)
        v.hub("hub_customer", "customer_id", "hk_customer", 45)
        # 50: somebody else's order, never in 42's answer
        v.customer(50, "2026-11-01 09:00:00", "Other", "Oslo")
        v.order(10, 50, "2026-11-07 10:00:00", "paid", "1.00", "Oslo", "2026-11-07 10:00:00",
                "2026-11-07 10:00:00")
        v.line(10, 1, 3, "2026-11-07 10:00:00", 1, "1.00")


ORDERS_42 = [
    {"order_id": 7, "status": "delivered", "total": "123.40", "currency": "USD",
     "ship_city": "Drammen", "created_at": "2026-11-02T10:00:00.123456Z",
     "paid_at": "2026-11-02T10:00:00.123456Z", "refunded_at": None,
     "lines": [{"line_no": 1, "product_id": 3, "quantity": 2, "unit_price": "10.00"},
               {"line_no": 2, "product_id": 5, "quantity": 1, "unit_price": "103.40"}],
     "status_history": [{"status": "paid", "at": "2026-11-02T10:00:00.123456Z"},
                        {"status": "shipped", "at": "2026-11-03T11:00:00.000000Z"},
                        {"status": "delivered", "at": "2026-11-05T15:00:00.000000Z"}]},
    {"order_id": 9, "status": "refunded", "total": "5.50", "currency": "USD",
     "ship_city": "Bergen", "created_at": "2026-11-12T08:00:00.000000Z",
     "paid_at": "2026-11-12T08:00:00.000000Z", "refunded_at": "2026-11-13T09:30:00.000000Z",
     "lines": [{"line_no": 1, "product_id": 8, "quantity": 1, "unit_price": "5.50"}],
     "status_history": [{"status": "paid", "at": "2026-11-12T08:00:00.000000Z"},
                        {"status": "refunded", "at": "2026-11-13T09:30:00.000000Z"}]},
    {"order_id": 11, "status": "paid", "total": "10.00", "currency": "USD",
     "ship_city": "Bergen", "created_at": "2026-11-14T07:00:00.000000Z",
     "paid_at": "2026-11-14T07:00:00.000000Z", "refunded_at": None,
     "lines": [{"line_no": 1, "product_id": 3, "quantity": 1, "unit_price": "10.00"}],
     "status_history": [{"status": "paid", "at": "2026-11-14T07:00:00.000000Z"}]},
]


def http_get(stack, path, token=TOKEN):
    """(status, parsed JSON body or None, raw text) of a GET on serve."""
    req = urllib.request.Request(f"http://127.0.0.1:{stack.http_port}{path}")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read().decode()
            status = r.status
    except urllib.error.HTTPError as e:
        raw = e.read().decode()
        status = e.code
    return status, json.loads(raw) if raw.startswith("{") else None, raw


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("history")
    s = Stack(tmp, env={"HDP_API_TOKEN": TOKEN})
    try:
        fill_vault(s.pg.dsn("dwh"))
        s.start("serve", "serve")
        yield s
    finally:
        s.close()


def test_users_path_returns_exact_history(stack):
    status, body, raw = http_get(stack, "/api/v1/users/42/history")
    assert status == 200, body
    assert body == {"customer_id": 42, "name": "Ada Lovelace", "city": "Bergen",
                    "orders": ORDERS_42}
    assert list(body) == ["customer_id", "name", "city", "orders"]
    assert '"total":"123.40"' in raw and ": " not in raw  # compact, money as exact strings


def test_original_path_carries_user_id_and_history(stack):
    status, body, _ = http_get(stack, "/api/v1/user/42/history")
    assert status == 200, body
    assert body == {"user_id": 42, "customer_id": 42, "name": "Ada Lovelace", "city": "Bergen",
                    "orders": ORDERS_42, "history": ORDERS_42}


def test_customer_without_orders_or_satellite(stack):
    status, body, _ = http_get(stack, "/api/v1/users/43/history")
    assert (status, body) == (200, {"customer_id": 43, "name": 'Bob "Q" Smith',
                                    "city": "Tromsø", "orders": []})
    status, body, _ = http_get(stack, "/api/v1/user/45/history")
    assert (status, body) == (200, {"user_id": 45, "customer_id": 45, "name": None,
                                    "city": None, "orders": [], "history": []})


def test_other_customer_sees_only_own_orders(stack):
    status, body, _ = http_get(stack, "/api/v1/users/50/history")
    assert status == 200
    assert [o["order_id"] for o in body["orders"]] == [10]


@pytest.mark.parametrize("ident", ["abc", "-1", "0", "99999999999999999999",
                                   "9223372036854775808", "1.5", "4%202", "%2B4", "0x10",
                                   "42abc", "%FF"])
def test_bad_id_is_400(stack, ident):
    status, body, _ = http_get(stack, f"/api/v1/users/{ident}/history")
    assert status == 400, (ident, body)
    assert body["error"]["code"] == "bad_request"
    assert "customer id" in body["error"]["message"]
    status, body, _ = http_get(stack, f"/api/v1/user/{ident}/history")
    assert status == 400 and body["error"]["code"] == "bad_request"


def test_largest_id_and_unknown_customer_are_404(stack):
    for ident in ["9223372036854775807", "41", "0042000"]:
        status, body, _ = http_get(stack, f"/api/v1/users/{ident}/history")
        assert (status, body["error"]["code"]) == (404, "not_found"), body
    status, body, _ = http_get(stack, "/api/v1/users/44/history")  # deleted in the source
    assert (status, body["error"]["code"]) == (404, "not_found"), body


def test_leading_zeros_name_the_same_customer(stack):
    assert http_get(stack, "/api/v1/users/0042/history")[1]["customer_id"] == 42


def test_paths_around_history_are_not_routes(stack):
    for path in ["/api/v1/users//history", "/api/v1/users/42/history/", "/api/v1/users/42",
                 "/api/v1/users/4/2/history", "/api/v1/users/42/historyx"]:
        status, body, _ = http_get(stack, path)
        assert (status, body["error"]["code"]) == (404, "not_found"), path


def test_query_parameters_are_rejected(stack):
    status, body, _ = http_get(stack, "/api/v1/users/42/history?date=2026-11-01")
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_token_is_required(stack):
    for path in ["/api/v1/users/42/history", "/api/v1/user/42/history"]:
        status, body, _ = http_get(stack, path, token=None)
        assert (status, body["error"]["code"]) == (401, "unauthorized")
        status, body, _ = http_get(stack, path, token="wrong")
        assert status == 401


def test_metrics_and_openapi(stack):
    http_get(stack, "/api/v1/users/42/history")
    http_get(stack, "/api/v1/user/42/history")
    _, _, text = http_get(stack, "/metrics")
    assert 'hdp_http_requests_total{endpoint="history",code="200"}' in text
    assert 'hdp_http_requests_total{endpoint="user_history",code="200"}' in text
    assert 'hdp_http_requests_total{endpoint="history",code="400"}' in text
    assert "hdp_serve_dwh_errors_total" in text
    _, spec, _ = http_get(stack, "/openapi.json")
    for path in ["/api/v1/users/{id}/history", "/api/v1/user/{id}/history"]:
        op = spec["paths"][path]["get"]
        assert {r for r in op["responses"]} >= {"200", "400", "401", "404", "503"}
        assert op["parameters"][0]["name"] == "id" and op["parameters"][0]["in"] == "path"


def test_dwh_restart_is_answered_on_a_fresh_connection(stack):
    assert http_get(stack, "/api/v1/users/42/history")[0] == 200  # a connection is open
    restart_postgres(stack.pg)  # cuts it
    status, body, _ = http_get(stack, "/api/v1/users/42/history")
    assert status == 200, body
    assert body["orders"] == ORDERS_42


def test_dwh_down_is_503_then_recovers(stack):
    pause_postgres(stack.pg)
    try:
        for path in ["/api/v1/users/42/history", "/api/v1/user/42/history"]:
            status, body, _ = http_get(stack, path)
            assert (status, body["error"]["code"]) == (503, "unavailable"), body
        # everything else still answers
        assert http_get(stack, "/health")[0] == 200
        assert http_get(stack, "/api/v1/users/abc/history")[0] == 400
    finally:
        resume_postgres(stack.pg)
    deadline = time.monotonic() + 10
    while True:
        status, body, _ = http_get(stack, "/api/v1/users/42/history")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200, body
    assert body["orders"] == ORDERS_42
    _, _, text = http_get(stack, "/metrics")
    assert 'hdp_http_requests_total{endpoint="history",code="503"} 1' in text
    assert "hdp_serve_dwh_errors_total 0" not in text


def test_dwh_that_never_answers_stalls_one_request_not_the_server(stack):
    """A dwh that accepts TCP but never speaks: the connecting request waits for
    connect_timeout, a concurrent history request gets 503 within ~2 s, /health answers."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    port = free_port()
    env = dict(stack.env, HDP_HTTP_ADDR=f"127.0.0.1:{port}", HDP_HTTP_THREADS="2",
               HDP_DWH_DSN=f"host=127.0.0.1 port={hole.getsockname()[1]} dbname=dwh "
                           "user=hdp connect_timeout=4")
    log = open(os.path.join(stack.tmp, "serve-blackhole.log"), "ab")
    proc = subprocess.Popen([HDP, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        wait_port(port, proc=proc)
        other = Stack.__new__(Stack)
        other.http_port = port
        first = {}
        th = threading.Thread(target=lambda: first.update(
            r=http_get(other, "/api/v1/users/42/history")))
        th.start()
        time.sleep(0.5)  # the first request is connecting now
        t0 = time.monotonic()
        assert http_get(other, "/health")[0] == 200
        status, body, _ = http_get(other, "/api/v1/users/42/history")
        assert (status, body["error"]["code"]) == (503, "unavailable")
        assert time.monotonic() - t0 < 3.5
        th.join(timeout=15)
        assert first["r"][0] == 503
    finally:
        stop_process(proc)
        hole.close()
