"""What PostgreSQL's walsender spends decoding a backlog for pgoutput, per lever of the speed
layer's catch-up goal (the performance issue, part 1): `orders` with REPLICA IDENTITY FULL
(today) or DEFAULT, and pgoutput's text or `binary` output. A measurement, not a test.

    .venv/bin/python bench/walsender_cost.py [--orders 100000]

One private PostgreSQL (bench/stack.py, `hdp init`). Two backlogs of N orders each written by
`hdp generate`: the first with the shop's REPLICA IDENTITY FULL, the second after ALTER TABLE
... REPLICA IDENTITY DEFAULT on every shop table. Before each backlog a slot is created; after
it, the backlog is decoded to its end LSN by pgoutput (pg_logical_slot_peek_binary_changes: the
walsender's decoding without the network, repeatable), one with text output and one with
binary=true. For each: wall seconds, the decoding backend's CPU seconds, the output bytes.
Writes walsender-<date>[-quick].md and .json into --out (bench/results)."""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, BENCH)
from benchenv import cpu_s, ensure_requirements, log  # noqa: E402

ensure_requirements()
import psycopg2  # noqa: E402

from stack import Stack  # noqa: E402

PUBLICATION = "hdp_pub"  # src/cdc/cdc.h CDC_PUBLICATION


def shop_tables(st):
    return [r[0] for r in st.query("SELECT format('%%I.%%I', schemaname, tablename) FROM "
                                   "pg_publication_tables WHERE pubname = %s", (PUBLICATION,))]


def create_slot(st, name):
    st.query("SELECT lsn::text FROM pg_create_logical_replication_slot(%s, 'pgoutput')", (name,))


def decode(st, slot, end_lsn, binary, reps=2):
    """The slot's backlog decoded by pgoutput in a backend of its own with
    pg_logical_slot_peek_binary_changes (the walsender's decoding machinery, without the
    network; peek leaves the slot where it is, so it repeats): the best of reps runs, wall
    seconds and that backend's CPU seconds from /proc."""
    opts = ["proto_version", "1", "publication_names", PUBLICATION]
    if binary:
        opts += ["binary", "true"]
    c = psycopg2.connect(st.pg.dsn("shop"))
    c.autocommit = True
    best = None
    with c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        for _ in range(reps):
            cpu0, t0 = cpu_s(pid), time.monotonic()
            cur.execute("SELECT count(*), coalesce(sum(length(data)), 0) FROM "
                        "pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, NULL"
                        + ", %s" * len(opts) + ")", (slot, end_lsn, *opts))
            msgs, nbytes = cur.fetchone()
            run = {"seconds": round(time.monotonic() - t0, 2),
                   "decode_cpu_s": round(cpu_s(pid) - cpu0, 2),
                   "messages": msgs, "output_bytes": int(nbytes)}
            if best is None or run["decode_cpu_s"] < best["decode_cpu_s"]:
                best = run
    c.close()
    return best


def drain(st, slot, end_lsn):
    """The slot's backlog through a real walsender: pg_recvlogical to /dev/null up to end_lsn
    (text output, as hdp reads it); the walsender's CPU seconds, sampled every 20 ms from /proc
    while it runs (the last 20 ms may be missed)."""
    pg = st.pg
    cmd = ["pg_recvlogical", "-d", pg.dsn("shop"), "-S", slot, "--start", "-E", end_lsn,
           "-f", "/dev/null", "--no-loop", "-o", "proto_version=1",
           "-o", f"publication_names={PUBLICATION}"]
    cpu = {}
    stop = threading.Event()

    def sample():
        c = psycopg2.connect(pg.dsn("postgres"))
        c.autocommit = True
        with c.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s",
                            (slot,))
                row = cur.fetchone()
                if row and row[0] and cpu_s(row[0]) is not None:
                    cpu[row[0]] = cpu_s(row[0])
                time.sleep(0.02)
        c.close()

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    secs = time.monotonic() - t0
    stop.set()
    th.join()
    if r.returncode != 0:
        raise RuntimeError(f"pg_recvlogical {slot}: {r.stderr.strip()[-500:]}")
    return {"seconds": round(secs, 2), "walsender_cpu_s": round(sum(cpu.values()), 2)}


def backlog(st, orders, seed, label):
    slot = f"bench_{label}"
    create_slot(st, slot)
    create_slot(st, slot + "_ws")
    start = st.query("SELECT pg_current_wal_lsn()::text")[0][0]
    t0 = time.monotonic()
    out = st.hdp("generate", "--orders", str(orders), "--days", "30", "--seed", str(seed))
    gen_s = time.monotonic() - t0
    log(out.strip())
    end = st.query("SELECT pg_current_wal_lsn()::text")[0][0]
    wal = st.query("SELECT pg_wal_lsn_diff(%s, %s)::bigint", (end, start))[0][0]
    st.pg.psql("postgres", "CHECKPOINT")
    res = {"orders": orders, "generate_s": round(gen_s, 2), "wal_bytes": int(wal)}
    for binary in (False, True):
        res[("binary" if binary else "text")] = d = decode(st, slot, end, binary)
        d["orders_per_s"] = round(orders / d["seconds"])
        log(f"{label} {'binary' if binary else 'text'}: {d}")
    res["walsender"] = d = drain(st, slot + "_ws", end)
    log(f"{label} through the walsender: {d}")
    for name in (slot, slot + "_ws"):
        st.query("SELECT pg_drop_replication_slot(%s)", (name,))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--quick", action="store_true", help="20,000 orders")
    ap.add_argument("--out", default=os.path.join(BENCH, "results"), help="folder of the report")
    args = ap.parse_args()
    if args.quick:
        args.orders = 20_000
    res = {"orders": args.orders,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    with tempfile.TemporaryDirectory(prefix="hdp-bench-wal-") as work:
        with Stack(os.path.join(work, "stack"), log=log) as st:
            res["full"] = backlog(st, args.orders, 21, "full")
            for t in shop_tables(st):
                st.pg.psql("shop", f"ALTER TABLE {t} REPLICA IDENTITY DEFAULT")
            res["default"] = backlog(st, args.orders, 22, "default")
    base = res["full"]["text"]["decode_cpu_s"] or 1
    L = [f"# Walsender decoding cost — {res['date']}", "",
         f"A backlog of {args.orders:,} orders (`hdp generate`), decoded by pgoutput (proto 1, "
         "publication hdp_pub) with pg_logical_slot_peek_binary_changes; best of 2.", "",
         "| replica identity | output | WAL MiB | output MiB | decode s | decode CPU s | vs today |",
         "|---|---|---|---|---|---|---|"]
    for ident in ("full", "default"):
        for out in ("text", "binary"):
            d = res[ident][out]
            L.append(f"| {ident.upper()} | {out} | {res[ident]['wal_bytes'] / 2**20:.1f} | "
                     f"{d['output_bytes'] / 2**20:.1f} | {d['seconds']} | {d['decode_cpu_s']} | "
                     f"{d['decode_cpu_s'] / base:.2f}× |")
    L += ["", "The same backlogs through a real walsender (pg_recvlogical to /dev/null, text):", "",
          "| replica identity | drain s | walsender CPU s | vs decoding alone |",
          "|---|---|---|---|"]
    for ident in ("full", "default"):
        d = res[ident]["walsender"]
        L.append(f"| {ident.upper()} | {d['seconds']} | {d['walsender_cpu_s']} | "
                 f"{d['walsender_cpu_s'] / (res[ident]['text']['decode_cpu_s'] or 1):.2f}× |")
    L += ["", "Today hdp runs FULL + text. hdp's pgoutput decoder does not read binary tuples "
          "yet (src/format/pgoutput.c refuses them), and DEFAULT needs the consumer to keep "
          "each order's paid day, refund day, total and city itself.", ""]
    stem = os.path.join(args.out,
                        f"walsender-{datetime.date.today().isoformat()}"
                        f"{'-quick' if args.quick else ''}")
    with open(stem + ".json", "w") as f:
        json.dump(res, f, indent=2)
    with open(stem + ".md", "w") as f:
        f.write("\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
