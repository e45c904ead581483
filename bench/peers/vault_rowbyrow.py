"""A replica of the original platform's vault loader, the peer of `hdp run vault` in
bench/vault_load.py: Python, psycopg2, one `INSERT ... ON CONFLICT DO NOTHING` per hub, link
and satellite row, a commit after each, as the original did.

    python bench/peers/vault_rowbyrow.py --lake DIR --dsn DSN [--orders 20000]

Reads the curated Parquet files of the lake at DIR (the files listed by the newest manifest
curated/_manifests/<table>/vNNNNNNNNNN.json of each table, src/batch/manifest.h) and loads a
slice into the vault schema of DSN (an empty database made with sql/postgres/dwh.sql):

  * the --orders orders with the lowest order_ids, every change row of them (insert, status
    updates, refunds), their order lines, every change row of their customers and of the
    products their lines reference.

Hash keys and hashdiffs are computed here by the standard in the header of
sql/postgres/dwh.sql (MD5 over parts as text, trimmed of spaces/tabs/CR/LF, ASCII upper-cased,
joined with '||', NULL as '^^'). Per source row, in (commit_lsn, seq) order, table by table
(customers, products, orders, order_items):

  customers   hub_customer, sat_customer
  products    hub_product, sat_product
  orders      hub_order, hub_customer, link_order_customer, sat_order
  order_items hub_order, hub_product, link_order_product, sat_order_line

load_dts is the change's commit_ts, record_source 'shop.<table>'. No satellite change
detection beyond the primary key (hk, load_dts) conflict, no PIT tables, no load log.

Prints one JSON object: slice sizes, statements, seconds of the load (reading the Parquet and
choosing the slice are timed separately), and the row count of every vault table after it."""
import argparse
import datetime
import glob
import hashlib
import json
import os
import time

import psycopg2
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

TABLES = ("customers", "products", "orders", "order_items")
ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
VAULT = ("hub_customer", "hub_product", "hub_order", "link_order_customer",
         "link_order_product", "sat_customer", "sat_product", "sat_order", "sat_order_line",
         "pit_customer", "pit_order")


# --------------------------------------------------------------------------- hashing

def text(v):
    """A part as the standard's text: integers decimal, money two decimals, timestamps
    ISO-8601 UTC with microseconds, booleans true/false; None stays None."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, datetime.datetime):
        return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, int):
        return str(v)
    if hasattr(v, "quantize"):  # Decimal: money, numeric(12,2)
        return f"{v:.2f}"
    return str(v)


def md5(*parts):
    """16-byte MD5 of the parts joined by the standard."""
    s = "||".join("^^" if t is None else t.strip(" \t\r\n").translate(ASCII_UPPER)
                  for t in map(text, parts))
    return hashlib.md5(s.encode("utf-8")).digest()


# --------------------------------------------------------------------------- reading

def newest_manifest(lake, table):
    paths = sorted(glob.glob(os.path.join(lake, "curated", "_manifests", table, "v*.json")))
    if not paths:
        raise SystemExit(f"vault_rowbyrow: no manifest for {table} in {lake}")
    with open(paths[-1]) as f:
        return json.load(f)


def read_table(lake, table):
    m = newest_manifest(lake, table)
    parts = [pq.read_table(os.path.join(lake, f["key"])) for f in m["files"]]
    return pa.concat_tables(parts) if parts else None


def select_slice(lake, n_orders):
    """The slice as lists of row dicts per table, each in (commit_lsn, seq) order."""
    t = {name: read_table(lake, name) for name in TABLES}
    o = t["orders"]
    ids = pc.unique(o.filter(pc.equal(o["op"], "I"))["order_id"]).sort()[:n_orders]
    o = o.filter(pc.is_in(o["order_id"], value_set=ids))
    it = t["order_items"].filter(pc.is_in(t["order_items"]["order_id"], value_set=ids))
    cust = pc.unique(o["customer_id"])
    prod = pc.unique(it["product_id"])
    c = t["customers"].filter(pc.is_in(t["customers"]["customer_id"], value_set=cust))
    p = t["products"].filter(pc.is_in(t["products"]["product_id"], value_set=prod))
    order = [("commit_lsn", "ascending"), ("seq", "ascending")]
    return {"customers": c.sort_by(order).to_pylist(), "products": p.sort_by(order).to_pylist(),
            "orders": o.sort_by(order).to_pylist(), "order_items": it.sort_by(order).to_pylist()}


# --------------------------------------------------------------------------- loading

SQL = {
    "hub_customer": "INSERT INTO vault.hub_customer (hk_customer, customer_id, load_dts, "
                    "record_source) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "hub_product": "INSERT INTO vault.hub_product (hk_product, product_id, load_dts, "
                   "record_source) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "hub_order": "INSERT INTO vault.hub_order (hk_order, order_id, load_dts, record_source) "
                 "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "link_order_customer": "INSERT INTO vault.link_order_customer (hk_order_customer, hk_order, "
                           "hk_customer, load_dts, record_source) VALUES (%s, %s, %s, %s, %s) "
                           "ON CONFLICT DO NOTHING",
    "link_order_product": "INSERT INTO vault.link_order_product (hk_order_product, hk_order, "
                          "hk_product, line_no, load_dts, record_source) "
                          "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "sat_customer": "INSERT INTO vault.sat_customer (hk_customer, load_dts, hashdiff, name, "
                    "email, city, country, is_deleted, record_source, source_lsn, source_seq) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "sat_product": "INSERT INTO vault.sat_product (hk_product, load_dts, hashdiff, sku, name, "
                   "category, price, is_deleted, record_source, source_lsn, source_seq) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "sat_order": "INSERT INTO vault.sat_order (hk_order, load_dts, hashdiff, status, total, "
                 "currency, ship_city, created_at, paid_at, refunded_at, is_deleted, "
                 "record_source, source_lsn, source_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                 "%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "sat_order_line": "INSERT INTO vault.sat_order_line (hk_order_product, load_dts, hashdiff, "
                      "quantity, unit_price, is_deleted, record_source, source_lsn, source_seq) "
                      "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
}


def statements(table, r):
    """(sql key, params) for one source row, in the order the original issued them."""
    B = psycopg2.Binary
    ts, src, lsn, seq = r["commit_ts"], "shop." + table, r["commit_lsn"], r["seq"]
    dele = r["op"] == "D"
    g = (lambda k: None) if dele else r.get
    if table == "customers":
        hk = md5(r["customer_id"])
        attrs = (g("name"), g("email"), g("city"), g("country"))
        yield "hub_customer", (B(hk), r["customer_id"], ts, src)
        yield "sat_customer", (B(hk), ts, B(md5(*attrs, dele)), *attrs, dele, src, lsn, seq)
    elif table == "products":
        hk = md5(r["product_id"])
        attrs = (g("sku"), g("name"), g("category"), g("price"))
        yield "hub_product", (B(hk), r["product_id"], ts, src)
        yield "sat_product", (B(hk), ts, B(md5(*attrs, dele)), *attrs, dele, src, lsn, seq)
    elif table == "orders":
        hk, hc = md5(r["order_id"]), md5(r["customer_id"])
        attrs = (g("status"), g("total"), g("currency"), g("ship_city"), g("created_at"),
                 g("paid_at"), g("refunded_at"))
        yield "hub_order", (B(hk), r["order_id"], ts, src)
        if r["customer_id"] is not None:
            yield "hub_customer", (B(hc), r["customer_id"], ts, src)
            yield "link_order_customer", (B(md5(r["order_id"], r["customer_id"])), B(hk), B(hc),
                                          ts, src)
        yield "sat_order", (B(hk), ts, B(md5(*attrs, dele)), *attrs, dele, src, lsn, seq)
    else:
        ho = md5(r["order_id"])
        if r["product_id"] is None:  # a DELETE carries the key only; the line's link exists
            return
        hp = md5(r["product_id"])
        hl = md5(r["order_id"], r["product_id"], r["line_no"])
        attrs = (g("quantity"), g("unit_price"))
        yield "hub_order", (B(ho), r["order_id"], ts, src)
        yield "hub_product", (B(hp), r["product_id"], ts, src)
        yield "link_order_product", (B(hl), B(ho), B(hp), r["line_no"], ts, src)
        yield "sat_order_line", (B(hl), ts, B(md5(*attrs, dele)), *attrs, dele, src, lsn, seq)


def load(conn, rows):
    n = 0
    with conn.cursor() as cur:
        for table in TABLES:
            for r in rows[table]:
                for key, params in statements(table, r):
                    cur.execute(SQL[key], params)
                    conn.commit()
                    n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", required=True, help="folder of the file:// lake")
    ap.add_argument("--dsn", required=True, help="database with an empty vault schema")
    ap.add_argument("--orders", type=int, default=20000, help="orders in the slice")
    a = ap.parse_args()
    t0 = time.monotonic()
    rows = select_slice(a.lake, a.orders)
    read_s = time.monotonic() - t0
    conn = psycopg2.connect(a.dsn)
    t0 = time.monotonic()
    n = load(conn, rows)
    load_s = time.monotonic() - t0
    with conn.cursor() as cur:
        counts = {}
        for t in VAULT:
            cur.execute(f"SELECT count(*) FROM vault.{t}")
            counts[t] = cur.fetchone()[0]
    conn.close()
    orders = len({r["order_id"] for r in rows["orders"]})
    print(json.dumps({"slice_orders": orders,
                      "source_rows": {t: len(rows[t]) for t in TABLES},
                      "statements": n, "read_s": round(read_s, 3), "load_s": round(load_s, 3),
                      "vault_rows": counts}))


if __name__ == "__main__":
    main()
