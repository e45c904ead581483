#!/usr/bin/env bash
# Runs libFuzzer targets: tests/fuzz/run.sh [LIBFUZZER_FLAG...] -- NAME...
# Each build/fuzz/fuzz_NAME runs FUZZ_SECONDS (default 60) on tests/fuzz/corpus/NAME/ (read
# only) plus build/fuzz/work/NAME/ (where new inputs go); crashes land in build/fuzz/crash/.
# Prints one line per target and a closing "N passed, N failed"; exits 1 when any target
# found a crash, leak, timeout, out-of-memory or failed invariant.
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-60}
extra=()
while (($#)) && [ "$1" != -- ]; do extra+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
pass=0; fail=0
mkdir -p build/fuzz/crash build/fuzz/log
for n in "$@"; do
  bin=build/fuzz/fuzz_$n work=build/fuzz/work/$n log=build/fuzz/log/$n.log
  mkdir -p "$work"
  dict=(); [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
  start=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="build/fuzz/crash/$n-" "${dict[@]}" "${extra[@]}" \
    "$work" "tests/fuzz/corpus/$n" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  corp=$(grep -o 'corp: [0-9]*/[0-9a-zA-Z]*' "$log" | tail -1)
  if [ "$rc" = 0 ]; then
    pass=$((pass+1))
    printf 'fuzz %-9s ok   %4ss %10s runs %7s exec/s %s %s\n' "$n" $(( $(date +%s) - start )) \
      "${runs:-?}" "${eps:-?}" "$cov" "$corp"
  else
    fail=$((fail+1))
    echo "fuzz $n FAILED (exit $rc); log $log:"
    grep -E 'ERROR|invariant failed|SUMMARY|Test unit written|#[0-9]+ in ' "$log" | head -40
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]
