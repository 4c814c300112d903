#!/bin/bash
# run.sh — runs each fuzz target for FUZZ_SECONDS (called by `make fuzz`; see RELIABILITY.md).
#   FUZZ_BUILD=build-fuzz-clang FUZZ_SECONDS=10 fuzz/run.sh fuzz_qd_ndjson fuzz_index ...
# Each target starts from fuzz/corpus/<target>/ (committed, hand-written) and the seeds make_seeds
# generates from ../shared/data; what it learns goes to $FUZZ_BUILD/corpus/<target>/ (kept between
# runs, not committed), crash reproducers to $FUZZ_BUILD/artifacts/<target>/. Every target runs even
# after one fails; the exit status is non-zero if any crashed, leaked, timed out or ran out of memory.
# The reproducers in fuzz/crashes/<target>/ are replayed first: a fixed bug must stay fixed.
set -u
B=${FUZZ_BUILD:-build-fuzz-clang}
SECS=${FUZZ_SECONDS:-10}
export OMP_NUM_THREADS=1 SBIR_QUIET=1
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"

# Largest input per target: big enough for the seeds, small enough to keep executions fast.
max_len() {
  case "$1" in
    fuzz_image) echo 65536 ;;
    fuzz_collection|fuzz_import_bam) echo 65536 ;;
    fuzz_qd_ndjson) echo 32768 ;;
    fuzz_index|fuzz_model|fuzz_safetensors|fuzz_serve_http) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

"$B/make_seeds" "$B/seeds" ${SBIR_SHARED_DATA:-../shared/data} || exit 1
failed=""
for t in "$@"; do
  bin="$B/fuzz/$t"
  mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "$B/seeds/$t" "fuzz/corpus/$t"
  if compgen -G "fuzz/crashes/$t/*" > /dev/null; then
    # replaying fixed reproducers: each must now run cleanly
    if ! "$bin" -rss_limit_mb=2048 -timeout=20 fuzz/crashes/$t/* > "$B/artifacts/$t/replay.log" 2>&1; then
      echo "$t: a reproducer in fuzz/crashes/$t fails again (see $B/artifacts/$t/replay.log)"
      failed="$failed $t"
      continue
    fi
  fi
  log="$B/artifacts/$t/fuzz.log"
  dict=(); [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  "$bin" "${dict[@]}" -max_total_time="$SECS" -max_len="$(max_len "$t")" -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20 \
    -print_final_stats=1 -artifact_prefix="$B/artifacts/$t/" \
    "$B/corpus/$t" "fuzz/corpus/$t" "$B/seeds/$t" > "$log" 2>&1
  rc=$?
  stats=$(grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | awk '{printf "%s ", $2}')
  corpus=$(ls "$B/corpus/$t" | wc -l)
  if [ $rc -ne 0 ]; then
    echo "$t: FAILED (status $rc; executions, peak RSS MB: $stats; see $log)"
    grep -m3 -E 'ERROR|SUMMARY|FUZZ INVARIANT|runtime error' "$log" | sed 's/^/    /'
    failed="$failed $t"
  else
    printf '%-22s ok  %ss  executions, peak RSS MB: %s corpus %s\n' "$t" "$SECS" "$stats" "$corpus"
  fi
done
[ -n "$failed" ] && { echo "fuzz: failing:$failed"; exit 1; }
echo "fuzz: all ${#@} targets clean for ${SECS}s each"
