#!/usr/bin/env bash
# Rewrites the configuration table of README.md from `hdp config --markdown` (the table is the
# block of lines starting at "| variable | default | meaning |").
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(mktemp)
trap 'rm -f "$table"' EXIT
build/hdp config --markdown >"$table"
awk -v tf="$table" '
  /^\| variable \| default \| meaning \|/ { while ((getline l < tf) > 0) print l; skip = 1; next }
  skip && /^\|/ { next }
  { skip = 0; print }
' README.md >README.md.tmp
mv README.md.tmp README.md
