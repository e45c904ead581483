"""Parquet interoperability: hdp's writer against pyarrow and DuckDB readers, and hdp's reader
against files written by pyarrow and DuckDB. The C side is driven through tests/tools/pqtool.c,
compiled here against build/libhdp.a."""

import json
import os
import random
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

COLUMNS = [  # name, pqtool type, arrow type, duckdb type
    ("id", "int64", pa.int64(), "BIGINT"),
    ("amount", "decimal(12,2)", pa.decimal128(12, 2), "DECIMAL(12,2)"),
    ("ts", "timestamp", pa.timestamp("us", tz="UTC"), "TIMESTAMP WITH TIME ZONE"),
    ("name", "string", pa.string(), "VARCHAR"),
    ("flag", "bool", pa.bool_(), "BOOLEAN"),
    ("qty", "int32", pa.int32(), "INTEGER"),
]
NAMES = ["", "Zürich", "東京", "😀 emoji", 'quote " and \\ slash', "tab\there", "line\nbreak",
         "\\N", "plain"]


@pytest.fixture(scope="session")
def pqtool(tmp_path_factory):
    """Builds tests/tools/pqtool.c against build/libhdp.a with the project's warning flags."""
    subprocess.run(["make", "-s", "build/libhdp.a"], cwd=ROOT, check=True)
    out = tmp_path_factory.mktemp("pqtool") / "pqtool"
    libs = subprocess.run(["pkg-config", "--libs", "libzstd"], check=True, capture_output=True,
                          text=True).stdout.split()
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                    "-Wno-unused-parameter", "-O1", "-g", "-I", str(ROOT / "src"),
                    str(ROOT / "tests/tools/pqtool.c"), str(ROOT / "build/libhdp.a"),
                    "-o", str(out), *libs, "-lsnappy", "-lm"], check=True)
    return out


def make_rows(n, seed, extremes):
    """Rows as dicts of Python values; ts as µs integers. Every column has NULLs except id."""
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        ts = rnd.randrange(-(2**50), 2**52)
        if extremes and i % 97 == 1:
            ts = INT64_MIN
        if extremes and i % 97 == 2:
            ts = INT64_MAX
        row = {
            "id": i * 1000003 - 50 * 1000003,
            "amount": Decimal(rnd.randrange(-99999999999, 99999999999)) / 100,
            "ts": ts,
            "name": rnd.choice(NAMES) + (str(i) if i % 3 == 0 else ""),
            "flag": rnd.random() < 0.5,
            "qty": rnd.randrange(-(2**31), 2**31),
        }
        for col in ("amount", "ts", "name", "flag", "qty"):
            if rnd.random() < 0.15:
                row[col] = None
        rows.append(row)
    return rows


def tsv_escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def as_text(col, v):
    """How pqtool dump renders a value."""
    if v is None:
        return None
    if col == "flag":
        return "true" if v else "false"
    if col == "amount":
        return f"{v:.2f}"
    return str(v)


def write_hdp(pqtool, path, rows, codec, rg_rows, dict_max=0):
    lines = ["\t".join(f"{c}:{t}" for c, t, _, _ in COLUMNS)]
    for r in rows:
        cells = []
        for c, *_ in COLUMNS:
            v = r[c]
            cells.append("\\N" if v is None else tsv_escape(as_text(c, v)))
        lines.append("\t".join(cells))
    data = ("\n".join(lines) + "\n").encode()
    subprocess.run([str(pqtool), "write", str(path), codec, str(rg_rows), str(dict_max)],
                   input=data, check=True)


def dump(pqtool, path):
    out = subprocess.run([str(pqtool), "dump", str(path)], check=True, capture_output=True)
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def expected_text(rows):
    return [{c: as_text(c, r[c]) for c, *_ in COLUMNS} for r in rows]


def arrow_table(rows):
    return pa.table({c: pa.array([r[c] for r in rows],
                                 type=pa.int64() if c == "ts" else t).cast(t)
                     for c, _, t, _ in COLUMNS})


def chunk_stats(rows, col):
    vals = [r[col] for r in rows if r[col] is not None]
    if col == "name":
        vals = [v.encode() for v in vals]  # unsigned byte order
    if col == "amount":
        vals = [int(v * 100) for v in vals]
    nulls = sum(1 for r in rows if r[col] is None)
    return (min(vals), max(vals), nulls) if vals else (None, None, nulls)


# ------------------------------------------------------------------ hdp writes, others read

@pytest.mark.parametrize("codec", ["none", "snappy", "zstd"])
def test_hdp_file_read_by_pyarrow(pqtool, tmp_path, codec):
    rows = make_rows(1000, seed=1, extremes=True)
    f = tmp_path / "hdp.parquet"
    write_hdp(pqtool, f, rows, codec, rg_rows=300)

    pf = pq.ParquetFile(f)
    assert pf.metadata.created_by == "hdp version 0.1"
    assert pf.metadata.num_row_groups == 4
    table = pf.read()
    assert table.schema.types == [t for _, _, t, _ in COLUMNS]
    got = table.set_column(2, "ts", table.column("ts").cast(pa.int64())).to_pylist()
    assert got == rows

    codec_name = {"none": "UNCOMPRESSED", "snappy": "SNAPPY", "zstd": "ZSTD"}[codec]
    for g in range(pf.metadata.num_row_groups):
        part = rows[g * 300:(g + 1) * 300]
        rg = pf.metadata.row_group(g)
        assert rg.num_rows == len(part)
        for j, (col, *_) in enumerate(COLUMNS):
            cc = rg.column(j)
            assert cc.compression == codec_name
            st = cc.statistics
            assert st is not None and st.has_min_max
            lo, hi, nulls = chunk_stats(part, col)
            assert st.null_count == nulls
            if col == "name":
                assert (st.min_raw, st.max_raw) == (lo, hi)
            else:
                assert (st.min_raw, st.max_raw) == (lo, hi), col


@pytest.mark.parametrize("codec", ["none", "snappy", "zstd"])
def test_hdp_file_read_by_duckdb(pqtool, tmp_path, codec):
    rows = make_rows(700, seed=2, extremes=False)
    f = tmp_path / "hdp.parquet"
    write_hdp(pqtool, f, rows, codec, rg_rows=256)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    types = con.execute("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                        "read_parquet(?))", [str(f)]).fetchall()
    assert types == [(c, d) for c, _, _, d in COLUMNS]
    got = con.execute("SELECT id, amount, epoch_us(ts), name, flag, qty FROM read_parquet(?) "
                      "ORDER BY id", [str(f)]).fetchall()
    assert [dict(zip([c for c, *_ in COLUMNS], r)) for r in got] == rows
    stats = con.execute("SELECT row_group_id, path_in_schema, stats_null_count, "
                        "stats_min_value, stats_max_value FROM parquet_metadata(?) "
                        "ORDER BY row_group_id, column_id", [str(f)]).fetchall()
    for g, col, nulls, lo, hi in stats:
        part = rows[g * 256:(g + 1) * 256]
        elo, ehi, enulls = chunk_stats(part, col)
        assert nulls == enulls, col
        if col in ("id", "qty"):
            assert (int(lo), int(hi)) == (elo, ehi)
        if col == "name":
            assert (lo.encode(), hi.encode()) == (elo, ehi)


def test_hdp_dictionary_fallback_read_by_pyarrow(pqtool, tmp_path):
    rows = make_rows(3000, seed=3, extremes=False)
    for i, r in enumerate(rows):
        r["name"] = f"distinct-{i:06d}-Ω"
    f = tmp_path / "fallback.parquet"
    write_hdp(pqtool, f, rows, "zstd", rg_rows=1000, dict_max=4096)
    md = pq.ParquetFile(f).metadata
    first = md.row_group(0).column(3)
    assert first.has_dictionary_page and "RLE_DICTIONARY" in first.encodings
    assert not md.row_group(2).column(3).has_dictionary_page
    assert pq.read_table(f).column("name").to_pylist() == [r["name"] for r in rows]
    assert dump(pqtool, f) == expected_text(rows)


def test_hdp_single_entry_dictionary(pqtool, tmp_path):
    """One distinct string: dictionary indices have bit width 0, which readers must accept."""
    rows = make_rows(300, seed=7, extremes=False)
    for r in rows:
        r["name"] = None if r["id"] % 7 == 0 else "same"
    f = tmp_path / "one.parquet"
    write_hdp(pqtool, f, rows, "snappy", rg_rows=1000)
    assert pq.read_table(f).column("name").to_pylist() == [r["name"] for r in rows]
    got = duckdb.connect().execute("SELECT name FROM read_parquet(?) ORDER BY id",
                                   [str(f)]).fetchall()
    assert [g[0] for g in got] == [r["name"] for r in rows]
    assert dump(pqtool, f) == expected_text(rows)



def test_hdp_integer_dictionaries_read_by_pyarrow_and_duckdb(pqtool, tmp_path):
    """Integers of few distinct values (each physical type) are dictionary-encoded; a column
    that outgrows the dictionary goes PLAIN; unique ids get no dictionary. Both readers agree."""
    rows = make_rows(5000, seed=11, extremes=False)
    rnd = random.Random(12)
    for i, r in enumerate(rows):
        if r["qty"] is not None:
            r["qty"] = (-(2**31), 7, 2**31 - 1)[i % 3]
        if r["amount"] is not None:
            r["amount"] = Decimal(i % 5 - 2) / 100
        if r["ts"] is not None:  # few for the first row group and a half, then all distinct
            r["ts"] = (i % 4) * 86_400_000_000 - 10**12 if i < 3000 else rnd.randrange(2**52)
    f = tmp_path / "ints.parquet"
    write_hdp(pqtool, f, rows, "zstd", rg_rows=2000)
    md = pq.ParquetFile(f).metadata
    col = {c: j for j, (c, *_) in enumerate(COLUMNS)}
    for g in range(md.num_row_groups):
        for c in ("qty", "amount"):
            cc = md.row_group(g).column(col[c])
            assert cc.has_dictionary_page and "RLE_DICTIONARY" in cc.encodings, (g, c)
        assert not md.row_group(g).column(col["id"]).has_dictionary_page
    assert md.row_group(0).column(col["ts"]).has_dictionary_page
    table = pq.read_table(f)
    got = table.set_column(2, "ts", table.column("ts").cast(pa.int64())).to_pylist()
    assert got == rows
    con = duckdb.connect()
    got = con.execute("SELECT id, amount, epoch_us(ts), name, flag, qty FROM read_parquet(?) "
                      "ORDER BY id", [str(f)]).fetchall()
    assert [dict(zip([c for c, *_ in COLUMNS], r)) for r in got] == rows
    assert dump(pqtool, f) == expected_text(rows)

# ------------------------------------------------------------------ others write, hdp reads

@pytest.mark.parametrize("compression,use_dictionary,page_version", [
    ("zstd", True, "1.0"), ("zstd", False, "1.0"), ("snappy", True, "1.0"),
    ("snappy", False, "1.0"), ("none", True, "1.0"), ("zstd", True, "2.0"),
    ("snappy", False, "2.0"),
])
def test_pyarrow_file_read_by_pqtool(pqtool, tmp_path, compression, use_dictionary,
                                     page_version):
    rows = make_rows(1200, seed=4, extremes=True)
    f = tmp_path / "pa.parquet"
    pq.write_table(arrow_table(rows), f, compression=compression,
                   use_dictionary=use_dictionary, data_page_version=page_version,
                   row_group_size=500)
    assert dump(pqtool, f) == expected_text(rows)
    schema = subprocess.run([str(pqtool), "schema", str(f)], check=True, capture_output=True,
                            text=True).stdout.splitlines()
    assert schema == [f"{c} {t.replace('int64', 'int64')}" for c, t, _, _ in COLUMNS]
    # statistics written by pyarrow, decoded by hdp's reader
    stats = [json.loads(s) for s in subprocess.run(
        [str(pqtool), "stats", str(f)], check=True, capture_output=True).stdout.splitlines()]
    for s in stats:
        part = rows[s["rg"] * 500:(s["rg"] + 1) * 500]
        lo, hi, nulls = chunk_stats(part, s["col"])
        assert s["nulls"] == nulls
        if s["col"] in ("id", "qty", "ts"):
            assert (int(s["min"]), int(s["max"])) == (lo, hi)
        elif s["col"] == "amount":  # FIXED_LEN_BYTE_ARRAY, big-endian
            assert (Decimal(s["min"]) * 100, Decimal(s["max"]) * 100) == (lo, hi)
        elif s["col"] == "name":
            assert (s["min"].encode(), s["max"].encode()) == (lo, hi)
        else:
            assert (s["min"], s["max"]) == (str(int(lo)), str(int(hi)))


def test_duckdb_file_read_by_pqtool(pqtool, tmp_path):
    rows = make_rows(2500, seed=5, extremes=False)
    src = arrow_table(rows)  # noqa: F841 (DuckDB scans the local variable by name)
    f = tmp_path / "duck.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM src) TO '{f}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000)")
    assert pq.ParquetFile(f).metadata.num_row_groups >= 2
    got = dump(pqtool, f)
    assert sorted(got, key=lambda r: int(r["id"])) == expected_text(rows)


# ------------------------------------------------------------------ Spark (optional)

@pytest.fixture(scope="module")
def spark():
    pyspark_sql = pytest.importorskip("pyspark.sql")
    if shutil.which("java") is None:
        pytest.skip("no java")
    session = (pyspark_sql.SparkSession.builder.master("local[1]").appName("hdp-interop")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
    yield session
    session.stop()


@pytest.mark.parametrize("codec", ["snappy", "zstd"])
def test_hdp_file_read_by_spark(pqtool, tmp_path, spark, codec):
    rows = make_rows(600, seed=6, extremes=False)
    f = tmp_path / "hdp.parquet"
    write_hdp(pqtool, f, rows, codec, rg_rows=250, dict_max=2048)
    df = spark.read.parquet(str(f))
    assert df.schema.simpleString() == ("struct<id:bigint,amount:decimal(12,2),ts:timestamp,"
                                        "name:string,flag:boolean,qty:int>")
    got = df.selectExpr("id", "amount", "unix_micros(ts) AS ts", "name", "flag",
                        "qty").orderBy("id").collect()
    assert [r.asDict() for r in got] == rows
