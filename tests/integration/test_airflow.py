"""The Airflow DAG deploy/airflow/hdp_dag.py (issue 8) in real Apache Airflow 3, installed from
PyPI into its own virtualenv .venv-airflow by scripts/airflow-venv.sh (about 2 minutes the
first time, then reused). Not in the default run (pytest.ini); select it with
`.venv/bin/python -m pytest -q -m airflow tests/integration/test_airflow.py`.

Covered: the DAG parses in Airflow's DagBag without import errors, with its tasks, their
dependencies and trigger rules, the schedule from HDP_BATCH_INTERVAL, retries and HDP_BIN;
`airflow dags test hdp_batch` (SQLite metadata database, a temporary AIRFLOW_HOME) against a
real PostgreSQL, Redis, ClickHouse and file:// lake while capture, speed and serve run: every
hdp task recorded in dwh.ops.run/task_run with trigger airflow, the watermark published past
the last closed segment, the API exact; and a run whose marts task fails: notify still runs,
publish does not, the watermark stays, and Airflow marks the run failed."""
import json
import os
import sqlite3
import subprocess
import time

import psycopg2
import pytest
import redis as redislib

from stack import HDP, ROOT, Stack, assert_exact

pytestmark = pytest.mark.airflow

SEG = 2
SECRET = "pw-Airflow-must-not-print"
DAGS = os.path.join(ROOT, "deploy", "airflow")
HDP_TASKS = ["compact"] * 4 + ["vault", "marts", "publish", "notify"]

# Runs in the Airflow venv: the DAG as Airflow's DagBag sees it, as JSON.
PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("hdp_batch")
out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags)}
if dag:
    out.update(schedule=dag.schedule.total_seconds(), max_active_runs=dag.max_active_runs,
               catchup=dag.catchup, tasks={t.task_id: {
                   "operator": type(t).__module__ + "." + type(t).__name__,
                   "upstream": sorted(t.upstream_task_ids), "rule": t.trigger_rule.value,
                   "retries": t.retries, "retry_delay": t.retry_delay.total_seconds(),
                   "command": t.bash_command} for t in dag.tasks})
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def airflow_py():
    out = subprocess.run([os.path.join(ROOT, "scripts", "airflow-venv.sh")], capture_output=True,
                         text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout.strip().splitlines()[-1]


def airflow_env(home, base=None, **extra):
    env = dict(base if base is not None else os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.update({
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": DAGS,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "sqlite:///" + os.path.join(home, "airflow.db"),
    })
    env.update(extra)
    return env


def probe(airflow_py, tmp, **env):
    out = subprocess.run([airflow_py, "-c", PROBE, DAGS], capture_output=True, text=True,
                         env=airflow_env(str(tmp), **env), timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_dag_parses_with_its_tasks_dependencies_and_schedule(airflow_py, tmp_path):
    d = probe(airflow_py, tmp_path)
    assert d["errors"] == {} and d["dags"] == ["hdp_batch"]
    assert d["schedule"] == 120 and d["max_active_runs"] == 1 and d["catchup"] is False
    t = d["tasks"]
    compact = [f"compact_{x}" for x in ("customers", "products", "orders", "order_items")]
    assert set(t) == set(compact) | {"vault", "marts", "publish", "notify", "watcher"}
    for name in compact:
        table = name.removeprefix("compact_")
        assert t[name]["upstream"] == []
        assert t[name]["command"] == f"hdp run compact --table {table} --trigger airflow"
    assert t["vault"]["upstream"] == sorted(compact)
    assert t["marts"]["upstream"] == ["vault"] and t["publish"]["upstream"] == ["marts"]
    assert t["notify"]["upstream"] == ["publish"] and t["notify"]["rule"] == "all_done"
    assert t["watcher"]["upstream"] == sorted(compact + ["vault", "marts", "publish"])
    assert t["watcher"]["rule"] == "one_failed"
    for name in ["vault", "marts", "publish", "notify"]:
        assert t[name]["command"] == f"hdp run {name} --trigger airflow"
    for name in t:
        assert t[name]["operator"] == "airflow.providers.standard.operators.bash.BashOperator"
    for name in compact + ["vault", "marts", "publish"]:
        assert t[name]["rule"] == "all_success"
        assert (t[name]["retries"], t[name]["retry_delay"]) == (2, 30)

    d = probe(airflow_py, tmp_path, HDP_BATCH_INTERVAL="45", HDP_BIN="/opt/my hdp/hdp",
              HDP_AIRFLOW_RETRIES="5", HDP_AIRFLOW_RETRY_DELAY="7")
    assert d["errors"] == {} and d["schedule"] == 45
    assert d["tasks"]["vault"]["command"] == "'/opt/my hdp/hdp' run vault --trigger airflow"
    assert (d["tasks"]["marts"]["retries"], d["tasks"]["marts"]["retry_delay"]) == (5, 7)

    d = probe(airflow_py, tmp_path, HDP_BATCH_INTERVAL="two minutes")
    assert d["dags"] == [] and len(d["errors"]) == 1
    assert "HDP_BATCH_INTERVAL must be a whole number >= 1" in list(d["errors"].values())[0]
    d = probe(airflow_py, tmp_path, HDP_BATCH_INTERVAL="0")
    assert d["dags"] == [] and "HDP_BATCH_INTERVAL" in list(d["errors"].values())[0]


# ------------------------------------------------------------------ against a real stack


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("airflow"), segment_seconds=SEG, clickhouse=True)
    try:
        s.start("capture", "capture")
        s.start("speed", "speed")
        s.start("serve", "serve")
        s.hdp("generate", "--orders", "3000", "--days", "2", "--seed", "81")
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def home(airflow_py, tmp_path_factory):
    """An AIRFLOW_HOME with a migrated SQLite metadata database."""
    h = str(tmp_path_factory.mktemp("airflow_home"))
    out = subprocess.run([os.path.join(os.path.dirname(airflow_py), "airflow"), "db", "migrate"],
                         capture_output=True, text=True, env=airflow_env(h), timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return h


def dags_test(airflow_py, home, st, **extra):
    """`airflow dags test hdp_batch` with the stack's HDP_* environment; (exit code, log,
    {task_id: state} and the run's state from Airflow's metadata database)."""
    env = airflow_env(home, base=st.env, HDP_BIN=HDP, **extra)
    airflow = os.path.join(os.path.dirname(airflow_py), "airflow")
    out = subprocess.run([airflow, "dags", "test", "hdp_batch"], capture_output=True, text=True,
                         env=env, timeout=900)
    log = out.stdout + out.stderr
    with open(os.path.join(st.tmp, "airflow.log"), "a") as f:
        f.write(log)
    with sqlite3.connect(os.path.join(home, "airflow.db")) as db:
        run_id, state = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = 'hdp_batch' "
                                   "ORDER BY id DESC LIMIT 1").fetchone()
        tis = dict(db.execute("SELECT task_id, state FROM task_instance WHERE run_id = ?",
                              (run_id,)).fetchall())
    return out.returncode, log, state, tis


def dwh(stack, q, args=None):
    with psycopg2.connect(stack.pg.dsn("dwh")) as c, c.cursor() as cur:
        cur.execute(q, args)
        return cur.fetchall()


def hdp_runs_after(stack, run_id):
    """(dag, trigger, run status, task, task status, rows, error) of every run since run_id."""
    return dwh(stack, "SELECT r.dag, r.trigger, r.status, t.task, t.status, t.rows, t.error "
                      "FROM ops.run r JOIN ops.task_run t USING (run_id) WHERE r.run_id > %s "
                      "ORDER BY t.task_run_id", (run_id,))


def last_run_id(stack):
    return dwh(stack, "SELECT coalesce(max(run_id), 0) FROM ops.run")[0][0]


def watermark(stack):
    v = redislib.Redis(port=stack.redis_port).get("hdp:batch:watermark")
    return int(v) if v is not None else None


def closed_segment(stack):
    """Waits until capture holds every change and the segment of the last one is closed."""
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    time.sleep(2 * SEG + 1)
    stack.wait_caught_up(slot="hdp_lake", timeout=180)
    with open(os.path.join(stack.tmp, "lake", "_state", "capture.json")) as f:
        return json.load(f)["segment"]


def test_dags_test_runs_the_batch_to_success(airflow_py, home, st):
    closed = closed_segment(st)
    before = last_run_id(st)
    assert watermark(st) is None
    rc, log, state, tis = dags_test(airflow_py, home, st)
    assert rc == 0 and state == "success", log[-6000:]
    assert tis.pop("watcher") == "skipped"
    assert set(tis.values()) == {"success"} and len(tis) == 8, tis
    runs = hdp_runs_after(st, before)
    assert sorted(r[3] for r in runs) == sorted(HDP_TASKS), runs
    assert all(r[1] == "airflow" and r[2] == "success" and r[4] == "success" for r in runs), runs
    assert sorted(r[3] for r in runs) == sorted(HDP_TASKS)  # one hdp run per Airflow task
    assert sorted(r[0] for r in runs if r[3] == "compact") == [
        "compact:customers", "compact:order_items", "compact:orders", "compact:products"]
    assert sum(r[5] or 0 for r in runs if r[3] == "compact") > 3000  # orders, lines, customers
    w = watermark(st)
    assert w is not None and w >= closed, (w, closed)
    assert_exact(st)


def test_a_failed_task_still_notifies_and_fails_the_run(airflow_py, home, st):
    st.hdp("generate", "--rate", "50", "--duration", "2", "--seed", "82")
    closed_segment(st)
    before, w0 = last_run_id(st), watermark(st)
    wrong = st.ch.url_for(user="nobody", password=SECRET)  # a permanent error in marts
    rc, log, state, tis = dags_test(airflow_py, home, st, HDP_CLICKHOUSE_URL=wrong,
                                    HDP_AIRFLOW_RETRIES="0")
    assert rc != 0 and state == "failed", log[-6000:]
    assert tis["marts"] == "failed" and tis["publish"] == "upstream_failed", tis
    assert tis["notify"] == "success" and tis["watcher"] == "failed", tis
    runs = hdp_runs_after(st, before)
    assert [r[3] for r in runs if r[4] == "failed"] == ["marts"], runs
    assert "nobody" in next(r[6] for r in runs if r[3] == "marts")
    assert sorted(r[3] for r in runs) == sorted(t for t in HDP_TASKS if t != "publish")
    assert all(r[1] == "airflow" for r in runs)
    assert SECRET not in log  # the password never reaches Airflow's task logs
    assert watermark(st) == w0
