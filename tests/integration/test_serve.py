"""`hdp serve` against a private Redis seeded with the speed layer's keys (speed_model.h).

Every answer is asserted exactly; changes to Redis are polled for (no timed assertions)."""
import json
import os
import subprocess
import time

import pytest
import redis
import requests

from services import free_port, start_redis, stop_process, stop_redis, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HDP = os.environ.get("HDP_BIN") or os.path.join(ROOT, "build", "hdp")
D = "2026-11-23"
D2 = "2026-11-22"

# segment -> day -> fields (cents / counts)
SEED = {
    100: {D: {"paid": 10000, "refunded": 0, "orders": 2, "refunds": 0,
              "h:10": 10000, "hn:10": 2, "m:10:05": 6000, "mn:10:05": 1,
              "m:10:30": 4000, "mn:10:30": 1,
              "c:Oslo": 6000, "cn:Oslo": 1, "c:Bergen": 4000, "cn:Bergen": 1,
              "cp:Oslo": 6000, "cp:Bergen": 4000, "k:Books": 6000, "kn:Books": 1, "k:Toys": 4000, "kn:Toys": 1},
          D2: {"paid": 50, "orders": 1, "h:23": 50, "hn:23": 1, "c:Oslo": 50, "cn:Oslo": 1,
               "cp:Oslo": 50}},
    101: {D: {"paid": 2500, "refunded": 1000, "orders": 1, "refunds": 1,
              "h:11": 1500, "hn:11": 1, "m:11:15": 2500, "mn:11:15": 1, "m:11:20": -1000,
              "c:Oslo": 2500, "cn:Oslo": 1, "cp:Oslo": 2500, "c:Bergen": -1000,
              "k:Books": 2500, "kn:Books": 1, "k:Toys": -1000}},
    102: {D: {"paid": 333, "orders": 1, "h:10": 333, "hn:10": 1, "m:10:05": 333, "mn:10:05": 1,
              "c:Oslo": 333, "cn:Oslo": 1, "cp:Oslo": 333, "k:Garden": 333, "kn:Garden": 1}},
    90: {D2: {"paid": 100, "orders": 1, "h:22": 100, "hn:22": 1, "c:Tromsø": 100,
              "cn:Tromsø": 1, "cp:Tromsø": 100}},
}


def day(d):
    """The head every answer for one day carries."""
    return {"from": d, "to": d, "date": d}


def seed(r):
    # the state `hdp init` writes: without it, /health says the speed layer lost its data
    r.hset("hdp:speed:state", mapping={"lsn": 0, "segment": -1, "closed": -2})
    for seg, days in SEED.items():
        for day, fields in days.items():
            r.hset(f"hdp:sp:{seg}:{day}", mapping=fields)
            r.zadd(f"hdp:sp:days:{day}", {str(seg): seg})
            r.zadd("hdp:sp:segments", {str(seg): seg})


def start_serve(tmp, redis_port, **env):
    port = free_port()
    e = dict(os.environ)
    e.update({"HDP_REDIS_URL": f"redis://127.0.0.1:{redis_port}",
              "HDP_HTTP_ADDR": f"127.0.0.1:{port}", "HDP_ENV_FILE": "/dev/null",
              "HDP_API_TOKEN": "", "HDP_CLICKHOUSE_URL": ""})  # Redis only: no batch views
    e.update(env)
    log = open(os.path.join(str(tmp), f"serve-{port}.log"), "ab")
    proc = subprocess.Popen([HDP, "serve"], env=e, cwd=str(tmp), stdout=log,
                            stderr=subprocess.STDOUT)
    log.close()
    wait_port(port, proc=proc)
    return proc, f"http://127.0.0.1:{port}"


def poll(fn, pred, timeout=2.0):
    """Calls fn until pred(result) holds or timeout passes; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        res = fn()
        if pred(res) or time.monotonic() > deadline:
            return res
        time.sleep(0.02)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    rproc, rport = start_redis(tmp)
    r = redis.Redis(port=rport, decode_responses=True)
    seed(r)
    sproc, url = start_serve(tmp, rport)
    yield r, url, tmp, rport
    assert stop_process(sproc) == 0  # SIGTERM is a clean stop
    stop_redis(rproc)


def get(url, path, **kw):
    return requests.get(url + path, timeout=5, **kw)


def test_health(stack):
    _, url, _, _ = stack
    res = get(url, "/health")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "redis": "ok", "clickhouse": "off", "speed": "ok"}


def test_revenue_sums_segments(stack):
    _, url, _, _ = stack
    res = get(url, f"/api/v1/revenue?date={D}")
    assert res.status_code == 200
    assert res.headers["Content-Type"].startswith("application/json")
    assert res.json() == {
        **day(D), "revenue": "118.33", "paid": "128.33", "refunded": "10.00",
        "orders": 4, "refunds": 1, "total_revenue": 118.33,
        "speed": {"revenue": "118.33", "orders": 4, "refunds": 1, "segments": 3},
        "batch": {"revenue": "0.00", "orders": 0, "refunds": 0}, "watermark": None}
    assert '"total_revenue":118.33,' in res.text  # printed from cents, not a float
    d2 = get(url, f"/api/v1/revenue?date={D2}").json()
    assert (d2["revenue"], d2["orders"], d2["speed"]["segments"]) == ("1.50", 2, 2)
    empty = get(url, "/api/v1/revenue?date=2026-01-01").json()
    assert (empty["revenue"], empty["total_revenue"], empty["speed"]["segments"]) == \
        ("0.00", 0.0, 0)
    assert '"total_revenue":0.00' in get(url, "/api/v1/revenue?date=2026-01-01").text


def test_revenue_default_date_is_today(stack):
    _, url, _, _ = stack
    body = get(url, "/api/v1/revenue").json()
    assert body["date"] == time.strftime("%Y-%m-%d", time.gmtime()) or \
        body["date"] == time.strftime("%Y-%m-%d", time.gmtime(time.time() - 5))


def test_by_city(stack):
    _, url, _, _ = stack
    assert get(url, f"/api/v1/revenue/by-city?date={D}").json() == {
        **day(D), "cities": [{"city": "Oslo", "revenue": "88.33", "orders": 3},
                             {"city": "Bergen", "revenue": "30.00", "orders": 1}],
        "watermark": None}
    assert get(url, f"/api/v1/revenue/by-city?date={D2}").json()["cities"] == [
        {"city": "Tromsø", "revenue": "1.00", "orders": 1},
        {"city": "Oslo", "revenue": "0.50", "orders": 1}]


def test_by_category(stack):
    _, url, _, _ = stack
    assert get(url, f"/api/v1/revenue/by-category?date={D}").json() == {
        **day(D), "categories": [
            {"category": "Books", "revenue": "85.00", "orders": 2},
            {"category": "Toys", "revenue": "30.00", "orders": 1},
            {"category": "Garden", "revenue": "3.33", "orders": 1}], "watermark": None}


def test_timeseries(stack):
    _, url, _, _ = stack
    hour = {**day(D), "interval": "hour", "points": [
        {"ts": f"{D}T10:00:00Z", "revenue": "103.33", "orders": 3},
        {"ts": f"{D}T11:00:00Z", "revenue": "15.00", "orders": 1}], "watermark": None}
    assert get(url, f"/api/v1/revenue/timeseries?date={D}").json() == hour
    assert get(url, f"/api/v1/revenue/timeseries?date={D}&interval=hour").json() == hour
    assert get(url, f"/api/v1/revenue/timeseries?date={D}&interval=minute").json() == {
        **day(D), "interval": "minute", "points": [
            {"ts": f"{D}T10:05:00Z", "revenue": "63.33", "orders": 2},
            {"ts": f"{D}T10:30:00Z", "revenue": "40.00", "orders": 1},
            {"ts": f"{D}T11:15:00Z", "revenue": "25.00", "orders": 1},
            {"ts": f"{D}T11:20:00Z", "revenue": "-10.00", "orders": 0}], "watermark": None}


def test_timeseries_ranges(stack):
    _, url, _, _ = stack
    # D2 (22nd) holds 0.50 (segment 100) + 1.00 (segment 90); D (23rd) 118.33; the 24th none
    rng = f"from={D2}&to=2026-11-24"
    assert get(url, f"/api/v1/revenue/timeseries?{rng}&interval=day").json() == {
        "from": D2, "to": "2026-11-24", "interval": "day", "points": [
            {"ts": f"{D2}T00:00:00Z", "revenue": "1.50", "orders": 2},
            {"ts": f"{D}T00:00:00Z", "revenue": "118.33", "orders": 4},
            {"ts": "2026-11-24T00:00:00Z", "revenue": "0.00", "orders": 0}],
        "watermark": None}
    hours = get(url, f"/api/v1/revenue/timeseries?{rng}&interval=hour").json()["points"]
    assert [p["ts"] for p in hours] == [f"{D2}T22:00:00Z", f"{D2}T23:00:00Z",
                                        f"{D}T10:00:00Z", f"{D}T11:00:00Z"]
    total = get(url, f"/api/v1/revenue?{rng}").json()
    assert (total["from"], total["to"], "date" in total) == (D2, "2026-11-24", False)
    assert (total["revenue"], total["orders"], total["speed"]["segments"]) == ("119.83", 6, 5)
    cities = get(url, f"/api/v1/revenue/by-city?from={D2}&to={D}").json()["cities"]
    assert cities[0] == {"city": "Oslo", "revenue": "88.83", "orders": 4}
    for bad in (f"from={D}&to={D2}", "from=2025-01-01&to=2026-01-02",
                f"date={D}&from={D}", f"from={D2}&to=2026-12-30&interval=minute"):
        res = get(url, f"/api/v1/revenue/timeseries?{bad}")
        assert res.status_code == 400, bad


def test_average_check(stack):
    _, url, _, _ = stack
    # The average total of the orders paid that day: Oslo 8833 cents / 3 orders = 2944.33 ->
    # 29.44; Bergen 4000 / 1 -> 40.00 (its refund that day does not change what was paid)
    want = {**day(D), "cities": [
        {"city": "Bergen", "average_check": "40.00", "orders": 1, "paid": "40.00"},
        {"city": "Oslo", "average_check": "29.44", "orders": 3, "paid": "88.33"}],
        "watermark": None}
    assert get(url, f"/api/v1/cities/average-check?date={D}").json() == want
    assert get(url, f"/api/v1/cities/average-check?from={D}&to={D}").json() == want
    # over two days: Oslo (8833 + 50) / 4 = 22.2075 -> 22.21, Tromsø 1.00, Bergen 40.00
    two = get(url, f"/api/v1/cities/average-check?from={D2}&to={D}").json()
    assert (two["from"], two["to"], "date" in two) == (D2, D, False)
    assert [(c["city"], c["average_check"], c["orders"]) for c in two["cities"]] == [
        ("Bergen", "40.00", 1), ("Oslo", "22.21", 4), ("Tromsø", "1.00", 1)]


@pytest.mark.parametrize("query", [
    "/api/v1/revenue?date=2026-02-30", "/api/v1/revenue?date=abc", "/api/v1/revenue?date=",
    "/api/v1/revenue?date", "/api/v1/revenue?date=2026-11-23&date=2026-11-24",
    "/api/v1/revenue?foo=1", "/api/v1/revenue/by-city?date=2026-13-01",
    "/api/v1/revenue/timeseries?interval=week", "/api/v1/revenue/timeseries?interval=",
    "/api/v1/cities/average-check?date=%00", "/api/v1/revenue?date=" + "9" * 5000,
])
def test_bad_request(stack, query):
    _, url, _, _ = stack
    res = get(url, query)
    assert res.status_code == 400
    err = res.json()["error"]
    assert err["code"] == "bad_request" and err["message"]


def test_not_found_and_method(stack):
    _, url, _, _ = stack
    for path in ["/nope", "/api/v1/revenue/", "/api/v2/revenue", "/api/v1/users/1/orders"]:
        res = get(url, path)
        assert res.status_code == 404
        assert res.json()["error"]["code"] == "not_found"
    for method in ["POST", "PUT", "DELETE"]:
        res = requests.request(method, url + "/api/v1/revenue", data=b"x" * 100, timeout=5)
        assert res.status_code == 405
        assert res.json()["error"]["code"] == "method_not_allowed"
    assert requests.head(url + "/health", timeout=5).status_code == 200


def test_watermark_without_batch_views_is_degraded_then_503(stack):
    """A published W names batch data; this server has no ClickHouse to read it from. While
    the speed layer still holds every segment of the day it answers from it alone, exactly,
    saying so; once publish dropped the day's buckets it cannot, and says 503. (The merge with
    real batch views is test_marts.py's.)"""
    r, url, _, _ = stack
    r.set("hdp:batch:watermark", "100")
    try:
        body = poll(lambda: get(url, f"/api/v1/revenue?date={D}").json(),
                    lambda b: b.get("degraded") is not None)
        assert body == {
            **day(D), "revenue": "118.33", "paid": "128.33", "refunded": "10.00",
            "orders": 4, "refunds": 1, "total_revenue": 118.33,
            "speed": {"revenue": "118.33", "orders": 4, "refunds": 1, "segments": 3},
            "batch": {"revenue": "0.00", "orders": 0, "refunds": 0}, "watermark": None,
            "degraded": "batch unavailable"}
        # by-city's answer is cached apart from /revenue's (for up to 2 x ttl): poll it too
        by_city = poll(lambda: get(url, f"/api/v1/revenue/by-city?date={D}").json(),
                       lambda b: b.get("degraded") is not None)
        assert by_city["degraded"] == "batch unavailable"
        r.set(f"hdp:sp:dropped:{D}", "100")
        res = poll(lambda: get(url, f"/api/v1/revenue?date={D}"), lambda x: x.status_code != 200)
        assert res.status_code == 503 and res.json()["error"]["code"] == "unavailable"
        assert "ClickHouse" in res.json()["error"]["message"]
        # other days are still answered; a range that includes the dropped day is not
        assert get(url, f"/api/v1/revenue?date={D2}").status_code == 200
        assert get(url, f"/api/v1/revenue?from={D2}&to={D}").status_code == 503
        r.delete(f"hdp:sp:dropped:{D}")
        assert poll(lambda: get(url, f"/api/v1/revenue?date={D}"),
                    lambda x: x.status_code == 200).status_code == 200
        # a rebuild kept only the segments from a floor after the day began: not all of D
        r.set("hdp:sp:floor", str(10**12))
        res = poll(lambda: get(url, f"/api/v1/revenue?date={D}"), lambda x: x.status_code != 200)
        assert res.status_code == 503
        r.delete("hdp:sp:floor")
        r.set("hdp:batch:watermark", "not-a-number")
        bad = poll(lambda: get(url, f"/api/v1/revenue?date={D}"),
                   lambda x: x.status_code not in (200, 503))
        assert bad.status_code == 500 and bad.json()["error"]["code"] == "internal"
    finally:
        r.delete("hdp:batch:watermark", f"hdp:sp:dropped:{D}", "hdp:sp:floor")
    body = poll(lambda: get(url, f"/api/v1/revenue?date={D}").json(),
                lambda b: b.get("watermark", 0) is None and "degraded" not in b)
    assert body["revenue"] == "118.33" and "degraded" not in body


def test_change_visible_within_cache_window(stack):
    r, url, _, _ = stack
    assert get(url, f"/api/v1/revenue?date={D}").json()["revenue"] == "118.33"
    r.hincrby(f"hdp:sp:102:{D}", "paid", 100)
    try:
        body = poll(lambda: get(url, f"/api/v1/revenue?date={D}").json(),
                    lambda b: b["revenue"] == "119.33")
        assert body["revenue"] == "119.33"
    finally:
        r.hincrby(f"hdp:sp:102:{D}", "paid", -100)
    assert poll(lambda: get(url, f"/api/v1/revenue?date={D}").json(),
                lambda b: b["revenue"] == "118.33")["revenue"] == "118.33"


def test_corrupt_value_is_500_not_crash(stack):
    r, url, _, _ = stack
    day = "2026-06-01"
    r.hset(f"hdp:sp:5:{day}", mapping={"paid": "12.5"})
    r.zadd(f"hdp:sp:days:{day}", {"5": 5})
    res = get(url, f"/api/v1/revenue?date={day}")
    assert res.status_code == 500
    assert "paid" in res.json()["error"]["message"]
    assert get(url, "/health").status_code == 200


def test_metrics(stack):
    r, url, _, _ = stack
    get(url, f"/api/v1/revenue?date={D}")
    get(url, "/nope")
    r.set("hdp:speed:quarantined", "7")
    text = get(url, "/metrics").text
    assert 'hdp_http_requests_total{endpoint="revenue",code="200"}' in text
    assert 'hdp_http_requests_total{endpoint="unknown",code="404"}' in text
    assert 'hdp_http_requests_total{endpoint="revenue",code="400"}' in text
    lines = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and not l.startswith("#"))
    assert int(lines["hdp_serve_cache_misses_total"]) >= 1
    assert int(lines["hdp_serve_cache_hits_total"]) >= 0
    assert "hdp_serve_redis_errors_total" in lines
    assert lines["hdp_speed_quarantined_total"] == "7"
    assert lines["hdp_serve_redis_up"] == "1"


def test_openapi_docs_index(stack):
    _, url, _, _ = stack
    spec = get(url, "/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for p in ["/health", "/api/v1/revenue", "/api/v1/revenue/by-city",
              "/api/v1/revenue/by-category", "/api/v1/revenue/timeseries",
              "/api/v1/cities/average-check", "/metrics", "/openapi.json", "/docs"]:
        assert p in spec["paths"], p
    docs = get(url, "/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    index = get(url, "/")
    assert index.status_code == 200 and "hdp" in index.text and "/docs" in index.text


def test_token(stack):
    _, _, tmp, rport = stack
    proc, url = start_serve(tmp, rport, HDP_API_TOKEN="s3cret")
    try:
        for hdr in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"},
                    {"Authorization": "Bearer s3cre"}, {"Authorization": "Bearer s3cretX"}]:
            res = get(url, f"/api/v1/revenue?date={D}", headers=hdr)
            assert res.status_code == 401
            assert res.json()["error"]["code"] == "unauthorized"
        ok = get(url, f"/api/v1/revenue?date={D}", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and ok.json()["revenue"] == "118.33"
        assert get(url, "/health").status_code == 200
        assert get(url, "/metrics").status_code == 200
    finally:
        assert stop_process(proc) == 0


def test_port_taken(stack):
    _, url, tmp, rport = stack
    e = dict(os.environ, HDP_REDIS_URL=f"redis://127.0.0.1:{rport}",
             HDP_HTTP_ADDR=url.replace("http://", ""), HDP_ENV_FILE="/dev/null")
    res = subprocess.run([HDP, "serve"], env=e, cwd=str(tmp), capture_output=True, text=True,
                         timeout=10)
    assert res.returncode == 1
    assert "in use" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_redis_down_then_back(tmp_path):
    rproc, rport = start_redis(tmp_path)
    sproc, url = start_serve(tmp_path, rport)
    try:
        seed(redis.Redis(port=rport))
        assert get(url, f"/api/v1/revenue?date={D}").json()["revenue"] == "118.33"
        stop_redis(rproc)
        res = poll(lambda: get(url, f"/api/v1/revenue?date={D}"),
                   lambda x: x.status_code == 503)
        assert res.status_code == 503
        assert res.json()["error"]["code"] == "unavailable"
        health = get(url, "/health")
        assert health.status_code == 503 and health.json()["redis"] == "down"
        assert get(url, "/metrics").status_code == 200
        rproc, _ = start_redis(tmp_path, port=rport)
        seed(redis.Redis(port=rport))
        res = poll(lambda: get(url, f"/api/v1/revenue?date={D}"),
                   lambda x: x.status_code == 200, timeout=5)
        assert res.status_code == 200 and res.json()["revenue"] == "118.33"
        assert poll(lambda: get(url, "/health"), lambda x: x.status_code == 200).status_code == 200
    finally:
        assert stop_process(sproc) == 0
        stop_redis(rproc)


def test_redis_password_and_db(tmp_path):
    rproc, rport = start_redis(tmp_path)
    try:
        seed(redis.Redis(port=rport, db=3))
        redis.Redis(port=rport).config_set("requirepass", "s3cret")
        sproc, url = start_serve(tmp_path, rport,
                                 HDP_REDIS_URL=f"redis://:s3cret@127.0.0.1:{rport}/3")
        try:
            res = get(url, f"/api/v1/revenue?date={D}")
            assert res.status_code == 200, res.text
            assert res.json()["revenue"] == "118.33"
        finally:
            assert stop_process(sproc) == 0
        # a wrong password will not mend by itself: one line, exit 1, the password not in it
        e = dict(os.environ, HDP_REDIS_URL=f"redis://:wr0ngpass@127.0.0.1:{rport}/3",
                 HDP_HTTP_ADDR=f"127.0.0.1:{free_port()}", HDP_ENV_FILE="/dev/null",
                 HDP_CLICKHOUSE_URL="")
        res = subprocess.run([HDP, "serve"], env=e, cwd=str(tmp_path), capture_output=True,
                             text=True, timeout=20)
        assert res.returncode == 1, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "redis" in lines[0].lower(), res.stderr
        assert "wr0ngpass" not in res.stderr
    finally:
        stop_redis(rproc)
