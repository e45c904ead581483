"""The lake end to end: generated orders -> PostgreSQL -> slot hdp_lake -> `hdp capture` (kill -9
twice) -> raw JSON Lines -> `hdp run compact` (twice) -> Parquet through manifests. Replaying the
`orders` changes from Parquet (latest per order_id by commit_lsn, seq) must give the source
table exactly; every customer and order line must be there as an insert; the raw zone is never
rewritten; a bad raw line is quarantined and counted while the rest is compacted. On a real S3
server (SeaweedFS, signatures checked) and on the file:// lake."""
import hashlib
import json
import os
import re
import threading
import time
from decimal import Decimal

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from s3server import s3  # noqa: F401  (pytest fixture)
from stack import Stack

ORDER_COLS = ["order_id", "customer_id", "status", "currency", "total", "ship_city",
              "created_at", "updated_at", "paid_at", "refunded_at"]


class Lake:
    """Reads (and, for the malformed-line case, writes) the lake behind a stack through
    pyarrow's filesystems, independently of hdp."""

    def __init__(self, fs, root):
        self.fs, self.root = fs, root.rstrip("/")

    def ls(self, prefix):
        sel = pafs.FileSelector(f"{self.root}/{prefix}", recursive=True, allow_not_found=True)
        n = len(self.root) + 1
        return sorted(i.path[n:] for i in self.fs.get_file_info(sel) if i.type == pafs.FileType.File)

    def get(self, key):
        with self.fs.open_input_stream(f"{self.root}/{key}") as f:
            return f.read()

    def put(self, key, data):
        if isinstance(self.fs, pafs.LocalFileSystem):
            self.fs.create_dir(os.path.dirname(f"{self.root}/{key}"), recursive=True)
        with self.fs.open_output_stream(f"{self.root}/{key}") as f:
            f.write(data)

    def table(self, key):
        return pq.read_table(f"{self.root}/{key}", filesystem=self.fs)

    def latest_manifest(self, table):
        keys = [k for k in self.ls(f"curated/_manifests/{table}/") if re.search(r"/v\d{10}\.json$", k)]
        return json.loads(self.get(keys[-1])) if keys else None

    def rows(self, table):
        m = self.latest_manifest(table)
        out = []
        for f in m["files"]:
            assert f["key"].startswith(f"curated/{table}/dt={f['dt']}/part-"), f
            out += self.table(f["key"]).to_pylist()
        return out

    def digests(self, prefix):
        return {k: hashlib.sha256(self.get(k)).hexdigest() for k in self.ls(prefix)}


def s3_lake(s3_server, bucket, prefix):
    fs = pafs.S3FileSystem(access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                           region=s3_server.region, scheme="http",
                           endpoint_override=s3_server.endpoint.replace("http://", ""))
    return Lake(fs, f"{bucket}/{prefix}")


def generate_with_capture_kills(stack, lake, kills, seed):
    """Backfill, then a live stream during which capture is killed -9 `kills` times."""
    stack.start("capture", "capture")
    stack.hdp("generate", "--orders", "20000", "--days", "3", "--seed", str(seed))
    stack.wait_caught_up(slot="hdp_lake", timeout=300)
    before = lake.digests("raw/")
    gen = threading.Thread(target=stack.hdp, args=("generate", "--rate", "800", "--duration",
                                                   "8", "--seed", str(seed + 1)))
    gen.start()
    for _ in range(kills):
        time.sleep(2.5)
        stack.kill9("capture")
        time.sleep(0.3)
        stack.start("capture", "capture")
    gen.join()
    stack.wait_caught_up(slot="hdp_lake", timeout=300)
    after = lake.digests("raw/")
    changed = [k for k, d in before.items() if after.get(k) != d]
    assert not changed, f"raw objects rewritten with other bytes: {changed[:5]}"
    assert len(after) > len(before)
    assert stack.log("capture").count("streaming slot hdp_lake") >= kills + 1


def summary(out):
    m = re.search(r"compact: (\d+) segment\(s\), (\d+) object\(s\), (\d+) row\(s\), (\d+) file\(s\), "
                  r"(\d+) quarantined, (\d+) manifest\(s\)", out.stdout)
    assert m, out.stdout + out.stderr
    return dict(zip(["segments", "objects", "rows", "files", "quarantined", "manifests"],
                    map(int, m.groups())))


def replay_orders(rows):
    latest = {}
    for r in sorted(rows, key=lambda r: (r["commit_lsn"], r["seq"])):
        if r["op"] == "D":
            latest.pop(r["order_id"], None)
        else:
            latest[r["order_id"]] = tuple(r[c] for c in ORDER_COLS)
    return latest


def check_replay(stack, lake):
    first = summary(stack.hdp("run", "compact"))
    assert first["files"] > 0 and first["manifests"] == 4 and first["quarantined"] == 0, first
    assert first["objects"] > 2 * first["files"], first  # many small objects, few files
    versions = {t: lake.latest_manifest(t)["version"] for t in ("orders", "order_items", "customers")}
    again = summary(stack.hdp("run", "compact"))
    assert again == dict(segments=0, objects=0, rows=0, files=0, quarantined=0, manifests=0), again
    assert versions == {t: lake.latest_manifest(t)["version"] for t in versions}

    source = {r[0]: tuple(r) for r in stack.sql(f"SELECT {', '.join(ORDER_COLS)} FROM orders")}
    got = replay_orders(lake.rows("orders"))
    assert len(got) == len(source) and len(source) >= 20000
    diff = [k for k in source if got.get(k) != source[k]]
    assert not diff, f"{len(diff)} orders differ, e.g. {[(got.get(k), source[k]) for k in diff[:2]]}"
    assert isinstance(next(iter(got.values()))[4], Decimal)

    items = lake.rows("order_items")
    inserted = {(r["order_id"], r["line_no"]) for r in items if r["op"] == "I"}
    assert inserted == {tuple(r) for r in stack.sql("SELECT order_id, line_no FROM order_items")}
    customers = {r["customer_id"] for r in lake.rows("customers") if r["op"] == "I"}
    assert customers == {r[0] for r in stack.sql("SELECT customer_id FROM customers")}
    # rows are in (commit_lsn, seq) order inside each file; files never overlap in segments
    for t in ("orders", "order_items"):
        m = lake.latest_manifest(t)
        for f in m["files"]:
            keys = [(r["commit_lsn"], r["seq"]) for r in lake.table(f["key"]).to_pylist()]
            assert keys == sorted(keys), f["key"]
        state = json.loads(lake.get(f"_state/compact/{t}.json"))
        assert state["quarantined"] == 0 and state["rows"] > 0 and state["blocked"] is None
        assert state["complete_through"] >= max(f["segments"][1] for f in m["files"])


# ------------------------------------------------------------------ S3

@pytest.fixture(scope="module")
def s3_stack(tmp_path_factory, s3):  # noqa: F811
    bucket = f"hdp-e2e-{os.getpid()}"
    s = Stack(tmp_path_factory.mktemp("lake_s3"), env=s3.env(f"s3://{bucket}/lake"))
    try:
        yield s, s3_lake(s3, bucket, "lake"), s3
    finally:
        s.close()


def test_s3_capture_killed_twice_then_compact_twice_replays_orders_exactly(s3_stack):
    stack, lake, _ = s3_stack
    generate_with_capture_kills(stack, lake, kills=2, seed=21)
    check_replay(stack, lake)


def test_s3_wrong_secret_is_exit_1_naming_the_cause(s3_stack):
    stack, _, _ = s3_stack
    env = dict(stack.env, HDP_S3_SECRET_KEY="WRONG-secret-do-not-print-42")
    import subprocess
    from stack import HDP
    p = subprocess.run([HDP, "run", "compact"], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1
    lines = [x for x in p.stderr.splitlines() if x.startswith("hdp run:")]
    assert len(lines) == 1 and "access denied" in lines[0] and "HDP_S3_SECRET_KEY" in lines[0], p.stderr
    assert "WRONG-secret" not in p.stderr + p.stdout


def test_s3_malformed_line_is_quarantined_and_the_rest_compacted(s3_stack):
    stack, lake, _ = s3_stack
    seg, lsn = 900000000, 1
    key = f"raw/orders/dt=2026-11-20/{seg}-{lsn}.jsonl"
    meta = ('{"commit_lsn":%d,"seq":0,"commit_ts":"2026-11-20T10:00:00Z","xid":1,"segment":%d,'
            '"op":"I","table":"orders",')
    good = meta + ('"order_id":%d,"customer_id":1,"status":"paid","currency":"USD",'
                   '"total":"%s","ship_city":"X","created_at":"2026-11-20T10:00:00Z",'
                   '"updated_at":"2026-11-20T10:00:00Z","paid_at":"2026-11-20T10:00:00Z",'
                   '"refunded_at":null}')
    lines = [good % (lsn, seg, 10**12 + 1, "1.00"), good % (lsn + 1, seg, 10**12 + 2, "abc"),
             '{"commit_lsn":' + str(lsn + 2) + ',"seq":0,"truncat',
             good % (lsn + 3, seg, 10**12 + 3, "3.00")]
    data = ("\n".join(lines) + "\n").encode()
    lake.put(key, data)
    lake.put(f"raw/_segments/{seg}.json", json.dumps(
        {"segment": seg, "first_lsn": lsn, "last_lsn": lsn + 3,
         "objects": [{"key": key, "rows": 4, "bytes": len(data)}]}).encode())
    v0 = lake.latest_manifest("orders")["version"]
    out = summary(stack.hdp("run", "compact"))
    assert out["segments"] == 1 and out["rows"] == 2 and out["quarantined"] == 2, out
    q = [json.loads(x) for x in lake.get(f"quarantine/orders/{seg}-{lsn}.jsonl").splitlines()]
    assert [(x["line"], x["object"]) for x in q] == [(2, key), (3, key)]
    assert "total" in q[0]["reason"] and q[0]["raw"] == lines[1]
    assert q[1]["raw"] == lines[2]
    m = lake.latest_manifest("orders")
    assert m["version"] == v0 + 1 and m["quarantined"] == 2
    new = [f for f in m["files"] if f["segments"] == [seg, seg]]
    assert len(new) == 1 and new[0]["rows"] == 2 and new[0]["dt"] == "2026-11-20"
    got = {r["order_id"]: r["total"] for r in lake.table(new[0]["key"]).to_pylist()}
    assert got == {10**12 + 1: Decimal("1.00"), 10**12 + 3: Decimal("3.00")}
    assert json.loads(lake.get("_state/compact/orders.json"))["quarantined"] == 2
    assert summary(stack.hdp("run", "compact"))["manifests"] == 0


# ------------------------------------------------------------------ file://

def test_file_lake_capture_killed_then_compact_replays_orders_exactly(tmp_path):
    root = tmp_path / "lake"
    stack = Stack(tmp_path, env={"HDP_LAKE_URL": f"file://{root}"})
    try:
        lake = Lake(pafs.LocalFileSystem(), str(root))
        generate_with_capture_kills(stack, lake, kills=1, seed=31)
        check_replay(stack, lake)
    finally:
        stack.close()
