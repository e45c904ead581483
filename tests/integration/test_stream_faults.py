"""The streaming commands' failures (issue 10 #4-#6): a Redis that lost its data is noticed on
the next write and stops `hdp speed` loudly; permanent errors (wrong or missing Redis
password, a PostgreSQL role that does not exist, a wrong S3 secret) end `hdp speed` and
`hdp capture` with exit 1 and one line; a service that is merely down is retried; money finer
than a cent is quarantined by the speed layer too. Real PostgreSQL, Redis and SeaweedFS."""
import json
import os
import subprocess
import time

import pytest
import redis as redislib

from s3server import s3  # noqa: F401  (pytest fixture)
from services import free_port, start_redis, stop_redis, wait_port
from stack import HDP, Stack, assert_exact, metrics


def run_until_exit(env, *args, timeout=30):
    """Runs hdp ARGS; returns (exit code, stderr) once it exits, or fails after timeout."""
    p = subprocess.Popen([HDP, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"hdp {' '.join(args)} still running after {timeout}s:\n{err}")
    return p.returncode, err


def one_error_line(err, cmd):
    lines = [x for x in err.splitlines() if x.startswith(f"hdp {cmd}:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path)
    try:
        yield s
    finally:
        s.close()


def test_5_flushall_stops_speed_loudly_and_status_says_so(stack):
    """Issue 10 #5: after FLUSHALL `hdp speed` went on writing into the empty Redis and
    `hdp status` said healthy. Now the next write finds its guard gone: exit 1, a fault
    recorded for /health and `hdp status`, and the command to run to rebuild."""
    r = redislib.Redis(port=stack.redis_port)
    speed = stack.start("speed", "speed")
    stack.hdp("generate", "--orders", "300", "--days", "1", "--seed", "3")
    stack.wait_caught_up()
    assert stack.hdp("status", check=False).returncode == 0
    r.flushall()
    stack.hdp("generate", "--rate", "50", "--duration", "2", "--seed", "4")
    speed.wait(timeout=30)
    assert speed.returncode == 1
    line = one_error_line(stack.log("speed"), "speed")
    assert "Redis lost" in line and "hdp rebuild speed" in line, line
    fault = json.loads(r.get("hdp:speed:fault"))
    assert "lost" in fault["reason"]
    st = stack.hdp("status", "--json", check=False)
    assert st.returncode == 1 and json.loads(st.stdout)["speed_fault"] is not None
    assert "SPEED LAYER STOPPED" in stack.hdp("status", check=False).stdout
    stack.start("serve", "serve")
    code, health = stack.get("/health")
    assert code == 503 and health["speed"] == "fault", health
    assert metrics(stack)["hdp_speed_fault"] == "1"
    stack.kill9("serve")
    # started again, it refuses at once: the state it would build on is gone
    rc, err = run_until_exit(stack.env, "speed")
    assert rc == 1 and "hdp rebuild speed" in one_error_line(err, "speed")
    stack.procs.pop("speed", None)


def test_4_money_finer_than_a_cent_is_quarantined_by_speed(stack):
    """Issue 10 #4, the speed layer: 3189.551 was counted as 3189.55."""
    stack.start("speed", "speed")
    stack.hdp("generate", "--orders", "50", "--days", "1", "--seed", "2")
    stack.wait_caught_up()
    stack.sql("ALTER TABLE orders ALTER COLUMN total TYPE numeric(14,3)")
    oid = stack.sql("SELECT order_id FROM orders WHERE paid_at IS NOT NULL LIMIT 1")[0][0]
    stack.sql("UPDATE orders SET total = total + 0.001 WHERE order_id = %s", (oid,))
    stack.wait_caught_up()
    r = redislib.Redis(port=stack.redis_port)
    recs = [json.loads(x) for x in r.lrange("hdp:speed:quarantine", 0, -1)]
    mine = [q for q in recs if q.get("record", {}).get("order_id") == str(oid)]
    assert mine and "NUMERIC(12,2)" in mine[0]["reason"], recs


def test_6_wrong_or_missing_redis_password_exits_1(tmp_path):
    """Issue 10 #6: WRONGPASS/NOAUTH were retried with a WARN every 5 s forever."""
    s = Stack(tmp_path)
    try:
        r = redislib.Redis(port=s.redis_port)
        r.config_set("requirepass", "Right-Pass-1")
        for url, needle in [(f"redis://:Wrong-Pass-2@127.0.0.1:{s.redis_port}/0", "WRONGPASS"),
                            (f"redis://127.0.0.1:{s.redis_port}/0", "NOAUTH")]:
            env = dict(s.env, HDP_REDIS_URL=url)
            rc, err = run_until_exit(env, "speed", timeout=20)
            line = one_error_line(err, "speed")
            assert rc == 1 and needle in line, err
            assert "Wrong-Pass-2" not in err and "Right-Pass-1" not in err
        redislib.Redis(port=s.redis_port, password="Right-Pass-1").config_set("requirepass", "")
    finally:
        s.close()


def test_6_unknown_postgresql_role_exits_1_for_speed_and_capture(stack):
    env = dict(stack.env, HDP_SOURCE_DSN=stack.env["HDP_SOURCE_DSN"] + " user=nosuchrole")
    for cmd in ("speed", "capture"):
        rc, err = run_until_exit(env, cmd, timeout=20)
        line = one_error_line(err, cmd)
        assert rc == 1 and "nosuchrole" in line and "does not exist" in line, err


def test_6_redis_down_is_retried_and_recovers(tmp_path):
    """A Redis that is down (not refusing us) is transient: speed keeps trying and catches up
    exactly once it is back."""
    s = Stack(tmp_path)
    try:
        stop_redis(s.redis)
        speed = s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "200", "--days", "1", "--seed", "11")
        time.sleep(3)
        assert speed.poll() is None, s.log("speed")  # still running, retrying
        s.redis, _ = start_redis(s.tmp, port=s.redis_port, persistent=True)
        assert_exact(s)
        log = s.log("speed")
        assert "reconnecting" in log and "recovered" in log
        assert log.count("WARN") < 5  # once per change of state, not once per retry
    finally:
        s.close()


def test_6_capture_with_a_wrong_s3_secret_exits_1(tmp_path, s3):  # noqa: F811
    bucket = f"hdp-faults-{os.getpid()}"
    s = Stack(tmp_path, env=s3.env(f"s3://{bucket}/lake"))
    try:
        env = dict(s.env, HDP_S3_SECRET_KEY="WRONG-secret-do-not-print-43")
        s.hdp("generate", "--orders", "20", "--days", "1", "--seed", "1")
        rc, err = run_until_exit(env, "capture", timeout=60)
        line = one_error_line(err, "capture")
        assert rc == 1 and "access denied" in line, err
        assert "WRONG-secret" not in err
    finally:
        s.close()


def test_rebuild_speed_after_flushall_mid_stream(tmp_path):
    """Issue 11 #4: Redis flushed while orders flow; speed stops; `hdp rebuild speed` rebuilds
    the speed layer from the lake (capture keeps running) and, speed started again, every
    answer — batch(<= W) + speed(> W) — is exact again."""
    import threading
    s = Stack(tmp_path, clickhouse=True)
    try:
        s.start("capture", "capture")
        speed = s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "2000", "--days", "3", "--seed", "71")
        s.wait_caught_up(slot="hdp_lake")
        time.sleep(2 * 2 + 1)
        s.hdp("run", "batch")  # a watermark: the rebuild keeps what is above it (and today)
        gen = threading.Thread(target=s.hdp, args=("generate", "--rate", "200", "--duration",
                                                   "6", "--seed", "72"))
        gen.start()
        time.sleep(2)
        redislib.Redis(port=s.redis_port).flushall()
        speed.wait(timeout=30)
        assert speed.returncode == 1
        s.procs.pop("speed")
        out = s.hdp("rebuild", "speed", "--wait", "60")
        assert "transaction(s) replayed" in out.stdout, out.stdout + out.stderr
        gen.join()
        s.start("speed", "speed")
        s.hdp("run", "publish")  # W again in Redis (FLUSHALL took the mirror too)
        assert_exact(s)
        assert redislib.Redis(port=s.redis_port).get("hdp:speed:fault") is None
        assert s.hdp("status", check=False).returncode == 0, s.hdp("status", check=False).stdout
        # running it while speed runs is refused
        rc, err = run_until_exit(s.env, "rebuild", "speed")
        assert rc == 1 and "stop `hdp speed` first" in err
    finally:
        s.close()
