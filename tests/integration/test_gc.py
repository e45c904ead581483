"""`hdp run gc` (issue 11 #3) on file:// and on S3 (SeaweedFS): manifests beyond the newest
few and older than the retention go, orphan curated files (a crashed run's, listed by no
manifest) older than the retention go, and nothing a retained manifest lists is ever touched:
the curated zone still replays to the source table exactly and the vault still loads."""
import os
import re
import time

import pyarrow.fs as pafs
import pytest

from s3server import s3  # noqa: F401  (pytest fixture)
from stack import Stack
from test_lake_e2e import Lake, ORDER_COLS, replay_orders, s3_lake


def several_versions(stack):
    """Three rounds of orders, each compacted: three manifest versions per table."""
    stack.start("capture", "capture")
    for seed in (81, 82, 83):
        stack.hdp("generate", "--orders", "300", "--days", "1", "--seed", str(seed))
        stack.wait_caught_up(slot="hdp_lake")
        time.sleep(2 * 2 + 1)
        stack.wait_caught_up(slot="hdp_lake")
        stack.hdp("run", "compact")


def versions(lake, table):
    return sorted(int(re.search(r"v(\d{10})", k).group(1))
                  for k in lake.ls(f"curated/_manifests/{table}/") if k.endswith(".json"))


def check_gc(stack, lake):
    several_versions(stack)
    assert len(versions(lake, "orders")) >= 3
    m = lake.latest_manifest("orders")
    some = m["files"][0]
    orphan = f"curated/orders/dt={some['dt']}/part-1-2.parquet"  # a crashed run's file
    lake.put(orphan, lake.get(some["key"]))
    young = f"curated/orders/dt={some['dt']}/part-3-4.parquet"
    # retention: anything older than 2 s, keep the newest 2 manifest versions
    time.sleep(3)
    lake.put(young, lake.get(some["key"]))  # written just now: younger than the retention
    env = dict(stack.env, HDP_GC_KEEP_MANIFESTS="2")
    import subprocess
    from stack import HDP
    out = subprocess.run([HDP, "run", "gc", "--retention", "2"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "orphan file(s) removed" in out.stdout
    keys = set(lake.ls("curated/orders/"))
    assert orphan not in keys
    assert young in keys  # too young to be sure it is an orphan
    for t in ("orders", "order_items", "customers", "products"):
        vs = versions(lake, t)
        assert len(vs) <= 2 and vs[-1] == lake.latest_manifest(t)["version"], (t, vs)
        for f in lake.latest_manifest(t)["files"]:
            assert f["key"] in set(lake.ls(f"curated/{t}/")), f  # listed files all kept
    source = {r[0]: tuple(r) for r in stack.sql(f"SELECT {', '.join(ORDER_COLS)} FROM orders")}
    assert replay_orders(lake.rows("orders")) == source
    stack.hdp("run", "vault")
    assert stack.hdp("run", "compact").returncode == 0  # compaction goes on after gc


def test_gc_on_the_file_lake(tmp_path):
    root = tmp_path / "lake"
    s = Stack(tmp_path, env={"HDP_LAKE_URL": f"file://{root}"})
    try:
        check_gc(s, Lake(pafs.LocalFileSystem(), str(root)))
        # a spool folder a killed run left behind goes too, once old enough
        spool = os.path.join(s.env["HDP_VAR_DIR"], "spool", "compact", "run-killed")
        os.makedirs(spool)
        old = time.time() - 7200
        os.utime(spool, (old, old))
        out = s.hdp("run", "gc", "--retention", "3600").stdout
        assert "1 spool folder(s)" in out and not os.path.exists(spool)
    finally:
        s.close()


def test_gc_on_s3(tmp_path, s3):  # noqa: F811
    bucket = f"hdp-gc-{os.getpid()}"
    s = Stack(tmp_path, env=s3.env(f"s3://{bucket}/lake"))
    try:
        check_gc(s, s3_lake(s3, bucket, "lake"))
    finally:
        s.close()
