"""The pipeline's own endpoints (issues 8, 9, 12): GET/POST /api/v1/pipeline/runs with the
bearer token (401 missing, 403 wrong, a run for the right one), /api/v1/pipeline/status,
/metrics' batch series, /health's parts, and /api/v1/stream's Server-Sent Events, on a real
stack (PostgreSQL, Redis, ClickHouse, file:// lake) with `hdp scheduler` taking requests."""
import json
import re
import socket
import subprocess
import threading
import time
import types
import urllib.error
import urllib.request

import pytest

from services import free_port, stop_process, wait_port
from stack import HDP, Stack, cents

API_TOKEN = "api-T0ken-never-shown"


def call(stack, method, path, token=None, timeout=30):
    req = urllib.request.Request(f"http://127.0.0.1:{stack.http_port}{path}", method=method,
                                 data=b"" if method == "POST" else None)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read()
            return r.status, (json.loads(body) if r.headers.get_content_type() ==
                              "application/json" else body.decode())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_for(pred, timeout=60, step=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    # a long interval: the scheduler runs once at start, then only what the API asks for
    s = Stack(tmp_path_factory.mktemp("pipeline"), clickhouse=True,
              env={"HDP_API_TOKEN": API_TOKEN, "HDP_BATCH_INTERVAL": "3600"})
    try:
        s.start("capture", "capture")
        s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "1500", "--days", "2", "--seed", "5")
        s.wait_caught_up(slot="hdp_lake")
        s.wait_caught_up()
        time.sleep(5)  # the last segment closes
        s.hdp("run", "batch")
        yield s
    finally:
        s.close()


def test_post_run_needs_the_token_then_runs(st):
    assert call(st, "POST", "/api/v1/pipeline/runs")[0] == 401
    code, body = call(st, "POST", "/api/v1/pipeline/runs", token="wrong")
    assert code == 403 and body["error"]["code"] == "forbidden"
    code, body = call(st, "GET", "/api/v1/pipeline/runs")
    assert code == 401
    st.start("scheduler", "scheduler")
    # the scheduler's first run (at start) finishes; then ours is the only new one
    assert wait_for(lambda: any(r["trigger"] == "scheduler" and r["status"] != "running"
                                for r in call(st, "GET", "/api/v1/pipeline/runs",
                                              token=API_TOKEN)[1]["runs"]))
    code, body = call(st, "POST", "/api/v1/pipeline/runs", token=API_TOKEN)
    assert code == 202 and body["status"] == "queued" and body["request_id"] >= 1
    run = wait_for(lambda: next((r for r in call(st, "GET", "/api/v1/pipeline/runs?limit=5",
                                                 token=API_TOKEN)[1]["runs"]
                                 if r["trigger"] == "api" and r["status"] != "running"), None))
    assert run and run["status"] == "success", run
    assert run["dag"] == "batch" and run["finished_at"] >= run["started_at"]
    assert [t["task"] for t in run["tasks"]][:4] == ["compact", "vault", "marts", "publish"]
    assert all(t["status"] == "success" for t in run["tasks"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", run["started_at"])
    for bad in ("?limit=0", "?limit=201", "?limit=x", "?limit=1&limit=2", "?foo=1"):
        assert call(st, "GET", "/api/v1/pipeline/runs" + bad, token=API_TOKEN)[0] == 400, bad
    code, body = call(st, "GET", "/api/v1/pipeline/runs?limit=1", token=API_TOKEN)
    assert code == 200 and len(body["runs"]) == 1
    assert call(st, "PUT", "/api/v1/pipeline/runs", token=API_TOKEN)[0] == 405
    st.kill9("scheduler")


def test_post_is_disabled_without_a_token(st):
    """A second serve on the same data without HDP_API_TOKEN: GETs are open, POST is 403."""
    other = types.SimpleNamespace(http_port=free_port())
    env = dict(st.env, HDP_API_TOKEN="", HDP_HTTP_ADDR=f"127.0.0.1:{other.http_port}")
    proc = subprocess.Popen([HDP, "serve"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_port(other.http_port, proc=proc)
        code, body = call(other, "POST", "/api/v1/pipeline/runs")
        assert code == 403 and "disabled" in body["error"]["message"]
        assert call(other, "GET", "/api/v1/pipeline/runs")[0] == 200
    finally:
        stop_process(proc)


def test_pipeline_status(st):
    code, s = call(st, "GET", "/api/v1/pipeline/status", token=API_TOKEN)
    assert code == 200, s
    assert (s["redis"], s["clickhouse"], s["dwh"], s["source"]) == ("ok", "ok", "ok", "ok")
    w = s["watermark"]
    assert w["segment"] is not None and w["age_seconds"] >= 0 and w["covers_until"]
    assert s["speed"]["status"] == "ok" and s["speed"]["fault"] is None
    assert s["speed"]["last_commit_at"] and s["speed"]["lag_seconds"] >= 0
    assert {x["consumer"] for x in s["slots"]} == {"capture", "speed"}
    assert all(x["active"] and x["lag_bytes"] >= 0 for x in s["slots"])
    assert set(s["quarantine"]) == {"speed", "compact", "vault"}
    assert all(isinstance(v, int) for v in s["quarantine"].values())
    tables = {t["table"]: t for t in s["lake"]}
    assert {"orders", "order_items", "customers", "products"} <= set(tables)
    assert all(t["blocked"] is None and t["complete_through"] >= w["segment"]
               for t in tables.values())
    assert call(st, "GET", "/api/v1/pipeline/status")[0] == 401
    assert call(st, "GET", "/api/v1/pipeline/status?x=1", token=API_TOKEN)[0] == 400


def test_metrics_carry_the_batch_series(st):
    code, text = call(st, "GET", "/metrics")
    assert code == 200
    series = dict(l.rsplit(" ", 1) for l in text.splitlines() if l and l[0] != "#")
    w = call(st, "GET", "/api/v1/pipeline/status", token=API_TOKEN)[1]["watermark"]["segment"]
    assert int(series["hdp_batch_watermark_segment"]) == w
    assert float(series["hdp_batch_watermark_published_timestamp_seconds"]) > time.time() - 3600
    for t in ("compact", "vault", "marts", "publish"):
        assert series[f'hdp_task_failures_total{{task="{t}"}}'] == "0"
        assert float(series[f'hdp_task_last_success_timestamp_seconds{{task="{t}"}}']) > 0
        assert float(series[f'hdp_task_last_duration_seconds{{task="{t}"}}']) >= 0
    assert int(series['hdp_runs_total{status="success"}']) >= 1
    assert series['hdp_notifications{status="pending"}'] == "0"
    assert series["hdp_lake_tables_blocked"] == "0"
    assert series["hdp_speed_fault"] == "0"
    assert series["hdp_serve_clickhouse_up"] == "1" and series["hdp_serve_dwh_up"] == "1"
    assert API_TOKEN not in text


def test_health_parts(st):
    code, h = call(st, "GET", "/health")
    assert code == 200 and h == {"status": "ok", "redis": "ok", "clickhouse": "ok",
                                 "speed": "ok"}


def read_events_until(port, deadline, n=None):
    """SSE events of /api/v1/stream, as (event, data text), until the wall-clock time
    deadline[0] (which the caller may move) or, with n, the first n of them."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              API_TOKEN.encode() + b"\r\n\r\n")
    s.settimeout(0.5)
    buf, events, head = b"", [], None
    while time.time() < deadline[0] and (n is None or len(events) < n):
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        if head is None:
            if b"\r\n\r\n" not in buf:
                continue
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            assert lines[0] == "HTTP/1.1 200 OK", lines[0]
            assert any(l.lower().startswith("content-type: text/event-stream") for l in lines)
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            lines = block.decode().split("\n")
            ev = next((l[7:] for l in lines if l.startswith("event: ")), None)
            if ev:
                events.append((ev, "\n".join(l[6:] for l in lines if l.startswith("data: "))))
    s.close()
    return events


def read_events(port, n, timeout=20):
    """The first n SSE events of /api/v1/stream as (event, parsed data)."""
    return [(e, json.loads(d)) for e, d in read_events_until(port, [time.time() + timeout], n)]


def test_streams_opened_while_the_speed_layer_moves_miss_no_change(st):
    """Streams that connect while orders stream in (a change can land between a client's
    first event and its registration) all end on the final answer, and none gets one event
    twice in a row."""
    gen = threading.Thread(target=lambda: st.hdp("generate", "--rate", "150", "--duration",
                                                 "4", "--seed", "12"))
    gen.start()
    readers, results = [], {}
    end = [time.time() + 60]
    for k in range(8):
        t = threading.Thread(target=lambda k=k: results.__setitem__(
            k, read_events_until(st.http_port, end)))
        t.start()
        readers.append(t)
        time.sleep(0.37)
    gen.join()
    st.wait_caught_up()
    # the final answer: stable over two cache windows, once the speed layer applied all
    final = None
    while time.time() < end[0] - 5:
        code, body = call(st, "GET", "/api/v1/revenue", token=API_TOKEN)
        assert code == 200
        time.sleep(0.5)
        if body == final:
            break
        final = body
    end[0] = time.time() + 1.5  # more than a cache window and a poll: the last event is out
    for t in readers:
        t.join()
    assert len(results) == 8
    for k, events in results.items():
        assert events, f"stream {k} got nothing"
        datas = [d for _, d in events]
        assert all(a != b for a, b in zip(datas, datas[1:])), f"stream {k} got a repeat"
        assert events[-1][0] == "summary"
        assert json.loads(datas[-1]) == final, f"stream {k} ended on {datas[-1]}, not {final}"


def test_stream_sends_today_then_each_change(st):
    got = []
    t = threading.Thread(target=lambda: got.extend(read_events(st.http_port, 2, timeout=40)))
    t.start()
    time.sleep(1.0)
    # new orders today move the speed layer: the stream sends the new summary by itself
    st.hdp("generate", "--rate", "20", "--duration", "2", "--seed", "9")
    t.join()
    assert len(got) == 2, got
    (e1, b1), (e2, b2) = got
    assert e1 == e2 == "summary"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert b1["date"] == today and b2["date"] == today
    assert b2["orders"] > b1["orders"] or cents(b2["revenue"]) != cents(b1["revenue"])
    assert call(st, "GET", "/api/v1/stream")[0] == 401
