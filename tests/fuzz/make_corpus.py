"""Writes the generated seeds of the fuzz corpora (tests/fuzz/corpus/<target>/gen-*).

    .venv/bin/python tests/fuzz/make_corpus.py      # from the repository root

* pgoutput: the recorded PostgreSQL 15 session (tests/unit/data/pgoutput/session.hex) in the
  target's framing (2-byte big-endian length, then the bytes), bare and inside XLogData
  frames, plus keepalives.
* parquet: small files by pyarrow (every type the reader maps, NULLs, REQUIRED columns,
  none/snappy/zstd, dictionary on and off, data pages v1 and v2, several row groups) and by
  hdp's own writer (tests/tools/pqtool.c, built here against build/libhdp.a).
* thrift: the footers and the first page headers of those Parquet files.

The other seeds (real raw lines, manifests and markers of a test lake, S3 answers, API
queries, .env files) are plain files committed as they are. Outputs are deterministic:
re-running rewrites the same bytes (pyarrow's created_by names its version).
"""
import datetime
import decimal
import os
import pathlib
import struct
import subprocess
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests/fuzz/corpus"


def frame(pieces):
    return b"".join(struct.pack(">H", len(p)) + p for p in pieces)


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("gen-" + name)).write_bytes(data)


def session_messages():
    msgs = []
    for line in (ROOT / "tests/unit/data/pgoutput/session.hex").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            msgs.append(bytes.fromhex(line))
    return msgs


def xlogdata(msg, lsn):
    return b"w" + struct.pack(">QQq", lsn, lsn + len(msg), 817000000000000) + msg


def pgoutput_seeds():
    msgs = session_messages()
    write("pgoutput", "session.bin", frame(msgs))
    lsn = 0x197D7D8
    frames = []
    for i, m in enumerate(msgs):
        frames.append(xlogdata(m, lsn))
        lsn += len(m)
        if i % 5 == 4:
            frames.append(b"k" + struct.pack(">Qq", lsn, 817000000000000) + bytes([i % 2]))
    write("pgoutput", "session-frames.bin", frame(frames))
    # the relations, then each change alone: small seeds the fuzzer mutates quickly
    rels = [m for m in msgs if m[:1] in (b"R", b"Y")]
    for kind in b"IUDT":
        first = next((m for m in msgs if m[0] == kind), None)
        if first is not None:
            write("pgoutput", "rel-%s.bin" % chr(kind), frame(rels + [first]))
    write("pgoutput", "begin-commit.bin", frame([m for m in msgs if m[:1] in (b"B", b"C")][:2]))


def utc(*a):
    return datetime.datetime(*a, tzinfo=datetime.timezone.utc)


def pyarrow_table(n):
    D = decimal.Decimal
    return pa.table({
        "id": pa.array([i * 7 - 3 for i in range(n)], pa.int64()),
        "small": pa.array([None if i % 3 == 0 else i - 2 for i in range(n)], pa.int32()),
        "tiny": pa.array([i % 100 - 50 for i in range(n)], pa.int8()),
        "flag": pa.array([None if i % 4 == 1 else i % 2 == 0 for i in range(n)], pa.bool_()),
        "name": pa.array([None if i % 5 == 2 else "Z\u00fcrich %d" % (i % 3) for i in range(n)]),
        "total": pa.array([None if i % 6 == 5 else D(i * 1234 - 5000) / 100 for i in range(n)],
                          pa.decimal128(12, 2)),
        "wide": pa.array([D(i) / 1000 for i in range(n)], pa.decimal128(30, 3)),
        "at_us": pa.array([utc(2026, 11, 23, 13, i % 60, 1, i * 1000) for i in range(n)],
                          pa.timestamp("us", tz="UTC")),
        "at_ms": pa.array([utc(1969, 12, 31, 23, 59, i % 60) for i in range(n)],
                          pa.timestamp("ms")),
        "at_ns": pa.array([None if i % 2 else utc(2000, 1, 1, 0, 0, i % 60) for i in range(n)],
                          pa.timestamp("ns", tz="UTC")),
    })


def parquet_seeds():
    t = pyarrow_table(40)
    required = pa.table({"k": pa.array(range(20), pa.int64()),
                         "s": pa.array(["a", "bb", "a", "ccc"] * 5)},
                        schema=pa.schema([pa.field("k", pa.int64(), nullable=False),
                                          pa.field("s", pa.string(), nullable=False)]))
    variants = [
        ("pa-none-dict-v1", t, dict(compression="none", use_dictionary=True)),
        ("pa-snappy-plain-v1", t, dict(compression="snappy", use_dictionary=False)),
        ("pa-zstd-dict-v2", t, dict(compression="zstd", data_page_version="2.0")),
        ("pa-none-v2-rg", t, dict(compression="none", data_page_version="2.0",
                                  row_group_size=15, use_dictionary=False)),
        ("pa-required", required, dict(compression="none")),
        ("pa-empty", t.slice(0, 0), dict(compression="none")),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, table, kw in variants:
            path = os.path.join(tmp, name + ".parquet")
            pq.write_table(table, path, write_statistics=True, **kw)
            write("parquet", name + ".parquet", pathlib.Path(path).read_bytes())
        for name, tsv, codec, rg in hdp_tables():
            path = os.path.join(tmp, name + ".parquet")
            subprocess.run([pqtool(tmp), "write", path, codec, str(rg)], input=tsv.encode(),
                           check=True)
            write("parquet", name + ".parquet", pathlib.Path(path).read_bytes())


def hdp_tables():
    head = "id:int64\tn:int32\tok:bool\tprice:decimal(12,2)\tat:timestamp\ts:string\n"
    rows = []
    for i in range(30):
        rows.append("\t".join([
            str(i * 1000003 - 7), "\\N" if i % 4 == 0 else str(i - 15),
            "\\N" if i % 5 == 0 else ("true" if i % 2 else "false"),
            "\\N" if i % 7 == 3 else "%d.%02d" % (i * 13, i % 100),
            str(1795439107000000 + i * 1000001), "\\N" if i % 3 == 1 else "K\\tr\u00f3w %d" % (i % 4),
        ]))
    tsv = head + "\n".join(rows) + "\n"
    return [("hdp-none", tsv, "none", 1000), ("hdp-snappy-rg", tsv, "snappy", 8),
            ("hdp-zstd", tsv, "zstd", 1000)]


_PQTOOL = None


def pqtool(tmp):
    global _PQTOOL
    if _PQTOOL is None:
        subprocess.run(["make", "-s", "build/libhdp.a"], cwd=ROOT, check=True)
        libs = subprocess.run(["pkg-config", "--libs", "libzstd"], check=True,
                              capture_output=True, text=True).stdout.split()
        _PQTOOL = os.path.join(tmp, "pqtool")
        subprocess.run([os.environ.get("CC", "cc"), "-std=c17", "-D_GNU_SOURCE", "-O1",
                        "-I", str(ROOT / "src"), str(ROOT / "tests/tools/pqtool.c"),
                        str(ROOT / "build/libhdp.a"), "-o", _PQTOOL, *libs, "-lsnappy", "-lm"],
                       check=True)
    return _PQTOOL


def thrift_seeds():
    for f in sorted((CORPUS / "parquet").glob("*.parquet")):
        data = f.read_bytes()
        if len(data) < 12 or data[:4] != b"PAR1":
            continue
        flen = struct.unpack("<I", data[-8:-4])[0]
        write("thrift", f.stem.replace("gen-", "") + ".footer", data[-8 - flen:-8])
        write("thrift", f.stem.replace("gen-", "") + ".page", data[4:4 + 64])


if __name__ == "__main__":
    pgoutput_seeds()
    parquet_seeds()
    thrift_seeds()
