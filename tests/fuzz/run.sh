#!/bin/sh
# Runs every fuzz target built in $1 for $2 seconds each, starting from the
# committed seeds (tests/fuzz/corpus/NAME/) in a scratch copy, with the dictionary
# tests/fuzz/NAME.dict if there is one, and prints one
# line per target: executions, coverage at start and at the end, corpus size.
# Exits non-zero as soon as a target finds a crash (libFuzzer saves the input as
# crash-* in the build folder and prints how to reproduce it).
set -e
dir=$1
seconds=$2
shift 2
printf '%-22s %12s %10s %10s %8s\n' target executions 'cov start' 'cov end' corpus
for target in "$@"; do
  work="$dir/corpus/$target"
  mkdir -p "$work"
  seeds="tests/fuzz/corpus/$target"
  log="$dir/$target.log"
  # tests/fuzz/NAME.dict, when there is one: protocol tokens for the mutator.
  dict=
  if [ -f "tests/fuzz/$target.dict" ]; then dict="-dict=tests/fuzz/$target.dict"; fi
  if ! "$dir/fuzz-$target" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$dir/crash-$target-" -timeout=10 -rss_limit_mb=2048 $dict \
    "$work" "$seeds" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $target failed; the input is saved as $dir/crash-$target-*" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  start=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -1)
  end=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  files=$(ls "$work" | wc -l)
  printf '%-22s %12s %10s %10s %8s\n' "$target" "$execs" "$start" "$end" "$files"
done
