"""Benchmark of `hdp run compact`: raw JSON Lines (the format of src/core/lake_layout.h) ->
Parquet, single-threaded, against DuckDB (threads=1 and default) and PySpark local[2].

    .venv/bin/python bench/lake_compact.py [--events 2000000] [--dir /tmp/hdp-bench-compact]

Makes a file:// lake with orders/order_items change events in segments of ~2,000 orders,
markers included, then times each engine converting the same raw objects to Parquet (zstd).
Wall time, MB/s of JSON in, rows/s, peak RSS (from /usr/bin/time -v), output bytes. Writes
bench/results/lake-compact-<date>.md. A report, not a test: nothing is asserted."""
import argparse
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HDP = os.path.join(ROOT, "build", "hdp")
CITIES = ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Zürich", "Wien", "Paris",
          "Lyon", "Madrid", "Roma", "Milano", "Praha", "Warszawa", "Kraków", "Oslo"]
ORDER_COLS = ("order_id BIGINT, customer_id BIGINT, status VARCHAR, currency VARCHAR, "
              "total DECIMAL(12,2), ship_city VARCHAR, created_at TIMESTAMPTZ, "
              "updated_at TIMESTAMPTZ, paid_at TIMESTAMPTZ, refunded_at TIMESTAMPTZ")
ITEM_COLS = ("order_id BIGINT, line_no INTEGER, product_id BIGINT, quantity INTEGER, "
             "unit_price DECIMAL(12,2)")
META_COLS = ("commit_lsn BIGINT, seq INTEGER, commit_ts TIMESTAMPTZ, xid BIGINT, segment BIGINT, "
             "op VARCHAR, \"table\" VARCHAR")


def ts(us):
    return datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


def make_lake(lake, events, seed=1):
    """Writes raw objects and markers; returns (bytes, events)."""
    rnd = random.Random(seed)
    shutil.rmtree(lake, ignore_errors=True)
    os.makedirs(os.path.join(lake, "raw", "_segments"))
    start_us = 1795392000 * 1000000  # 2026-11-23T00:00:00Z
    seg_seconds, per_seg = 60, 2000
    lsn, xid, order_id, n, total_bytes = 1000, 500, 1, 0, 0
    seg = start_us // (seg_seconds * 1000000)
    open_orders = []
    while n < events:
        day = datetime.datetime.fromtimestamp(seg * seg_seconds, datetime.timezone.utc).strftime(
            "%Y-%m-%d")
        out = {"orders": [], "order_items": []}
        first = {}
        for _ in range(per_seg):
            if n >= events:
                break
            lsn += rnd.randint(200, 4000)
            xid += 1
            cts = seg * seg_seconds * 1000000 + rnd.randint(0, seg_seconds * 1000000 - 1)
            meta = '{"commit_lsn":%d,"seq":%%d,"commit_ts":"%s","xid":%d,"segment":%d,"op":"%%s",' \
                   '"table":"%%s",' % (lsn, ts(cts), xid, seg)
            if open_orders and rnd.random() < 0.25:  # a status change of an earlier order
                o = open_orders.pop(rnd.randrange(len(open_orders)))
                line = (meta % (0, "U", "orders")) + o.replace("\"paid\"", "\"shipped\"")
                first.setdefault("orders", lsn)
                out["orders"].append(line)
                n += 1
                continue
            nitems = rnd.choice((1, 1, 2, 2, 3, 3, 4))
            prices = [rnd.randint(199, 25999) for _ in range(nitems)]
            qty = [rnd.randint(1, 3) for _ in range(nitems)]
            total = sum(p * q for p, q in zip(prices, qty))
            row = ('"order_id":%d,"customer_id":%d,"status":"paid","currency":"USD",'
                   '"total":"%d.%02d","ship_city":"%s","created_at":"%s","updated_at":"%s",'
                   '"paid_at":"%s","refunded_at":null}' % (
                       order_id, rnd.randint(1, 50000), total // 100, total % 100,
                       rnd.choice(CITIES), ts(cts), ts(cts), ts(cts)))
            out["orders"].append((meta % (0, "I", "orders")) + row)
            first.setdefault("orders", lsn)
            first.setdefault("order_items", lsn)
            open_orders.append(row)
            if len(open_orders) > 5000:
                open_orders.pop(0)
            for i in range(nitems):
                out["order_items"].append((meta % (i + 1, "I", "order_items")) + (
                    '"order_id":%d,"line_no":%d,"product_id":%d,"quantity":%d,'
                    '"unit_price":"%d.%02d"}' % (order_id, i + 1, rnd.randint(1, 500), qty[i],
                                                prices[i] // 100, prices[i] % 100)))
            order_id += 1
            n += 1 + nitems
        objs = []
        for table in sorted(out):
            if not out[table]:
                continue
            key = "raw/%s/dt=%s/%d-%d.jsonl" % (table, day, seg, first[table])
            data = ("\n".join(out[table]) + "\n").encode()
            path = os.path.join(lake, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            total_bytes += len(data)
            objs.append({"key": key, "rows": len(out[table]), "bytes": len(data)})
        with open(os.path.join(lake, "raw", "_segments", "%d.json" % seg), "w") as f:
            json.dump({"segment": seg, "first_lsn": 0, "last_lsn": lsn, "objects": objs}, f)
        seg += 1
    return total_bytes, n


def timed(cmd, env=None):
    """(wall seconds, peak RSS MiB, stdout) of a command under /usr/bin/time -v."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    return wall, rss / 1024, p.stdout


def du(path, suffix=".parquet"):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs
               if f.endswith(suffix))


DUCK = r"""
import duckdb, sys
lake, out, threads = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
if threads != "default":
    con.execute(f"SET threads = {threads}")
for table, cols in (("orders", sys.argv[4]), ("order_items", sys.argv[5])):
    con.execute(f"COPY (SELECT * FROM read_json('{lake}/raw/{table}/*/*.jsonl', "
                f"format='newline_delimited', columns={{{cols}}})) TO '{out}/{table}.parquet' "
                f"(FORMAT parquet, COMPRESSION zstd)")
"""

SPARK = r"""
import sys
from pyspark.sql import SparkSession
lake, out = sys.argv[1], sys.argv[2]
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.parquet.compression.codec", "zstd").getOrCreate())
for table, schema in (("orders", sys.argv[3]), ("order_items", sys.argv[4])):
    df = spark.read.schema(schema).json(f"{lake}/raw/{table}/*/*.jsonl")
    df.write.mode("overwrite").parquet(f"{out}/{table}")
spark.stop()
"""


def duck_cols(cols):
    parts = [c.strip().split(" ", 1) for c in re.split(r",(?![^()]*\))", cols)]
    return ", ".join("'%s': '%s'" % (n.strip('"'), t) for n, t in parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000000)
    ap.add_argument("--dir", default="/tmp/hdp-bench-compact")
    ap.add_argument("--no-spark", action="store_true")
    a = ap.parse_args()
    lake = os.path.join(a.dir, "lake")
    t0 = time.monotonic()
    nbytes, nev = make_lake(lake, a.events)
    print(f"lake: {nev} events, {nbytes / 1e6:.0f} MB JSON in {time.monotonic() - t0:.0f} s")
    mb = nbytes / 1e6
    results = []

    env = {k: v for k, v in os.environ.items() if not k.startswith("HDP_")}
    env.update(HDP_ENV_FILE=os.devnull, HDP_LAKE_URL=f"file://{lake}",
               HDP_VAR_DIR=os.path.join(a.dir, "var"))
    shutil.rmtree(os.path.join(lake, "curated"), ignore_errors=True)
    shutil.rmtree(os.path.join(lake, "_state"), ignore_errors=True)
    os.sync()
    wall, rss, out = timed([HDP, "run", "compact"], env)
    print(out.strip())
    results.append(("hdp run compact (1 thread)", wall, rss, du(os.path.join(lake, "curated"))))

    for threads in ("1", "default"):
        out_dir = os.path.join(a.dir, "duck-" + threads)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        cols = [duck_cols(META_COLS + ", " + c) for c in (ORDER_COLS, ITEM_COLS)]
        wall, rss, _ = timed([sys.executable, "-c", DUCK, lake, out_dir, threads] + cols)
        results.append((f"DuckDB threads={threads}", wall, rss, du(out_dir)))

    if not a.no_spark:
        out_dir = os.path.join(a.dir, "spark")
        shutil.rmtree(out_dir, ignore_errors=True)
        spark_schema = [(META_COLS + ", " + c).replace("VARCHAR", "STRING").replace(
            "TIMESTAMPTZ", "TIMESTAMP").replace('"table"', "`table`") for c in (ORDER_COLS, ITEM_COLS)]
        try:
            wall, rss, _ = timed([sys.executable, "-c", SPARK, lake, out_dir] + spark_schema)
            results.append(("PySpark local[2]", wall, rss, du(out_dir)))
        except RuntimeError as e:
            print(f"spark skipped: {e}")

    duck1 = next(r for r in results if r[0] == "DuckDB threads=1")
    lines = [f"# `hdp run compact` vs DuckDB vs PySpark — {datetime.date.today()}", "",
             f"Input: {nev:,} change events (orders + order_items, ~25 % order updates), "
             f"{mb:.0f} MB of JSON Lines in the raw format of `src/core/lake_layout.h`, "
             f"{len([1 for _ in os.scandir(os.path.join(lake, 'raw', '_segments'))])} segments; "
             f"file:// lake on local disk; machine: {os.cpu_count()} CPUs. Output: Parquet, zstd. "
             "Peak RSS from `/usr/bin/time -v` (for DuckDB/Spark it includes the Python/JVM "
             "process). One run each, page cache warm.", "",
             "| engine | wall s | MB/s JSON | rows/s | peak RSS MiB | output MB | vs DuckDB 1 thread |",
             "|---|---|---|---|---|---|---|"]
    for name, wall, rss, size in results:
        lines.append(f"| {name} | {wall:.2f} | {mb / wall:.0f} | {nev / wall:,.0f} | {rss:.0f} | "
                     f"{size / 1e6:.1f} | {duck1[1] / wall:.2f}× speed, "
                     f"{100 * size / duck1[3]:.0f} % size |")
    report = "\n".join(lines) + "\n"
    print(report)
    path = os.path.join(ROOT, "bench", "results", f"lake-compact-{datetime.date.today()}.md")
    with open(path, "w") as f:
        f.write(report)
    print("wrote", path)


if __name__ == "__main__":
    main()
