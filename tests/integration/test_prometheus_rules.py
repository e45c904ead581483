"""The Prometheus alerting rules deploy/prometheus/alerts.yml (issue 8): valid for promtool,
their unit tests (deploy/prometheus/alerts_test.yml: stale watermark only after the
threshold, failing runs, speed fault, ... fire when they should and not before), and every
metric they use is one that `hdp serve`'s /metrics exposes."""
import os
import re
import shutil
import subprocess
import urllib.request

import pytest

from stack import ROOT, Stack

RULES = os.path.join(ROOT, "deploy", "prometheus")
PROMTOOL = shutil.which("promtool")
# The metrics the rules may use: hdp serve's /metrics (issue 8, part 3).
METRICS = {
    "hdp_batch_watermark_segment", "hdp_batch_watermark_published_timestamp_seconds",
    "hdp_task_last_success_timestamp_seconds", "hdp_task_failures_total",
    "hdp_task_last_duration_seconds", "hdp_task_last_rows", "hdp_runs_total",
    "hdp_notifications", "hdp_speed_fault", "hdp_lake_tables_blocked", "hdp_serve_redis_up",
}
BATCH_TASKS = ("compact", "vault", "marts", "publish")


def promtool(*args):
    assert PROMTOOL, "promtool not found: scripts/deps.sh installs Debian's prometheus"
    return subprocess.run([PROMTOOL, *args], cwd=RULES, capture_output=True, text=True,
                          timeout=120)


def rule_metrics():
    with open(os.path.join(RULES, "alerts.yml")) as f:
        exprs = [line.split("expr:", 1)[1] for line in f if line.strip().startswith("expr:")]
    assert len(exprs) >= 6
    return {m for e in exprs for m in re.findall(r"\bhdp_[a-z_]+", e)}


def test_rules_are_valid():
    out = promtool("check", "rules", "alerts.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.search(r"SUCCESS: \d+ rules found", out.stdout), out.stdout


def test_rules_fire_when_they_should():
    out = promtool("test", "rules", "alerts_test.yml")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_rules_use_only_hdp_metrics():
    used = rule_metrics()
    assert used - METRICS == set(), f"rules use unknown metrics {used - METRICS}"


def test_metrics_the_rules_use_are_exposed(tmp_path):
    s = Stack(tmp_path, clickhouse=True)
    try:
        s.start("serve", "serve")
        s.hdp("run", "batch")
        with urllib.request.urlopen(f"http://127.0.0.1:{s.http_port}/metrics", timeout=30) as r:
            text = r.read().decode()
    finally:
        s.close()
    series = [line.split(" ")[0] for line in text.splitlines() if line and line[0] != "#"]
    names = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", x).group(0) for x in series}
    assert rule_metrics() - names == set(), f"not on /metrics: {rule_metrics() - names}"
    # Counters exist at 0 before the first failure, or increase() misses that failure.
    for t in BATCH_TASKS:
        assert f'hdp_task_failures_total{{task="{t}"}}' in series, t
