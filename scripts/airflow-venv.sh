#!/usr/bin/env bash
# Creates .venv-airflow with the Apache Airflow of tests/requirements-airflow.txt (pinned),
# kept apart from the test venv; does nothing when it is there and up to date. Used by
# tests/integration/test_airflow.py (pytest -m airflow). Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-airflow
REQ=tests/requirements-airflow.txt
STAMP=$VENV/.req-stamp
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

exec 9>".venv-airflow.lock"
flock 9   # two test runs at once: one installs, the other waits and finds it done
if [ ! -f "$STAMP" ] || ! cmp -s "$REQ" "$STAMP"; then
  echo "airflow-venv: installing $(grep -m1 '^apache-airflow' "$REQ") into $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" >&2
  "$VENV/bin/airflow" version >/dev/null
  cp "$REQ" "$STAMP"
fi
echo "$PWD/$VENV/bin/python"
