#!/usr/bin/env bash
# Creates .venv-airflow with the Apache Airflow of tests/requirements-airflow.txt, every
# package pinned by tests/constraints-airflow.txt, apart from the test venv (Airflow's
# dependencies would fight the test tools'). Does nothing when it is there and up to date.
# Used by tests/integration/test_airflow.py (pytest -m airflow). Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv-airflow
REQ=tests/requirements-airflow.txt
CON=tests/constraints-airflow.txt
STAMP=$VENV/.req-stamp
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

exec 9>.venv-airflow.lock
flock 9 # two runs at once: one installs, the other waits and finds it done
if [ ! -f "$STAMP" ] || ! cat "$REQ" "$CON" | cmp -s - "$STAMP"; then
  echo "airflow-venv: installing $(grep -m1 '^apache-airflow' "$REQ") into $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  # pip names every configured index that lacks a package; only real problems are shown.
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQ" -c "$CON" 2>&1 |
    sed '/^WARNING: Location .* is ignored/d' >&2
  "$VENV/bin/airflow" version >/dev/null
  cat "$REQ" "$CON" >"$STAMP"
fi
echo "$PWD/$VENV/bin/python"
