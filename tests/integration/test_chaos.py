"""Chaos trials (issue 11 #2): while orders flow, at random moments, kill -9 one of capture,
speed, serve, the scheduler or a running batch task, or restart PostgreSQL, Redis, ClickHouse
or the S3 server. After each trial's quiescent point, every number the API serves equals SQL
ground truth on the source, and the raw zone holds every change exactly once.

Each trial prints its seed (`--chaos-seed S` replays it); `--chaos-trials N` runs more (CI
runs 2). The report at the end: trials, faults by kind, lost or doubled cents (must be 0)."""
import collections
import json
import os
import random
import signal
import subprocess
import threading
import time

import pyarrow.fs as pafs
import pytest
import redis as redislib

from pgserver import restart_postgres
from s3server import s3_server
from stack import Stack, TRUTH_BY_DAY, cents
from test_lake_e2e import ORDER_COLS, replay_orders, s3_lake

SEG = 2
INTERVAL = 3
FAULTS = ["kill-capture", "kill-speed", "kill-serve", "kill-scheduler", "kill-batch-task",
          "restart-postgres", "restart-redis", "restart-clickhouse", "restart-s3"]


def running_task_pids():
    out = subprocess.run(["pgrep", "-f", "hdp run .*--run-id"], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def inject(stack, s3, fault):
    if fault.startswith("kill-") and fault != "kill-batch-task":
        name = fault[5:]
        stack.kill9(name)
        time.sleep(0.2)
        stack.start(name, name)
    elif fault == "kill-batch-task":
        for pid in running_task_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # the task ended between pgrep and the kill
    elif fault == "restart-postgres":
        restart_postgres(stack.pg)
    elif fault == "restart-redis":
        stack.restart_redis(down_seconds=0.5)
    elif fault == "restart-clickhouse":
        stack.ch.restart()
    elif fault == "restart-s3":
        s3.restart(down_seconds=0.5)


def wait_quiescent(stack, timeout=180):
    """Consumers caught up, the last segment closed, and W over every closed segment."""
    deadline = time.time() + timeout
    stack.wait_caught_up(slot="hdp_lake", timeout=timeout)
    stack.wait_caught_up(timeout=timeout)
    time.sleep(2 * SEG + 1)
    stack.wait_caught_up(slot="hdp_lake", timeout=timeout)
    stack.wait_caught_up(timeout=timeout)
    lake = stack.lake
    closed = json.loads(lake.get("_state/capture.json"))["segment"]
    r = redislib.Redis(port=stack.redis_port)
    while time.time() < deadline:
        w = r.get("hdp:batch:watermark")
        if w is not None and int(w) >= closed:
            return
        time.sleep(0.5)
    raise AssertionError(f"W {r.get('hdp:batch:watermark')} never reached {closed}:\n"
                         + stack.log("scheduler")[-3000:])


def cents_off(stack):
    """Sum of |API - source| over every day's net revenue, in cents, and the days that differ."""
    off, bad = 0, []
    for day, rev, orders, refunds in stack.sql(TRUTH_BY_DAY):
        for _ in range(50):
            st, body = stack.get(f"/api/v1/revenue?date={day}")
            if st == 200:
                break
            time.sleep(0.2)
        assert st == 200, body
        d = abs(cents(body["revenue"]) - rev)
        if d or body["orders"] != orders or body["refunds"] != refunds:
            bad.append((day, body, rev, orders, refunds))
        off += d
    return off, bad


def raw_exactly_once(stack):
    """Every change of the raw zone once: (table, commit_lsn, seq) unique across objects, and
    replaying orders gives the source table."""
    seen, dup = set(), 0
    rows = []
    for key in stack.lake.ls("raw/"):
        if not key.endswith(".jsonl") or key.startswith("raw/_"):
            continue
        table = key.split("/")[1]
        for line in stack.lake.get(key).splitlines():
            r = json.loads(line)
            k = (table, r["commit_lsn"], r["seq"])
            dup += k in seen
            seen.add(k)
            if table == "orders":
                rows.append(r)
    for r in rows:
        for c in ("total",):
            if r[c] is not None:
                from decimal import Decimal
                r[c] = Decimal(r[c])
    source = {r[0]: r for r in stack.sql(f"SELECT {', '.join(ORDER_COLS)} FROM orders")}
    got = replay_orders(rows)
    missing = [k for k in source if k not in got]
    return dup, missing


@pytest.mark.chaos
def test_chaos_trials(tmp_path, request):
    trials = request.config.getoption("--chaos-trials")
    seed0 = request.config.getoption("--chaos-seed") or int(time.time())
    faults = collections.Counter()
    lost_cents = 0
    with s3_server() as s3:
        bucket = f"hdp-chaos-{os.getpid()}"
        s = Stack(tmp_path, clickhouse=True, env=dict(s3.env(f"s3://{bucket}/lake"),
                                                      HDP_BATCH_INTERVAL=str(INTERVAL)))
        s.lake = s3_lake(s3, bucket, "lake")
        try:
            for name in ("capture", "speed", "serve", "scheduler"):
                s.start(name, name)
            s.hdp("generate", "--orders", "2000", "--days", "3", "--seed", str(seed0 % 1000))
            for k in range(trials):
                seed = seed0 + k
                rng = random.Random(seed)
                print(f"chaos trial {k + 1}/{trials}: seed {seed}", flush=True)
                gen = threading.Thread(target=s.hdp, args=(
                    "generate", "--rate", "150", "--duration", "6", "--seed", str(seed % 100000)),
                    kwargs={"check": False})
                gen.start()
                for _ in range(rng.randint(2, 4)):
                    time.sleep(rng.uniform(0.3, 1.5))
                    fault = rng.choice(FAULTS)
                    print(f"  fault: {fault}", flush=True)
                    inject(s, s3, fault)
                    faults[fault] += 1
                gen.join()
                for name in ("capture", "speed", "serve", "scheduler"):  # a crash is a finding
                    p = s.procs.get(name)
                    assert p is not None and p.poll() is None, f"{name} died:\n{s.log(name)[-3000:]}"
                wait_quiescent(s)
                off, bad = cents_off(s)
                lost_cents += off
                assert not bad, f"seed {seed}: {bad[:3]}"
                dup, missing = raw_exactly_once(s)
                assert dup == 0 and not missing, f"seed {seed}: {dup} doubled, {len(missing)} lost"
        finally:
            s.close()
    print(f"chaos report: {trials} trial(s), faults {dict(faults)}, lost or doubled cents "
          f"{lost_cents}", flush=True)
    assert lost_cents == 0
