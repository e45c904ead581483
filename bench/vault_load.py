"""Benchmark of `hdp run vault`: the curated Parquet of N orders into an empty Data Vault,
side by side with a replica of the original row-by-row loader (bench/peers/vault_rowbyrow.py)
and PostgreSQL's own COPY on the same server. A report, not a test: nothing is asserted.

    .venv/bin/python bench/vault_load.py [--orders 1000000] [--peer-orders 20000] [--quick]

One private PostgreSQL (bench/stack.py, `hdp init`): `hdp capture` runs while `hdp generate
--orders N --days 30` writes the shop (orders, lines, status steps, refunds, customer moves,
product changes), until the slot hdp_lake has confirmed the WAL end; then `hdp run compact`;
then, each on its own:
  * the peer loads a slice of the same curated files into database dwh_peer (same DDL),
  * COPY of N narrow rows into a scratch database (the ceiling PostgreSQL itself sets),
  * `hdp run vault` into the empty vault of dwh, under /usr/bin/time -v, while
    pg_stat_activity of dwh is sampled (what its backend waits on) and the backend's CPU
    is read from /proc.
Writes bench/results/vault-load-<date>[-quick].md and .json."""
import argparse
import datetime
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
from benchenv import (cpu_s, ensure_requirements, log, machine as machine_info,  # noqa: E402
                      perf_record, perf_stop, perf_top)

ensure_requirements()
import psycopg2  # noqa: E402

from stack import HDP, Stack  # noqa: E402

PEER = os.path.join(BENCH, "peers", "vault_rowbyrow.py")
DWH_SQL = os.path.join(ROOT, "sql", "postgres", "dwh.sql")
GOAL_ORDERS_S = 50_000
GOAL_FACTOR = 50
SUMMARY = re.compile(r"generate: (\d+) orders, (\d+) items, (\d+) shipped, (\d+) delivered, "
                     r"(\d+) refunded; .*?(\d+) customers moved, (\d+) products changed; "
                     r"([\d.]+) s")


# --------------------------------------------------------------------------- the lake

def wait_slot(st, slot, timeout=1800, proc=None):
    """Seconds until `slot` confirmed the WAL end as of the call."""
    target = st.query("SELECT pg_current_wal_lsn()::text")[0][0]
    t0 = time.monotonic()
    while not st.query("SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots "
                       "WHERE slot_name = %s", (target, slot))[0][0]:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"hdp capture exited {proc.returncode}")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{slot} did not reach {target} in {timeout} s")
        time.sleep(0.1)
    return time.monotonic() - t0


def curated_rows(lake):
    """Rows per table in the newest manifest of each table."""
    out = {}
    mdir = os.path.join(lake, "curated", "_manifests")
    for table in sorted(os.listdir(mdir)):
        newest = sorted(f for f in os.listdir(os.path.join(mdir, table)) if f.endswith(".json"))
        with open(os.path.join(mdir, table, newest[-1])) as f:
            m = json.load(f)
        out[table] = {"rows": sum(x["rows"] for x in m["files"]), "files": len(m["files"]),
                      "bytes": sum(x["bytes"] for x in m["files"])}
    return out


def make_lake(st, orders, seed):
    res = {}
    cap = st.spawn("capture", "capture")
    t0 = time.monotonic()
    out = st.hdp("generate", "--orders", str(orders), "--days", "30", "--seed", str(seed))
    res["generate_s"] = round(time.monotonic() - t0, 2)
    log(out.strip())
    m = SUMMARY.search(out)
    if m:
        res["generated"] = dict(zip(("orders", "items", "shipped", "delivered", "refunded",
                                     "customers_moved", "products_changed"),
                                    map(int, m.groups()[:7])))
    res["capture_tail_s"] = round(wait_slot(st, "hdp_lake", proc=cap), 2)
    st.stop(cap)
    t0 = time.monotonic()
    out = st.hdp("run", "compact")
    res["compact_s"] = round(time.monotonic() - t0, 2)
    res["compact"] = out.strip()
    log(out.strip())
    return res


def grow_lake(st, orders, seed):
    """The increment: `hdp generate` of `orders` more orders while `hdp capture` runs, until
    its slot confirmed the WAL end, then `hdp run compact` (new curated files only)."""
    return make_lake(st, orders, seed)


def settle(st):
    """Lets the server go quiet before a timed section: the generator's dead tuples vacuumed
    (else autovacuum of shop competes for the CPUs), then a checkpoint."""
    t0 = time.monotonic()
    st.pg.psql("shop", "VACUUM ANALYZE")
    st.pg.psql("postgres", "CHECKPOINT")
    return round(time.monotonic() - t0, 2)


# --------------------------------------------------------------------------- the peer

def run_peer(st, lake, n):
    st.pg.psql("postgres", "DROP DATABASE IF EXISTS dwh_peer")
    st.pg.psql("postgres", "CREATE DATABASE dwh_peer")
    st.pg.psql("dwh_peer", file=DWH_SQL)
    settle(st)
    log(f"peer: row-by-row load of a {n:,}-order slice into dwh_peer")
    p = subprocess.run([sys.executable, PEER, "--lake", lake, "--dsn", st.pg.dsn("dwh_peer"),
                        "--orders", str(n)], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"peer failed: {p.stderr[-2000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    log(f"peer: {res}")
    return res


# --------------------------------------------------------------------------- COPY baseline

def copy_baseline(st, n):
    """COPY FROM STDIN of n rows (bytea, bigint, timestamptz, text) — the shape of a hub row,
    the bytea an MD5 like a hash key — into a logged table, once without an index and once
    with a bytea primary key. n is as many rows as hdp's load inserted into hubs, links and
    satellites. The data is written to a file first; only the COPY is timed."""
    st.pg.psql("postgres", "DROP DATABASE IF EXISTS copybench")
    st.pg.psql("postgres", "CREATE DATABASE copybench")
    path = os.path.join(st.dir, "copy.tsv")
    with open(path, "w") as f:
        for i in range(n):
            f.write("\\\\x%s\t%d\t2026-11-24 10:00:00.%06d+00\tshop.orders\n"
                    % (hashlib.md5(b"%d" % i).hexdigest(), i, i % 1000000))
    settled = settle(st)
    c = psycopg2.connect(st.pg.dsn("copybench"))
    out = {"rows": n, "logged": True, "settle_s": settled}
    with c.cursor() as cur:
        for name, ddl in (("no_index", ""), ("bytea_pk", ", PRIMARY KEY (hk)")):
            cur.execute(f"CREATE TABLE t_{name} (hk bytea NOT NULL, id bigint NOT NULL, "
                        f"load_dts timestamptz NOT NULL, record_source text NOT NULL{ddl})")
            c.commit()
            with open(path) as f:
                t0 = time.monotonic()
                cur.copy_expert(f"COPY t_{name} FROM STDIN", f, size=1 << 20)
                c.commit()
                secs = time.monotonic() - t0
            out[name] = {"seconds": round(secs, 3), "rows_per_s": round(n / secs)}
            log(f"COPY {n:,} rows, {name}: {secs:.2f} s, {n / secs:,.0f} rows/s")
    c.close()
    os.unlink(path)
    st.pg.psql("postgres", "DROP DATABASE copybench")
    return out


# --------------------------------------------------------------------------- hdp run vault

def vault_available(st):
    r = subprocess.run([HDP, "run", "--help"], env=st.env, capture_output=True, text=True)
    return re.search(r"^\s+vault\b", r.stdout + r.stderr, re.M) is not None


class ActivitySampler:
    """Samples pg_stat_activity of database dwh every `interval` s in a thread: what the
    loader's backends are doing (state, wait event, statement head) and their CPU."""

    def __init__(self, dsn, interval=0.05):
        self.dsn, self.interval = dsn, interval
        self.samples = Counter()
        self.n = 0
        self.cpu0, self.cpu1 = {}, {}
        self._stop = threading.Event()

    def _run(self):
        c = psycopg2.connect(self.dsn)
        c.autocommit = True
        with c.cursor() as cur:
            while not self._stop.is_set():
                cur.execute("SELECT pid, state, coalesce(wait_event_type || ':' || wait_event, "
                            "'CPU'), left(regexp_replace(query, '\\s+', ' ', 'g'), 60) "
                            "FROM pg_stat_activity WHERE datname = 'dwh' AND pid <> "
                            "pg_backend_pid() AND backend_type = 'client backend'")
                for pid, state, wait, q in cur.fetchall():
                    if pid not in self.cpu0:
                        self.cpu0[pid] = cpu_s(pid)
                    cpu = cpu_s(pid)
                    if cpu is not None:
                        self.cpu1[pid] = cpu
                    if state == "active":
                        self.samples[(wait, q)] += 1
                self.n += 1
                time.sleep(self.interval)
        c.close()

    def __enter__(self):
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.th.join()

    def result(self):
        cpu = sum((self.cpu1.get(p) or 0) - (self.cpu0.get(p) or 0) for p in self.cpu0)
        return {"samples": self.n, "interval_s": self.interval,
                "backend_cpu_s": round(cpu, 2),
                "active": [{"wait": w, "query": q, "share": round(k / max(1, self.n), 3)}
                           for (w, q), k in self.samples.most_common(8)]}


VAULT_TABLES = ("hub_customer", "hub_product", "hub_order", "link_order_customer",
                "link_order_product", "sat_customer", "sat_product", "sat_order",
                "sat_order_line", "pit_customer", "pit_order")


def vault_counts(st, db):
    c = psycopg2.connect(st.pg.dsn(db))
    out = {}
    with c.cursor() as cur:
        for t in VAULT_TABLES:
            cur.execute(f"SELECT count(*) FROM vault.{t}")
            out[t] = cur.fetchone()[0]
    c.close()
    return out


def run_hdp_vault(st, empty=True):
    before = vault_counts(st, "dwh")
    if empty and any(before.values()):
        raise RuntimeError(f"the vault is not empty: {before}")
    settled = settle(st)
    log("hdp run vault into the " + ("empty vault" if empty else
                                      f"vault of {before['hub_order']:,} orders"))
    with ActivitySampler(st.pg.dsn("postgres")) as sampler:
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", HDP, "run", "vault"], env=st.env,
                           cwd=st.dir, capture_output=True, text=True)
        wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"hdp run vault exited {p.returncode}: {p.stderr[-2000:]}")
    log(p.stderr.strip()[:2000])

    def tv(label):
        m = re.search(rf"{label}: ([\d.]+)", p.stderr)
        return float(m[1]) if m else None

    res = {"wall_s": round(wall, 3), "peak_rss_mib": round(tv(r"Maximum resident set size "
                                                               r"\(kbytes\)") / 1024, 1),
           "hdp_cpu_s": round((tv(r"User time \(seconds\)") or 0) +
                              (tv(r"System time \(seconds\)") or 0), 2),
           "settle_s": settled, "stdout": p.stdout.strip(), "activity": sampler.result(),
           "vault_rows_before": before, "vault_rows": vault_counts(st, "dwh")}
    res["new_rows"] = {t: res["vault_rows"][t] - before[t] for t in VAULT_TABLES}
    log(f"hdp run vault: {p.stdout.strip()} ({wall:.2f} s)")
    return res


def profile(st):
    """A second, untimed `hdp run vault` into the emptied vault under `perf record -a`: the
    hottest symbols of hdp and of its PostgreSQL backend(s) (found by pg_stat_activity)."""
    st.pg.psql("dwh", "TRUNCATE " + ", ".join(f"vault.{t}" for t in VAULT_TABLES) +
               ", ops.quarantine, ops.load_file, ops.load_log RESTART IDENTITY")
    settle(st)
    data = os.path.join(st.dir, "vault.perf")
    with ActivitySampler(st.pg.dsn("postgres")) as sampler:
        perf = perf_record(data, ["-a"])
        time.sleep(0.5)
        p = subprocess.Popen([HDP, "run", "vault"], env=st.env, cwd=st.dir,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, err = p.communicate()
        perf_stop(perf)
    if p.returncode != 0:
        raise RuntimeError(f"hdp run vault exited {p.returncode}: {err[-1000:]}")
    backends = sorted(sampler.cpu0)
    res = {"loaded_orders": vault_counts(st, "dwh")["hub_order"],
           "split": sampler.result()["backend_cpu_s"],
           "hdp": perf_top(data, pids=[p.pid]),
           "postgres": perf_top(data, pids=backends) if backends else [],
           "postgres_by_dso": perf_top(data, pids=backends, sort="dso", limit=5)
           if backends else []}
    log(f"profile: {res}")
    return res


def slice_check(st, peer):
    """hdp's rows for the peer's slice (order ids 1..n are the lowest) next to the peer's."""
    n = peer["slice_orders"]
    rows = st.pg.psql("dwh", f"""
        WITH o AS (SELECT hk_order FROM vault.hub_order ORDER BY order_id LIMIT {n})
        SELECT (SELECT count(*) FROM o),
               (SELECT count(*) FROM vault.link_order_customer l JOIN o USING (hk_order)),
               (SELECT count(*) FROM vault.sat_order s JOIN o USING (hk_order)),
               (SELECT count(*) FROM vault.link_order_product l JOIN o USING (hk_order)),
               (SELECT count(*) FROM vault.sat_order_line s JOIN vault.link_order_product l
                  USING (hk_order_product) JOIN o USING (hk_order))""").strip().split("|")
    keys = ("hub_order", "link_order_customer", "sat_order", "link_order_product",
            "sat_order_line")
    return {k: {"hdp": int(v), "peer": peer["vault_rows"][k]} for k, v in zip(keys, rows)}


# --------------------------------------------------------------------------- report

def machine(st):
    return {**machine_info(), "postgres_server": st.query("SHOW server_version")[0][0],
            "psycopg2": psycopg2.__version__.split()[0],
            "postgres_settings": "wal_level=logical, fsync=off, max_wal_size=8GB, defaults "
                                 "otherwise (tests/integration/pgserver.py, bench/stack.py)",
            "disk": "local; lake is file:// in the work folder"}


def sat_rows(counts, pit):
    return sum(v for k, v in counts.items() if pit or not k.startswith("pit_"))


def summarize(res):
    """Fills res['summary'] (numbers for the table) from the measured sections."""
    s = {}
    n = res["orders"]
    peer = res.get("peer")
    if peer and "load_s" in peer:
        pr = sat_rows(peer["vault_rows"], False)
        s["peer"] = {"orders_per_s": peer["slice_orders"] / peer["load_s"],
                     "rows_per_s": pr / peer["load_s"],
                     "statements_per_s": peer["statements"] / peer["load_s"],
                     "scaled_s": peer["load_s"] * n / peer["slice_orders"]}
    h = res.get("hdp")
    if h and "wall_s" in h:
        o = h["vault_rows"]["hub_order"]
        s["hdp"] = {"orders": o, "orders_per_s": o / h["wall_s"],
                    "rows_per_s": sat_rows(h["vault_rows"], False) / h["wall_s"],
                    "rows_pit_per_s": sat_rows(h["vault_rows"], True) / h["wall_s"]}
        if "peer" in s:
            s["factor"] = s["hdp"]["orders_per_s"] / s["peer"]["orders_per_s"]
        cp = res.get("copy", {}).get("bytea_pk")
        if cp:
            s["copy_ratio"] = s["hdp"]["rows_per_s"] / cp["rows_per_s"]
    inc = res.get("increment", {}).get("load")
    if inc and "wall_s" in inc:
        o = inc["new_rows"]["hub_order"]
        s["increment"] = {"orders": o, "vault_orders_before": inc["vault_rows_before"]["hub_order"],
                          "orders_per_s": o / inc["wall_s"],
                          "rows_per_s": sat_rows(inc["new_rows"], False) / inc["wall_s"],
                          "peak_rss_mib": inc["peak_rss_mib"]}
    res["summary"] = s


def f0(x):
    return "n/a" if x is None else f"{x:,.0f}"


def report(res, path_md):
    s, m = res["summary"], res["machine"]
    h, peer, cp = res.get("hdp", {}), res.get("peer", {}), res.get("copy", {})
    n = res["orders"]
    lines = [f"# `hdp run vault` vs a row-by-row replica vs COPY — {res['started']}", "",
             f"Mode: {'quick' if res['quick'] else 'full'}; {n:,} orders generated "
             f"(`hdp generate --orders {n} --days 30 --seed {res['seed']}`), captured and "
             f"compacted; wall time of the whole run {res['wall_s']} s. "
             f"Raw data: `{os.path.basename(path_md)[:-3]}.json`.", "",
             "## Machine", ""]
    lines += [f"- **{k}**: {v}" for k, v in m.items()]
    lines += ["", "## Result", "",
              "| | wall s | orders/s | vault rows/s (no PIT) | × peer | peak RSS MiB |",
              "|---|---|---|---|---|---|"]
    if "hdp" in s:
        hs = s["hdp"]
        lines.append(f"| `hdp run vault`, {hs['orders']:,} orders | {h['wall_s']:.2f} | "
                     f"{f0(hs['orders_per_s'])} | {f0(hs['rows_per_s'])} "
                     f"({f0(hs['rows_pit_per_s'])} with PIT) | "
                     f"{s['factor']:.0f}× | {h['peak_rss_mib']} |" if "factor" in s else
                     f"| `hdp run vault`, {hs['orders']:,} orders | {h['wall_s']:.2f} | "
                     f"{f0(hs['orders_per_s'])} | {f0(hs['rows_per_s'])} "
                     f"({f0(hs['rows_pit_per_s'])} with PIT) | n/a | {h['peak_rss_mib']} |")
    else:
        lines.append(f"| `hdp run vault` | not measured: {h.get('error', 'n/a')} | | | | |")
    if "peer" in s:
        ps = s["peer"]
        lines.append(f"| peer (row-by-row replica), {peer['slice_orders']:,}-order slice | "
                     f"{peer['load_s']:.2f} (scaled to {n:,}: {ps['scaled_s']:,.0f}) | "
                     f"{f0(ps['orders_per_s'])} | {f0(ps['rows_per_s'])} | 1× | – |")
    for k, label in (("no_index", "no index"), ("bytea_pk", "bytea primary key")):
        if k in cp:
            lines.append(f"| PostgreSQL COPY, {cp['rows']:,} narrow rows, logged table, "
                         f"{label} | {cp[k]['seconds']:.2f} | – | {f0(cp[k]['rows_per_s'])} "
                         f"| – | – |")
    inc = s.get("increment")
    if inc:
        il = res["increment"]["load"]
        lines.append(f"| `hdp run vault`, {inc['orders']:,} new orders into a vault of "
                     f"{inc['vault_orders_before']:,} | {il['wall_s']:.2f} | "
                     f"{f0(inc['orders_per_s'])} | {f0(inc['rows_per_s'])} | – | "
                     f"{il['peak_rss_mib']} |")
    lines += ["", "| goal | measured | met |", "|---|---|---|"]
    if "hdp" in s:
        o = s["hdp"]["orders_per_s"]
        lines.append(f"| ≥ {GOAL_ORDERS_S:,} orders/s into the vault | {f0(o)} | "
                     f"{'met' if o >= GOAL_ORDERS_S else 'missed'} |")
        if "factor" in s:
            lines.append(f"| ≥ {GOAL_FACTOR}× the replica | {s['factor']:.0f}× | "
                         f"{'met' if s['factor'] >= GOAL_FACTOR else 'missed'} |")
        if "copy_ratio" in s:
            lines.append(f"| vault rows/s ≥ 2× COPY into a bytea-PK table | "
                         f"{s['copy_ratio']:.2f}× | {'met' if s['copy_ratio'] >= 2 else 'missed'} |")
        if inc:
            lines.append(f"| ≥ 25,000 orders/s for new orders into a loaded vault | "
                         f"{f0(inc['orders_per_s'])} | "
                         f"{'met' if inc['orders_per_s'] >= 25_000 else 'missed'} |")
        rss = max(h["peak_rss_mib"], inc["peak_rss_mib"] if inc else 0)
        lines.append(f"| peak RSS ≤ 512 MiB | {rss} MiB | {'met' if rss <= 512 else 'missed'} |")
    else:
        lines.append(f"| ≥ {GOAL_ORDERS_S:,} orders/s, ≥ {GOAL_FACTOR}× the replica | "
                     "not measured | – |")
    lines += ["", "## Rows", "", "| table | hdp (all orders) | peer (slice) |", "|---|---|---|"]
    for t in VAULT_TABLES:
        lines.append(f"| {t} | {f0(h.get('vault_rows', {}).get(t))} | "
                     f"{f0(peer.get('vault_rows', {}).get(t))} |")
    cur = res.get("lake", {}).get("curated", {})
    lines += ["", "Curated rows read (newest manifests): " +
              ", ".join(f"{t} {v['rows']:,} in {v['files']} file(s)" for t, v in cur.items()) +
              f"; {sum(v['rows'] for v in cur.values()):,} in all."]
    if "peer" in res and "source_rows" in peer:
        lines.append(f"Peer slice: the {peer['slice_orders']:,} orders with the lowest order_id "
                     "with every change row of them, their lines, their customers' and the "
                     "referenced products' change rows: " +
                     ", ".join(f"{t} {v:,}" for t, v in peer["source_rows"].items()) +
                     f" source rows, {peer['statements']:,} INSERTs (each committed); reading "
                     f"and choosing the slice ({peer['read_s']} s) is not in its time.")
    if res.get("slice_check"):
        lines += ["", "Same slice in hdp's vault (order ids 1..n) vs the peer: " +
                  ", ".join(f"{k} {v['hdp']:,} / {v['peer']:,}"
                            for k, v in res["slice_check"].items()) + "."]
    act = h.get("activity")
    if act:
        lines += ["", "## Where hdp's time goes", "",
                  f"hdp CPU {h['hdp_cpu_s']} s, its PostgreSQL backend(s) CPU "
                  f"{act['backend_cpu_s']} s, wall {h['wall_s']} s. pg_stat_activity of dwh "
                  f"every {int(act['interval_s'] * 1000)} ms ({act['samples']} samples), share "
                  "of samples with an active backend by wait event and statement:", ""]
        lines += [f"- {a['share'] * 100:.0f} % {a['wait']}: `{a['query']}`" for a in act["active"]]
    prof = res.get("profile")
    if prof and "hdp" in prof:
        lines += ["", f"`perf record -a` of a second, untimed run into the emptied vault "
                  f"({prof['loaded_orders']:,} orders loaded); its backend(s) used "
                  f"{prof['split']} s of CPU.", "", "hdp's hottest symbols:", ""]
        lines += [f"    {x}" for x in prof["hdp"]]
        lines += ["", "PostgreSQL's hottest symbols:", ""]
        lines += [f"    {x}" for x in prof["postgres"]]
    g = res.get("lake", {}).get("generated")
    lines += ["", "## Notes", ""]
    if g:
        lines.append(f"- The generator writes {g['items'] / g['orders']:.2f} lines per order "
                     f"({g['items']:,} for {g['orders']:,} orders), {g['shipped']:,} shipped, "
                     f"{g['delivered']:,} delivered, {g['refunded']:,} refunded, "
                     f"{g['customers_moved']:,} customer moves, {g['products_changed']:,} "
                     "product changes.")
    if "source_rows" in peer:
        dim = 2 * (peer["source_rows"]["customers"] + peer["source_rows"]["products"])
        lines.append(f"- Scaling the peer linearly counts its customer and product rows "
                     f"({dim:,} of its {peer['statements']:,} INSERTs) as if they grew with the "
                     "orders; they do not (the dimensions are a few thousand rows at any size), "
                     f"so the scaled time is up to {100 * dim / peer['statements']:.0f} % long.")
    lines += ["", "## Method", "",
              "- One private PostgreSQL (bench/stack.py); lake on local disk (file://). "
              "`hdp capture` runs during `hdp generate` until slot hdp_lake has confirmed the WAL "
              "end; then `hdp run compact`. Generation, capture and compaction are not timed "
              "as part of the load.",
              "- hdp: `/usr/bin/time -v hdp run vault` into the empty vault of dwh (schema from "
              "`hdp init`, sql/postgres/dwh.sql); wall time includes process start, reading the "
              "manifests and Parquet, and the commit. orders/s = rows of vault.hub_order / wall "
              "s; vault rows/s = rows of every hub, link and satellite / wall s (and with "
              "pit_* added).",
              "- Peer: `bench/peers/vault_rowbyrow.py` on the slice into database dwh_peer "
              "(same DDL), one `INSERT ... ON CONFLICT DO NOTHING` per hub/link/satellite row, "
              "a commit after each; scaled linearly to the full order count.",
              "- COPY: `COPY ... FROM STDIN` through psycopg2 of as many rows as hdp's load "
              "inserted into hubs, links and satellites (bytea 16 B, bigint, timestamptz, text) "
              "into a logged table, once without an index and once with a bytea primary key, "
              "data written to a file first.",
              "- Increment: `hdp generate` of more orders (another seed) while `hdp capture` "
              "runs, `hdp run compact`, then `hdp run vault` into the loaded vault, timed the "
              "same way; orders/s = new rows of vault.hub_order / wall s.",
              "- One run each; the same PostgreSQL server serves all three, one after the other."]
    with open(path_md, "w") as f:
        f.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=None, help="orders to load (1000000)")
    ap.add_argument("--peer-orders", type=int, default=None, help="peer slice (20000)")
    ap.add_argument("--quick", action="store_true",
                    help="small run: 50,000 orders, a 2,000-order peer slice")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--segment-seconds", type=int, default=5,
                    help="HDP_SEGMENT_SECONDS for capture (short: the tail closes sooner)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder (lake, logs)")
    ap.add_argument("--increment", type=int, default=None,
                    help="then N more orders into the loaded vault (100000; quick 5000; 0: none)")
    ap.add_argument("--copy-rows", type=int, default=None,
                    help="rows of the COPY baseline (default: as many as hdp's load inserted)")
    ap.add_argument("--profile", "--perf", dest="perf", action="store_true",
                    help="afterwards, profile a second (untimed) hdp run vault with perf")
    a = ap.parse_args()
    a.orders = a.orders or (50_000 if a.quick else 1_000_000)
    if a.increment is None:
        a.increment = 5_000 if a.quick else 100_000
    a.peer_orders = min(a.orders, a.peer_orders or (2_000 if a.quick else 20_000))
    if not os.access(HDP, os.X_OK):
        sys.exit(f"bench: {HDP} not built (run make)")

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = datetime.datetime.now(datetime.timezone.utc)
    res = {"started": started.strftime("%Y-%m-%d %H:%M:%S UTC"), "quick": a.quick,
           "orders": a.orders, "peer_orders": a.peer_orders, "seed": a.seed}
    t0 = time.monotonic()
    work = tempfile.mkdtemp(prefix="hdp-bench-vault-")
    lake = os.path.join(work, "lake")
    try:
        with Stack(work, log=log, env={"HDP_SEGMENT_SECONDS": str(a.segment_seconds)}) as st:
            res["machine"] = machine(st)
            st.query("SELECT pg_drop_replication_slot('hdp_speed')")  # no speed layer here
            res["lake"] = make_lake(st, a.orders, a.seed)
            res["lake"]["curated"] = curated_rows(lake)

            def copy_rows():
                if a.copy_rows:
                    return a.copy_rows
                if "vault_rows" in res.get("hdp", {}):
                    return sat_rows(res["hdp"]["vault_rows"], False)
                return a.orders * 8

            def increment():
                out = {"lake": grow_lake(st, a.increment, a.seed + 1)}
                out["load"] = run_hdp_vault(st, empty=False)
                return out

            steps = [("peer", lambda: run_peer(st, lake, a.peer_orders)),
                     ("hdp", lambda: run_hdp_vault(st) if vault_available(st) else
                      {"error": "this build has no `hdp run vault`"}),
                     ("copy", lambda: copy_baseline(st, copy_rows()))]
            for name, fn in steps:
                try:
                    res[name] = fn()
                except KeyboardInterrupt:
                    raise
                except Exception as e:
                    log(f"{name}: FAILED: {e}")
                    res[name] = {"error": str(e)}
            if "vault_rows" in res["hdp"] and "vault_rows" in res["peer"]:
                res["slice_check"] = slice_check(st, res["peer"])
            if a.increment and "vault_rows" in res["hdp"]:
                try:
                    res["increment"] = increment()
                except KeyboardInterrupt:
                    raise
                except Exception as e:
                    log(f"increment: FAILED: {e}")
                    res["increment"] = {"error": str(e)}
            if a.perf and "vault_rows" in res["hdp"]:
                try:
                    res["profile"] = profile(st)
                except Exception as e:
                    log(f"profile: FAILED: {e}")
                    res["profile"] = {"error": str(e)}
    except KeyboardInterrupt:
        log("interrupted; stack stopped")
        sys.exit(130)
    finally:
        if a.keep:
            log(f"work folder kept: {work}")
        else:
            subprocess.run(["rm", "-rf", work])
    res["wall_s"] = round(time.monotonic() - t0, 1)
    summarize(res)
    os.makedirs(a.out, exist_ok=True)
    suffix = "-quick" if a.quick else "" if a.orders == 1_000_000 else f"-{a.orders}"
    stem = os.path.join(a.out, f"vault-load-{started.strftime('%Y-%m-%d')}{suffix}")
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=2, default=str)
    report(res, stem + ".md")
    print(open(stem + ".md").read())
    print(f"report: {os.path.relpath(stem + '.md', ROOT)}")
    return 0 if all("error" not in res.get(k, {}) for k in ("peer", "copy", "hdp",
                                                            "increment")) else 1


if __name__ == "__main__":
    sys.exit(main())
