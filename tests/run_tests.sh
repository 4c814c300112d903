#!/bin/bash
# Runs each test binary given on the command line, from the repository root, and adds up their
# results. The last line is "tests: N passed, N failed[, N skipped]"; exit status non-zero on any
# failure or crash. SBIR_TEST_TMP holds the tests' scratch files and is removed afterwards.
set -u
export SBIR_TEST_TMP=$(mktemp -d /tmp/sbir-tests.XXXXXX)
export SBIR_QUIET=1
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
trap 'rm -rf "$SBIR_TEST_TMP"' EXIT
pass=0; fail=0; skip=0; broken=""
for t in "$@"; do
  name=$(basename "$t")
  start=$(date +%s.%N)
  out=$("$t" 2> >(sed "s/^/[$name] /" >&2)); rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
  if [ -z "$line" ]; then
    echo "[$name] crashed or exited early (status $rc)" >&2
    fail=$((fail + 1)); broken="$broken $name"; continue
  fi
  read -r _ p f s <<< "$line"
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { fail=$((fail + 1)); broken="$broken $name"; }
  [ "$f" -ne 0 ] && broken="$broken $name"
  printf '%-28s %4d passed %3d failed %3d skipped  %6.2fs\n' "$name" "$p" "$f" "$s" "$secs"
done
[ -n "$broken" ] && echo "failing:$broken"
if [ "$skip" -gt 0 ]; then echo "tests: $pass passed, $fail failed, $skip skipped"; else echo "tests: $pass passed, $fail failed"; fi
[ "$fail" -eq 0 ]
