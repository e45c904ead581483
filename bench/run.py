"""Real-time path benchmarks for hdp: freshness, catch-up, API. Reports, never assertions.

  .venv/bin/python bench/run.py [--only freshness,catchup,api] [--quick]

Writes bench/results/realtime-<date>.md and .json and prints a summary table. One private
stack (bench/stack.py) serves all sections; it is stopped at the end whatever happens."""
import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
from benchenv import (cpu_s, ensure_requirements, log, machine as machine_info,  # noqa: E402
                      perf_record, perf_stop, perf_top, tree_cpu_s)

ensure_requirements()
import redis  # noqa: E402
import requests  # noqa: E402

from stack import (HDP, MARKER_DAY, MarkerProbe, Stack, percentiles, port,  # noqa: E402
                   wait_port, with_freshness_probe)


def ms(x):
    return None if x is None else round(x * 1000, 1)


# --- helpers ---------------------------------------------------------------------------------
SUMMARY = re.compile(r"generate: (\d+) orders, (\d+) items.*; ([\d.]+) s, (\d+) orders/s")


def gen_summary(text):
    m = None
    for m in SUMMARY.finditer(text):
        pass
    if not m:
        return {}
    return {"orders": int(m[1]), "items": int(m[2]), "seconds": float(m[3]),
            "orders_per_s": int(m[4])}


def slot_lag(st, target):
    """Bytes the hdp_speed slot still has to confirm up to target (an LSN)."""
    return st.query("SELECT pg_wal_lsn_diff(%s::pg_lsn, confirmed_flush_lsn) "
                    "FROM pg_replication_slots WHERE slot_name = 'hdp_speed'", (target,))[0][0]


def wait_caught_up(st, timeout=600, interval=0.02):
    """Waits until the slot confirms the current WAL end; returns seconds waited."""
    target = st.query("SELECT pg_current_wal_lsn()::text")[0][0]
    t0 = time.monotonic()
    while slot_lag(st, target) > 0:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"slot did not reach {target} in {timeout}s")
        if st.speed is not None and st.speed.poll() is not None:
            raise RuntimeError(f"hdp speed exited with {st.speed.returncode}")
        time.sleep(interval)
    return time.monotonic() - t0


def row_changes(st):
    st.query("SELECT pg_stat_force_next_flush()") if st.pg_version >= 15 else None
    return int(st.query("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) "
                        "FROM pg_stat_user_tables WHERE relname IN "
                        "('customers', 'products', 'orders', 'order_items')")[0][0])


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def busiest_day(st):
    rows = st.query("SELECT to_char(paid_at, 'YYYY-MM-DD'), count(*) FROM orders "
                    "WHERE paid_at < %s GROUP BY 1 ORDER BY 2 DESC LIMIT 1", (MARKER_DAY,))
    return rows[0] if rows else (None, 0)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(out):
    def lat(label):
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        return round(float(m[1]) * UNITS[m[2]], 3) if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    req = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"requests_per_s": float(rps[1]) if rps else None,
            "requests": int(req[1]) if req else None,
            "p50_ms": lat("50%"), "p90_ms": lat("90%"), "p99_ms": lat("99%"),
            "non_2xx": int(non2xx[1]) if non2xx else 0,
            "socket_errors": sum(map(int, sock.groups())) if sock else 0}


def wrk(url, seconds, conns=50, threads=2):
    """wrk's summary, with the cores wrk itself kept busy (its rusage, taken when it is
    reaped): the load generator shares the machine's two cores with the server."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", url]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    t0 = time.monotonic()
    out = p.stdout.read()
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0  # reaped here; Popen must not wait for it again
    p.stdout.close()
    res = parse_wrk(out)
    res["command"] = " ".join(cmd)
    res["wrk_cores"] = round((ru.ru_utime + ru.ru_stime) / max(time.monotonic() - t0, 1e-9), 2)
    return res


# --- 1. freshness ----------------------------------------------------------------------------
def bench_freshness(st, quick):
    dur = 4 if quick else 20
    out = {"duration_s": dur, "marker_interval_ms": 50, "poll_interval_ms": 5, "runs": []}
    for rate in (1000, 10000):
        log(f"freshness: generate --rate {rate} --duration {dur} with markers")
        gen = st.spawn(f"generate-{rate}", "generate", "--rate", str(rate), "--duration",
                       str(dur), "--seed", str(rate))
        time.sleep(1.0)
        probe = MarkerProbe(st, st.url, interval=0.05, poll=0.005)
        lat = probe.run(max(1.0, dur - 2.0))
        gen.wait(timeout=dur + 120)
        st.stop(gen)
        with open(os.path.join(st.dir, f"generate-{rate}.log")) as f:
            g = gen_summary(f.read())
        p = percentiles(lat)
        run = {"target_rate": rate, "achieved_rate": g.get("orders_per_s"),
               "generated_orders": g.get("orders"), "markers": len(lat),
               "markers_never_seen": sum(x is None for x in lat),
               "api_poll_errors": probe.errors,
               **{k + "_ms": ms(v) for k, v in p.items()}}
        out["runs"].append(run)
        log(f"freshness @{rate}/s: {run}")
    return out


# --- 2. catch-up -----------------------------------------------------------------------------
def sender_pid(st, slot="hdp_speed"):
    rows = st.query("SELECT active_pid FROM pg_replication_slots "
                    "WHERE slot_name = %s AND active_pid IS NOT NULL", (slot,))
    return rows[0][0] if rows else None


def catchup_once(st, n, seed, perf_data=None):
    """hdp speed stopped, a backlog of n orders written by `hdp generate` (its COPY timed),
    then hdp speed started and timed until its slot confirmed the backlog's end. CPU of hdp
    speed, of the walsender backend decoding for it and of Redis from /proc/<pid>/stat."""
    wait_caught_up(st)
    st.stop_speed()
    c0 = row_changes(st)
    log(f"catch-up: speed stopped; generating a backlog of {n:,} orders")
    t = time.monotonic()
    g = gen_summary(st.hdp("generate", "--orders", str(n), "--days", "1", "--seed", str(seed)))
    gen_s = time.monotonic() - t
    target = st.query("SELECT pg_current_wal_lsn()::text")[0][0]
    backlog_bytes = int(slot_lag(st, target))
    time.sleep(1.0)
    changes = row_changes(st) - c0
    log(f"catch-up: backlog {backlog_bytes / 1e6:.0f} MB WAL, {changes} row changes; "
        "starting speed")
    perf = perf_record(perf_data, ["-a"]) if perf_data else None
    t0 = time.monotonic()
    proc = st.start_speed()
    hwm, sender, cpu0 = 0, None, None
    redis_cpu0 = cpu_s(st.redis.pid)
    while True:
        lag = slot_lag(st, target)
        hwm = max(hwm, vm_hwm_kib(proc.pid) or 0)
        if sender is None:
            sender = sender_pid(st)
            if sender is not None:
                cpu0 = cpu_s(sender)
        if lag <= 0:
            break
        if proc.poll() is not None:
            raise RuntimeError(f"hdp speed exited with {proc.returncode} during catch-up")
        if time.monotonic() - t0 > 1800:
            raise RuntimeError("catch-up took longer than 30 min")
        time.sleep(0.02)
    secs = time.monotonic() - t0
    cpu = {"hdp_speed": cpu_s(proc.pid),
           "pg_walsender": (cpu_s(sender) or 0) - (cpu0 or 0) if sender else None,
           "redis": (cpu_s(st.redis.pid) or 0) - (redis_cpu0 or 0)}
    if perf_data:
        perf_stop(perf)
        return {"orders": n, "catchup_s": round(secs, 3),
                "hdp_speed": perf_top(perf_data, pids=[proc.pid]),
                "pg_walsender": perf_top(perf_data, pids=[sender]) if sender else [],
                "pg_walsender_by_dso": perf_top(perf_data, pids=[sender], sort="dso", limit=5)
                if sender else [],
                "split": {k: None if v is None else round(v, 2) for k, v in cpu.items()}}
    hwm = max(hwm, vm_hwm_kib(proc.pid) or 0)
    spill = st.query("SELECT spill_txns, spill_bytes FROM pg_stat_replication_slots "
                     "WHERE slot_name = 'hdp_speed'")
    gen_rate = g.get("orders_per_s")
    res = {"orders": n, "generate_s": round(gen_s, 2),
           "generate_orders_per_s": gen_rate, "items": g.get("items"),
           "row_changes": changes, "backlog_wal_mb": round(backlog_bytes / 1e6, 1),
           "catchup_s": round(secs, 3), "orders_per_s": round(n / secs),
           "ratio_to_generate": round(n / secs / gen_rate, 2) if gen_rate else None,
           "changes_per_s": round(changes / secs), "wal_mb_per_s": round(backlog_bytes / 1e6 / secs, 1),
           "speed_peak_rss_mb": round(hwm / 1024, 1),
           "slot_spill_txns_bytes": list(spill[0]) if spill else None,
           "cpu_s_during_catchup": {k: None if v is None else round(v, 2)
                                    for k, v in cpu.items()},
           "cores_busy_during_catchup": {k: None if v is None else round(v / secs, 2)
                                         for k, v in cpu.items()}}
    log(f"catch-up: {res}")
    return res


def bench_catchup(st, quick, sizes=None, profile=False):
    sizes = sizes or ([100_000] if quick else [100_000, 1_000_000])
    out = {"runs": [catchup_once(st, n, 42 + i) for i, n in enumerate(sizes)]}
    if profile:
        n = min(sizes)
        log(f"catch-up: profiling a further, untimed catch-up of {n:,} orders (perf record -a)")
        out["profile"] = catchup_once(st, n, 99, perf_data=os.path.join(st.dir, "catchup.perf"))
    return out


# --- 3. API ----------------------------------------------------------------------------------
# The FastAPI peers in bench/peers/, each under uvicorn with 2 workers (uvloop, httptools).
PEERS = (("onekey", "fastapi_onekey", "the original's design: one GET of one precomputed key"),
         ("pipelined", "fastapi_pipelined",
          "per-segment model: the day's segment list, then one pipelined HMGET round trip"),
         ("sequential", "fastapi_revenue",
          "the first replica: one HGETALL per segment, one after another (not a fair peer)"))


def start_peer(st, module):
    pport = port()
    penv = dict(st.env, REDIS_URL=f"redis://127.0.0.1:{st.redis_port}/0")
    plog = open(os.path.join(st.dir, f"{module}.log"), "ab")
    peer = subprocess.Popen([sys.executable, "-m", "uvicorn", f"{module}:app", "--workers",
                             "2", "--host", "127.0.0.1", "--port", str(pport), "--log-level",
                             "warning", "--no-access-log"], cwd=os.path.join(BENCH, "peers"),
                            env=penv, stdout=plog, stderr=subprocess.STDOUT)
    plog.close()
    st.procs.append(peer)
    wait_port(pport, timeout=30, proc=peer)
    time.sleep(1.0)  # both workers up
    return peer, pport


def wrk_cpu(url, dur, pids):
    """wrk against url; with the CPU seconds (process trees) of pids during it, as cores."""
    c0 = {k: tree_cpu_s(p) for k, p in pids.items()}
    res = wrk(url, dur)
    res["cores_busy"] = {k: round((tree_cpu_s(p) - c0[k]) / dur, 2) for k, p in pids.items()}
    return res


def bench_api(st, quick, profile=False):
    dur = 5 if quick else 15
    day, n = busiest_day(st)
    if not day or n < 1000:
        log("api: seeding 20000 orders over 1 day")
        st.hdp("generate", "--orders", "20000", "--days", "1", "--seed", "7")
        day, n = busiest_day(st)
    wait_caught_up(st)
    truth = st.query("SELECT coalesce(sum(total) FILTER (WHERE paid_at >= %s::date AND paid_at < "
                     "%s::date + 1), 0) - coalesce(sum(total) FILTER (WHERE refunded_at >= "
                     "%s::date AND refunded_at < %s::date + 1), 0) FROM orders",
                     (day, day, day, day))[0][0]
    r = redis.Redis(port=st.redis_port, decode_responses=True)
    segs = r.zcard(f"hdp:sp:days:{day}")
    fields = sum(r.hlen(f"hdp:sp:{s}:{day}") for s in r.zrange(f"hdp:sp:days:{day}", 0, -1))
    # what the original's batch job would have written for the one-key peer
    r.set(f"peer:revenue:{day}", int(truth * 100))
    r.close()
    hurl = f"{st.url}/api/v1/revenue?date={day}"
    out = {"date": day, "orders_that_day": n, "segments_for_date": segs,
           "hash_fields_for_date": fields, "duration_s": dur,
           "same_answer": {"sql_truth": str(truth),
                           "hdp": requests.get(hurl).json().get("revenue")},
           "peers": {}}

    # hdp serve, with a marker probe running inside the load window
    log(f"api: wrk hdp serve {hurl}")
    out["hdp"], lat = with_freshness_probe(
        st, dur, lambda: wrk_cpu(hurl, dur, {"hdp_serve": st.serve.pid, "redis": st.redis.pid}))
    p = percentiles(lat)
    out["freshness_under_load"] = {"markers": len(lat), "never_seen": sum(x is None for x in lat),
                                   **{k + "_ms": ms(v) for k, v in p.items()}}
    log(f"api: hdp {out['hdp']}; freshness under load {out['freshness_under_load']}")
    if profile:
        data = os.path.join(st.dir, "serve.perf")
        perf = perf_record(data, ["-p", str(st.serve.pid)])
        time.sleep(0.5)
        wrk(hurl, 5)
        perf_stop(perf)
        out["profile"] = {"hdp_serve": perf_top(data)}

    for name, module, what in PEERS:
        if quick and name == "sequential":
            continue  # not a fair peer; the full run measures it for older reports
        peer, pport = start_peer(st, module)
        purl = f"http://127.0.0.1:{pport}/api/v1/revenue?date={day}"
        out["same_answer"][name] = requests.get(purl).json().get("total_revenue")
        log(f"api: wrk FastAPI peer {name} {purl}")
        res = wrk_cpu(purl, dur, {"uvicorn": peer.pid, "redis": st.redis.pid})
        res["design"] = what
        res["module"] = f"bench/peers/{module}.py"
        out["peers"][name] = res
        log(f"api: peer {name} {res}")
        st.stop(peer)
    fair = {k: v for k, v in out["peers"].items() if k != "sequential"}
    best = max(fair, key=lambda k: fair[k]["requests_per_s"] or 0)
    out["best_peer"] = best
    a, b = out["hdp"]["requests_per_s"], fair[best]["requests_per_s"]
    out["throughput_ratio"] = round(a / b, 1) if a and b else None
    return out


# --- machine and report ----------------------------------------------------------------------
def machine(st):
    cfg = {}
    for line in subprocess.run([HDP, "config"], env=st.env, capture_output=True,
                               text=True).stdout.splitlines():
        m = re.match(r"\s*(HDP_(?:SPEED_BATCH_MS|SERVE_CACHE_MS|HTTP_THREADS|SEGMENT_SECONDS))"
                     r"\W+(\S+)", line)
        if m:
            cfg[m[1]] = m[2]
    return {**machine_info(), "postgres_server": st.query("SHOW server_version")[0][0],
            "hdp_config": cfg,
            "postgres_settings": "wal_level=logical, fsync=off, max_wal_size=8GB "
                                 "(tests/integration/pgserver.py)"}


def fmt(v, unit=""):
    return "n/a" if v is None else f"{v:,}{unit}" if isinstance(v, int) else f"{v}{unit}"


def summary_rows(res):
    rows = []  # (metric, measured, goal, met)
    f = res.get("freshness")
    if f and "runs" in f:
        for r in f["runs"]:
            met = r["p99_ms"] is not None and r["p99_ms"] <= 1000 and not r["markers_never_seen"]
            rows.append((f"freshness @{r['target_rate']:,}/s (achieved {fmt(r['achieved_rate'])}/s)",
                         f"p50 {fmt(r['p50_ms'])} ms, p99 {fmt(r['p99_ms'])} ms, "
                         f"max {fmt(r['max_ms'])} ms ({r['markers']} markers)",
                         "p99 ≤ 1000 ms" if r["target_rate"] == 1000 else "report",
                         ("yes" if met else "NO") if r["target_rate"] == 1000 else "-"))
    c = res.get("catchup")
    for r in (c or {}).get("runs", []):
        rows.append((f"catch-up of {r['orders']:,} orders",
                     f"{r['catchup_s']} s: {fmt(r['orders_per_s'])} orders/s "
                     f"({r['ratio_to_generate']}× generate's COPY, {fmt(r['generate_orders_per_s'])}"
                     f" orders/s), {fmt(r['changes_per_s'])} changes/s, peak RSS "
                     f"{r['speed_peak_rss_mb']} MB; cores busy {r['cores_busy_during_catchup']}",
                     "≥ 8× generate, ≥ 100,000 orders/s",
                     "yes" if (r["ratio_to_generate"] or 0) >= 8 and r["orders_per_s"] >= 100_000
                     else "NO"))
    a = res.get("api")
    if a and "hdp" in a:
        h = a["hdp"]
        rows.append(("API hdp serve", f"{fmt(h['requests_per_s'])} req/s, p50 {h['p50_ms']} ms, "
                     f"p99 {h['p99_ms']} ms, errors {h['non_2xx'] + h['socket_errors']}",
                     "p99 ≤ 5 ms", "yes" if (h["p99_ms"] or 1e9) <= 5 else "NO"))
        for name, p in a["peers"].items():
            rows.append((f"API FastAPI peer {name}", f"{fmt(p['requests_per_s'])} req/s, p50 "
                         f"{p['p50_ms']} ms, p99 {p['p99_ms']} ms, errors "
                         f"{p['non_2xx'] + p['socket_errors']}", p["design"], "-"))
        rows.append((f"API throughput hdp / {a['best_peer']} (the faster fair peer)",
                     f"{a['throughput_ratio']}×", "≥ 20×",
                     "yes" if (a["throughput_ratio"] or 0) >= 20 else "NO"))
        fl = a["freshness_under_load"]
        rows.append(("freshness under API load", f"p50 {fmt(fl['p50_ms'])} ms, max "
                     f"{fmt(fl['max_ms'])} ms ({fl['markers']} markers)", "≤ ~100 ms",
                     "yes" if fl["max_ms"] is not None and fl["max_ms"] <= 100 else "NO"))
    for k in ("freshness", "catchup", "api"):
        if res.get(k, {}).get("error"):  # also when a server died under a measured section
            rows.append((k, "FAILED: " + res[k]["error"], "", "NO"))
    return rows


def table(rows):
    lines = ["| metric | measured | goal | met |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def report(res, path_md, path_json):
    m = res["machine"]
    lines = [f"# hdp real-time path benchmark — {res['started']}", "",
             f"Mode: {'quick' if res['quick'] else 'full'}; sections: {', '.join(res['only'])}; "
             f"wall time {res['wall_s']} s. Raw data: `{os.path.basename(path_json)}`.", "",
             "## Machine", ""]
    lines += [f"- **{k}**: {v}" for k, v in m.items()]
    lines += ["", "## Summary", "", table(summary_rows(res)), ""]
    lines += ["## Method", "",
              "- One private stack (PostgreSQL + Redis on free ports, `hdp init`, `hdp speed`, "
              "`hdp serve`) for all sections; see `bench/stack.py`.",
              "- Freshness: `hdp generate --rate R --duration D` plus a probe committing one "
              f"marker order every 50 ms on {MARKER_DAY} (a date the generator never writes) and "
              "polling `/api/v1/revenue` every 5 ms; latency = first answer containing the "
              "marker − wall time when COMMIT returned (includes one HTTP round trip, ≤ 5 ms "
              "poll granularity).",
              "- Catch-up: `hdp speed` stopped, backlog by `hdp generate --orders N --days 1`, "
              "target = `pg_current_wal_lsn()` after it; time from starting `hdp speed` until "
              "`confirmed_flush_lsn` ≥ target (includes process start and connection). Row "
              "changes from `pg_stat_user_tables` (ins+upd+del of the four shop tables).",
              "- API: `wrk -t2 -c50 --latency` against each server one after the other, same "
              "Redis, same date; the peers are `bench/peers/fastapi_onekey.py` (one GET of a "
              "precomputed key), `fastapi_pipelined.py` (segment list + one pipelined HMGET) and "
              "the first replica `fastapi_revenue.py` (HGETALL per segment, sequential), each "
              "under uvicorn --workers 2 with uvloop and httptools. wrk shares the 2 cores "
              "with the server under test. "
              "Markers every 200 ms during the hdp run measure freshness under load.",
              "", "## Details", "", "```json", json.dumps({k: res[k] for k in res
                                                          if k not in ("machine",)}, indent=2),
              "```", ""]
    with open(path_md, "w") as f:
        f.write("\n".join(lines))


SECTIONS = {"freshness": bench_freshness, "catchup": bench_catchup, "api": bench_api}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="freshness,catchup,api")
    ap.add_argument("--quick", action="store_true", help="short smoke run (< 1 min)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs)")
    ap.add_argument("--catchup-orders", default=None,
                    help="backlog sizes, comma-separated (100000,1000000; quick: 100000)")
    ap.add_argument("--profile", action="store_true",
                    help="also perf-profile an untimed catch-up and hdp serve under wrk")
    args = ap.parse_args()
    sizes = [int(x) for x in args.catchup_orders.split(",")] if args.catchup_orders else None
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    bad = [s for s in only if s not in SECTIONS]
    if bad:
        ap.error(f"unknown section(s): {', '.join(bad)}")
    if not os.access(HDP, os.X_OK):
        sys.exit(f"bench: {HDP} not built (run make)")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {"started": started.strftime("%Y-%m-%d %H:%M:%S UTC"), "quick": args.quick,
           "only": only}
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="hdp-bench-")
    try:
        with Stack(work, log=log) as st:
            st.pg_version = int(st.query("SHOW server_version_num")[0][0]) // 10000
            res["machine"] = machine(st)
            st.start_speed()
            st.start_serve()
            wait_caught_up(st, timeout=60)
            for name in only:
                st.revive()
                try:
                    if name == "catchup":
                        res[name] = bench_catchup(st, args.quick, sizes, args.profile)
                    elif name == "api":
                        res[name] = bench_api(st, args.quick, args.profile)
                    else:
                        res[name] = SECTIONS[name](st, args.quick)
                except KeyboardInterrupt:
                    raise
                except Exception as e:
                    log(f"{name}: FAILED: {e}")
                    res[name] = {"error": str(e)}
                dead = st.revive()
                if dead:  # a section whose servers died under it is not a measurement
                    res[name]["error"] = "; ".join(dead) + " during the section"
    except KeyboardInterrupt:
        log("interrupted; stack stopped")
        sys.exit(130)
    finally:
        if args.keep:
            log(f"work folder kept: {work}")
        else:
            subprocess.run(["rm", "-rf", work])
    res["wall_s"] = round(time.monotonic() - t0, 1)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"realtime-{started.strftime('%Y-%m-%d')}"
                                  f"{'-quick' if args.quick else ''}")
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=2)
    report(res, stem + ".md", stem + ".json")
    print(table(summary_rows(res)))
    print(f"report: {os.path.relpath(stem + '.md', ROOT)}")
    return 0 if all("error" not in res.get(s, {}) for s in only) else 1


if __name__ == "__main__":
    sys.exit(main())
