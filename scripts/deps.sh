#!/usr/bin/env bash
# Installs what hdp needs to build, test and demo, and nothing that is already there.
# Debian packages through apt (sudo when not root); test tools into ./.venv from PyPI; the
# portal's browser libraries into ./node_modules from npm (package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(build-essential pkg-config
  libpq-dev libhiredis-dev libjansson-dev libssl-dev
  libcurl4-openssl-dev libzstd-dev libsnappy-dev libcmocka-dev libxxhash-dev
  postgresql redis-server clickhouse-server clickhouse-client
  cppcheck clang-format wrk valgrind
  linux-perf time  # make bench: perf profiles of the hot paths, /usr/bin/time -v's peak RSS
  clang libclang-rt-dev  # clang + compiler-rt: libFuzzer and the sanitizers of `make fuzz`
  prometheus
  chromium)  # the portal's browser test (tests/integration/test_portal.py, Playwright)
# prometheus: only for promtool (checks and unit-tests deploy/prometheus/alerts.yml); no
# smaller Debian package has it (19 MB download, 94 MB installed). Its service is not used.

missing=()
# npm ci brings the portal's browser libraries (uPlot, Swagger UI). Debian's nodejs and npm
# only when no npm is there: a Node.js from elsewhere carries its own npm.
command -v npm >/dev/null || missing+=(nodejs npm)
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # The Debian postgresql package starts a cluster on 5432; hdp never relies on it.
  # clickhouse-server (Debian 12: 18.16) is only the binary for hdp: `hdp up` and the tests
  # run their own servers with their own configuration.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

REQ=tests/requirements.txt
STAMP=.venv/.req-stamp
if [ ! -x .venv/bin/python ]; then
  echo "deps: creating .venv" >&2
  python3 -m venv .venv
fi
if [ ! -f "$STAMP" ] || ! cmp -s "$REQ" "$STAMP"; then
  echo "deps: installing Python test tools" >&2
  .venv/bin/pip install -q --disable-pip-version-check -r "$REQ"
  cp "$REQ" "$STAMP"
fi

# node_modules/ as package-lock.json pins it: npm ci when the lockfile changed since the last
# install (npm writes node_modules/.package-lock.json). Install scripts stay off: the dist
# files are all the build needs.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: installing the portal's libraries (npm ci)" >&2
  SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
