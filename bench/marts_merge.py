"""Benchmark of the Lambda merge (the marts issue): `hdp run marts` building the ClickHouse
marts of an N-order vault (fact rows/s), beside the two ceilings it sits between on the same
machine (PostgreSQL's COPY out of the vault's widest satellite, ClickHouse's own insert of the
fact rows); then the API with the merge in place (batch from ClickHouse at or below the
watermark + speed above it) beside the speed-only `hdp serve` of the same data, under wrk.
A report, not a test: nothing is asserted, but every answer is checked against SQL ground
truth and the report says so.

    .venv/bin/python bench/marts_merge.py [--orders 1000000] [--quick]

One private PostgreSQL + Redis (bench/stack.py) and ClickHouse (tests/integration/chserver.py);
`hdp capture` and `hdp speed` run while `hdp generate --orders N --days 30` writes the shop;
then `hdp run compact`, `hdp run vault`; the speed-only API is measured; then `hdp run marts`
(timed), `hdp run publish`, and the merged API. Writes marts-merge-<date>[-quick].md and .json
into --out (bench/results)."""
import argparse
import datetime
import io
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
from benchenv import ensure_requirements, log, machine  # noqa: E402

ensure_requirements()
import psycopg2  # noqa: E402
import requests  # noqa: E402

from run import busiest_day, ms, wrk  # noqa: E402
from stack import Stack, percentiles, with_freshness_probe  # noqa: E402
from vault_load import settle, wait_slot  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from chserver import start_clickhouse  # noqa: E402

SEGMENT_S = 5
GOAL_FACT_ROWS_S = 500_000
GOAL_MERGE_RATIO = 0.8
GOAL_P99_MS = 5.0
GOAL_FRESH_MS = 100.0

TRUTH_DAY = """
SELECT coalesce(sum(total) FILTER (WHERE paid_at >= %s::date AND paid_at < %s::date + 1), 0)
     - coalesce(sum(total) FILTER (WHERE refunded_at >= %s::date AND refunded_at < %s::date + 1), 0)
FROM orders"""


def ch_count(ch, table):
    return int(ch.query(f"SELECT count() FROM {table}").strip())


def fact_rows(ch):
    return ch_count(ch, "hdp.fact_order_current") + ch_count(ch, "hdp.fact_order_line_current")


def build_vault(st, orders):
    """Capture and speed run while `hdp generate` writes the shop; once both hold it all and
    capture closed the last segment, `hdp run compact` and `hdp run vault`. Capture keeps
    running (the probe's markers of the rounds after reach the lake too)."""
    out = {}
    st.spawn("capture", "capture")
    t = time.monotonic()
    log(st.hdp("generate", "--orders", str(orders), "--days", "30", "--seed", "11").strip())
    out["generate_s"] = round(time.monotonic() - t, 2)
    out["capture_tail_s"] = round(wait_slot(st, "hdp_lake"), 2)
    wait_slot(st, "hdp_speed")
    time.sleep(2 * SEGMENT_S + 1)  # the last segment closes
    wait_slot(st, "hdp_lake")
    for task in ("compact", "vault"):
        t = time.monotonic()
        log(st.hdp("run", task).strip())
        out[f"{task}_s"] = round(time.monotonic() - t, 2)
    return out


def run_marts(st, ch):
    """`hdp run marts` into empty marts, timed, with the CPU of hdp (its rusage)."""
    t0 = time.monotonic()
    ru0 = os.times()
    out = st.hdp("run", "marts")
    secs = time.monotonic() - t0
    ru1 = os.times()
    rows = fact_rows(ch)
    log(out.strip())
    return {"seconds": round(secs, 2), "fact_rows": rows,
            "fact_order": ch_count(ch, "hdp.fact_order_current"),
            "fact_order_line": ch_count(ch, "hdp.fact_order_line_current"),
            "fact_rows_per_s": round(rows / secs) if secs else None,
            "hdp_cpu_s": round((ru1.children_user - ru0.children_user)
                               + (ru1.children_system - ru0.children_system), 2),
            "summary": out.strip().splitlines()[-1] if out.strip() else ""}


def pg_copy_out(st):
    """PostgreSQL's COPY out of the vault's order-line satellite (the biggest input of the
    marts), into memory: how fast the source side alone can go."""
    c = psycopg2.connect(st.pg.dsn("dwh"))
    buf = io.StringIO()
    t0 = time.monotonic()
    with c.cursor() as cur:
        cur.copy_expert("COPY vault.sat_order_line TO STDOUT", buf)
    secs = time.monotonic() - t0
    c.close()
    rows = buf.getvalue().count("\n")
    return {"rows": rows, "seconds": round(secs, 2),
            "rows_per_s": round(rows / secs) if secs else None}


def ch_insert(ch):
    """ClickHouse's own insert of the fact-line rows, as TabSeparated over HTTP (what marts
    sends): the rows are read out first, only the insert into a copy of the table is timed."""
    data = ch.query("SELECT * FROM hdp.fact_order_line FORMAT TabSeparated").encode()
    ch.query("DROP TABLE IF EXISTS hdp.bench_copy")
    ch.query("CREATE TABLE hdp.bench_copy AS hdp.fact_order_line")
    t0 = time.monotonic()
    ch.query("INSERT INTO hdp.bench_copy FORMAT TabSeparated", data=data)
    secs = time.monotonic() - t0
    rows = ch_count(ch, "hdp.bench_copy")
    ch.query("DROP TABLE hdp.bench_copy")
    return {"rows": rows, "bytes": len(data), "seconds": round(secs, 2),
            "rows_per_s": round(rows / secs) if secs else None}


def restart_serve(st, clickhouse_url):
    if st.serve is not None:
        st.stop(st.serve)
    keep = st.env["HDP_CLICKHOUSE_URL"]
    st.env["HDP_CLICKHOUSE_URL"] = clickhouse_url  # for this serve only
    try:
        st.start_serve()
    finally:
        st.env["HDP_CLICKHOUSE_URL"] = keep


def api_round(st, day, dur, label):
    """wrk on /revenue and /by-city of the busiest day, the answer checked against SQL, and
    the freshness of marker orders (a day above W) measured inside the revenue load window."""
    truth = st.query(TRUTH_DAY, (day, day, day, day))[0][0]
    body = requests.get(f"{st.url}/api/v1/revenue?date={day}", timeout=5).json()
    out = {"label": label, "answer": body.get("revenue"), "sql_truth": str(truth),
           "exact": body.get("revenue") == str(truth),
           "watermark": body.get("watermark"), "degraded": body.get("degraded"),
           "batch_revenue": (body.get("batch") or {}).get("revenue")}
    out["revenue"], lat = with_freshness_probe(
        st, dur, lambda: wrk(f"{st.url}/api/v1/revenue?date={day}", dur))
    p = percentiles(lat)
    out["freshness_under_load"] = {"markers": len(lat), "never_seen": sum(x is None for x in lat),
                                   **{k + "_ms": ms(v) for k, v in p.items()}}
    out["by_city"] = wrk(f"{st.url}/api/v1/revenue/by-city?date={day}", dur)
    log(f"api {label}: revenue {out['revenue']['requests_per_s']} req/s p99 "
        f"{out['revenue']['p99_ms']} ms, by-city {out['by_city']['requests_per_s']} req/s, "
        f"exact={out['exact']}")
    return out


def wait_published(st, ch, timeout=120):
    """Batch runs until W covers the capture's newest closed segment (generation stopped)."""
    wait_slot(st, "hdp_lake")
    time.sleep(2 * SEGMENT_S + 1)
    wait_slot(st, "hdp_lake")
    closed = json.load(open(os.path.join(st.dir, "lake", "_state", "capture.json")))["segment"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st.hdp("run", "batch")
        w = requests.get(f"{st.url}/api/v1/revenue", timeout=5).json().get("watermark")
        if w is not None and w >= closed:
            return w
        time.sleep(1)
    raise RuntimeError(f"the watermark never reached segment {closed}")


def verdict(ok):
    return "met" if ok else "**missed**"


def report(res, path_md):
    m, a = res["marts"], res["api"]
    so, mg = a["speed_only"], a["merged"]
    ratio_rev = (mg["revenue"]["requests_per_s"] or 0) / (so["revenue"]["requests_per_s"] or 1)
    ratio_city = (mg["by_city"]["requests_per_s"] or 0) / (so["by_city"]["requests_per_s"] or 1)
    p99 = max(mg["revenue"]["p99_ms"] or 1e9, mg["by_city"]["p99_ms"] or 1e9)
    fresh = mg["freshness_under_load"].get("p99_ms")
    res["goals"] = [
        {"goal": f"marts ≥ {GOAL_FACT_ROWS_S:,} fact rows/s", "measured": m["fact_rows_per_s"],
         "peer": f"PG COPY out {res['pg_copy_out']['rows_per_s']:,}/s, CH insert "
                 f"{res['ch_insert']['rows_per_s']:,}/s",
         "met": (m["fact_rows_per_s"] or 0) >= GOAL_FACT_ROWS_S},
        {"goal": f"merged /revenue ≥ {GOAL_MERGE_RATIO}× speed-only",
         "measured": round(ratio_rev, 2), "peer": so["revenue"]["requests_per_s"],
         "met": ratio_rev >= GOAL_MERGE_RATIO},
        {"goal": f"merged /by-city ≥ {GOAL_MERGE_RATIO}× speed-only",
         "measured": round(ratio_city, 2), "peer": so["by_city"]["requests_per_s"],
         "met": ratio_city >= GOAL_MERGE_RATIO},
        {"goal": f"merged p99 ≤ {GOAL_P99_MS} ms", "measured": p99, "peer": "-",
         "met": p99 <= GOAL_P99_MS},
        {"goal": f"merged answers ≤ {GOAL_FRESH_MS:.0f} ms behind commits (p99)",
         "measured": fresh, "peer": "-", "met": fresh is not None and fresh <= GOAL_FRESH_MS},
        {"goal": "answers exact (API = SQL)", "measured": f"{so['exact']} / {mg['exact']}",
         "peer": "-", "met": so["exact"] and mg["exact"]},
    ]
    L = [f"# Marts and the Lambda merge — {res['date']}", "",
         f"{res['orders']:,} orders over 30 days; machine: {res['machine']['cpu'].strip()}, "
         f"{res['machine']['cores']} cores, kernel {res['machine']['kernel']}; "
         f"{res['machine']['clickhouse']}. Wall time {res['wall_s']} s.", "",
         "| goal | measured | peer / baseline | |", "|---|---|---|---|"]
    for g in res["goals"]:
        L.append(f"| {g['goal']} | {g['measured']} | {g['peer']} | {verdict(g['met'])} |")
    L += ["", "## marts", "",
          f"`hdp run marts` into empty marts: {m['fact_rows']:,} fact rows ({m['fact_order']:,} "
          f"orders, {m['fact_order_line']:,} lines) in {m['seconds']} s = "
          f"{m['fact_rows_per_s']:,} rows/s; hdp used {m['hdp_cpu_s']} s of CPU (the rest is "
          f"PostgreSQL reading the vault and ClickHouse merging).", "",
          f"Ceilings in the same run: PostgreSQL COPY out of vault.sat_order_line "
          f"{res['pg_copy_out']['rows']:,} rows at {res['pg_copy_out']['rows_per_s']:,} rows/s; "
          f"ClickHouse insert of the fact-line rows (TabSeparated over HTTP) "
          f"{res['ch_insert']['rows_per_s']:,} rows/s.", "",
          "## API", "", "| | speed only | merged |", "|---|---|---|"]
    for k in ("revenue", "by_city"):
        for f in ("requests_per_s", "p50_ms", "p99_ms"):
            L.append(f"| {k} {f} | {so[k][f]} | {mg[k][f]} |")
    L += [f"| freshness p99 ms (markers) | {so['freshness_under_load'].get('p99_ms')} | "
          f"{mg['freshness_under_load'].get('p99_ms')} |",
          f"| answer / SQL | {so['answer']} / {so['sql_truth']} | {mg['answer']} / "
          f"{mg['sql_truth']} (batch part {mg['batch_revenue']}, W {mg['watermark']}) |", "",
          f"wrk: `{mg['revenue']['command']}`.", ""]
    with open(path_md, "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=15, help="wrk duration per endpoint")
    ap.add_argument("--quick", action="store_true", help="10,000 orders, 2 s per endpoint")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"), help="folder of the report")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if args.quick:
        args.orders, args.seconds = 10_000, 2

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    work = tempfile.mkdtemp(prefix="hdp-bench-marts-")
    t0 = time.monotonic()
    ch = start_clickhouse(work, password=secrets.token_hex(8))
    res = {"orders": args.orders, "quick": args.quick, "machine": machine(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    try:
        with Stack(os.path.join(work, "stack"), log=log,
                   env={"HDP_CLICKHOUSE_URL": ch.url, "HDP_SEGMENT_SECONDS": str(SEGMENT_S),
                        "HDP_SPEED_DROP_GRACE": "1"}) as st:
            st.start_speed()
            res["lake"] = build_vault(st, args.orders)
            settle(st)
            day, n = busiest_day(st)
            res["day"], res["orders_that_day"] = day, n
            res["api"] = {}
            restart_serve(st, "")
            res["api"]["speed_only"] = api_round(st, day, args.seconds, "speed only")
            res["marts"] = run_marts(st, ch)
            res["pg_copy_out"] = pg_copy_out(st)
            res["ch_insert"] = ch_insert(ch)
            restart_serve(st, ch.url)
            res["watermark"] = wait_published(st, ch)
            res["api"]["merged"] = api_round(st, day, args.seconds, "merged")
    finally:
        ch.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    res["wall_s"] = round(time.monotonic() - t0, 1)
    date = datetime.date.today().isoformat()
    stem = os.path.join(args.out, f"marts-merge-{date}{'-quick' if args.quick else ''}")
    report(res, stem + ".md")
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=2, default=str)
    print(open(stem + ".md").read())


if __name__ == "__main__":
    main()
