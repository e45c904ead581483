"""hdp_batch — hdp's batch DAG for Apache Airflow 3: the alternative to `hdp scheduler`.

    compact_customers ─┐
    compact_products ──┤
    compact_orders ────┼─▶ vault ─▶ marts ─▶ publish ─▶ notify (also after a failure)
    compact_order_items┘

Every task is one `hdp run TASK --trigger airflow`: hdp retries transient failures itself
(with backoff), records the task in dwh.ops.run / ops.task_run and exits 0 (ok) or 1
(failure). The four compactions run side by side (each table has its own lock), so a Celery
or Kubernetes executor can spread them over workers. `notify` delivers the alerts' outbox to
Telegram even when a task before it failed; `watcher` then marks the DAG run failed, which
`notify` alone, being the last task, would hide.

Deploy:
  * copy this file into $AIRFLOW_HOME/dags (or point [core] dags_folder at deploy/airflow);
  * install hdp on every worker (on PATH, or HDP_BIN=/path/to/hdp);
  * give the workers hdp's configuration in their environment: the HDP_* variables
    (`hdp config --markdown` lists them) or HDP_ENV_FILE=/path/to/.env. Never put secrets in
    this file;
  * the DAG runs every HDP_BATCH_INTERVAL seconds (default 120); a failed task is tried
    again HDP_AIRFLOW_RETRIES times (default 2) after HDP_AIRFLOW_RETRY_DELAY seconds
    (default 30). These three are read where Airflow parses DAGs (the dag processor's
    environment), not from the .env file;
  * run either Airflow or `hdp scheduler`, not both.
"""

import os
import shlex
from datetime import datetime, timedelta, timezone

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG


def env_int(name, default, least=0):
    text = os.environ.get(name, default)
    if not text.strip().isdigit() or int(text) < least:
        raise ValueError(f"{name} must be a whole number >= {least}, not {text!r}")
    return int(text)


HDP = shlex.quote(os.environ.get("HDP_BIN", "hdp"))
INTERVAL = env_int("HDP_BATCH_INTERVAL", "120", least=1)
RETRIES = env_int("HDP_AIRFLOW_RETRIES", "2")
RETRY_DELAY = env_int("HDP_AIRFLOW_RETRY_DELAY", "30")
TABLES = ("customers", "products", "orders", "order_items")


def hdp_run(task_id, args, **kw):
    return BashOperator(task_id=task_id, bash_command=f"{HDP} run {args} --trigger airflow", **kw)


with DAG(
    dag_id="hdp_batch",
    description="hdp batch layer: compact, vault, marts, publish, notify",
    schedule=timedelta(seconds=INTERVAL),
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,  # every run works from where the data is; missed intervals need no run
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=2),
    default_args={
        # hdp already retries transient failures within a task (--attempts 3, backoff);
        # these retries are for the rest (a lost worker, a service away for longer).
        "retries": RETRIES,
        "retry_delay": timedelta(seconds=RETRY_DELAY),
        "execution_timeout": timedelta(hours=1),
    },
    tags=["hdp"],
) as dag:
    compact = [hdp_run(f"compact_{t}", f"compact --table {t}") for t in TABLES]
    vault = hdp_run("vault", "vault")
    marts = hdp_run("marts", "marts")
    publish = hdp_run("publish", "publish")
    notify = hdp_run("notify", "notify", trigger_rule="all_done", retries=0)
    # Fails the DAG run when any batch task failed (the run's state follows its last tasks).
    watcher = BashOperator(
        task_id="watcher",
        bash_command="echo 'a task of hdp_batch failed' >&2; exit 1",
        trigger_rule="one_failed",
        retries=0,
    )

    compact >> vault >> marts >> publish >> notify
    [*compact, vault, marts, publish] >> watcher
