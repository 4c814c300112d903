#!/bin/bash
# run_valgrind.sh — the test suite under valgrind memcheck (`make test-valgrind`; see RELIABILITY.md).
#   BUILD=build-vg tests/run_valgrind.sh build-vg/tests/test_a build-vg/tests/test_b ...
#
# Each test binary runs through tests/run_tests.sh as usual, wrapped in valgrind; so does every child
# it forks (valgrind follows fork) and every `sbir` it starts: the tests find the program as
# $BUILD/sbir, and BUILD points them at a folder whose `sbir` execs valgrind on the real one. Other
# programs the tests start (sh, make, cc, node, a browser, python3, mpirun) run natively. test_install
# keeps the real BUILD (it runs `make install BUILD=...`): the copies it installs and the example it
# builds run natively.
#
# Every process writes its own log, $BUILD/valgrind/<test>[.sbir].<pid>.log. Any memcheck error or
# definitely lost block fails the run: valgrind's exit status 99 fails a test that checks its child's
# status, and the logs are scanned afterwards anyway (a test that expects `sbir` to fail would not
# notice valgrind's status). A forked child that execs another program (popen, system: sh, node,
# mpirun) and a process killed on purpose (test_crash_safety's SIGKILLs) leave logs without a
# summary: counted, not failed. Suppressions: tests/valgrind.supp (third-party code only).
#
# Environment: SBIR_UNDER_VALGRIND=1 is set for the tests (a few shorten their heaviest loops, see
# RELIABILITY.md); VG_JOBS=N runs N tests at once (default 1); VG_EXTRA adds valgrind options.
set -u
B=${BUILD:-build-vg}
REAL=$(cd "$B" && pwd)
ROOT=$(pwd)
LOGS=$REAL/valgrind
JOBS=${VG_JOBS:-1}
rm -rf "$LOGS"
mkdir -p "$LOGS/bin" "$LOGS/wrap" "$LOGS/out"
export SBIR_UNDER_VALGRIND=1
export OMP_WAIT_POLICY=passive # spinning OpenMP workers are very slow under valgrind's serialised threads
# libjpeg-turbo's SIMD upsampling reads a little past the defined part of its row buffers; memcheck's
# approximate tracking through the vector shuffles then marks the last output columns of a DCT-scaled
# decode undefined (in our resize code, where they are used), although the pixels are the same with
# any heap contents and equal to the scalar decoder's. Its scalar path is exact under memcheck.
export JSIMD_FORCENONE=1

VG="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
--show-leak-kinds=definite --track-origins=no --num-callers=40 --smc-check=all-non-file --trace-children=no \
--suppressions=$ROOT/tests/valgrind.supp --suppressions=/usr/share/openmpi/openmpi-valgrind.supp \
--gen-suppressions=all ${VG_EXTRA:-}"
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] || VG=${VG/--suppressions=\/usr\/share\/openmpi\/openmpi-valgrind.supp/}

# the sbir the tests start
cat > "$LOGS/bin/sbir" <<EOF
#!/bin/sh
exec $VG --log-file="$LOGS/\${VG_TEST:-unknown}.sbir.%p.log" "$REAL/sbir" "\$@"
EOF
chmod +x "$LOGS/bin/sbir"

# one wrapper per test, named like it (run_tests.sh prints the name)
wrapped=()
for t in "$@"; do
  name=$(basename "$t")
  build_env="$LOGS/bin"
  [ "$name" = test_install ] && build_env="$REAL"
  cat > "$LOGS/wrap/$name" <<EOF
#!/bin/sh
export VG_TEST=$name BUILD="$build_env"
exec $VG --log-file="$LOGS/$name.%p.log" "$(cd "$(dirname "$t")" && pwd)/$name" "\$@"
EOF
  chmod +x "$LOGS/wrap/$name"
  wrapped+=("$LOGS/wrap/$name")
done

# A queue of tests, JOBS at a time, the slowest first (their times under memcheck here: test_train
# about an hour, test_limits, test_browser, test_crash_safety and test_serve several minutes each), so
# the workers finish together. Each test runs through its own run_tests.sh, its output in out/<test>.out.
slow="test_train test_limits test_browser test_crash_safety test_serve test_collection test_shards test_index_cmd test_content_embedding test_net test_collection_integrity test_api test_search"
queue=()
for s in $slow; do for w in "${wrapped[@]}"; do [ "$(basename "$w")" = "$s" ] && queue+=("$w"); done; done
for w in "${wrapped[@]}"; do case " $slow " in *" $(basename "$w") "*) ;; *) queue+=("$w") ;; esac; done
start=$(date +%s)
[ ${#queue[@]} -gt 0 ] && printf '%s\n' "${queue[@]}" | xargs -P "$JOBS" -I{} sh -c \
  'n=$(basename "$1"); tests/run_tests.sh "$1" > "$2/out/$n.out" 2> "$2/out/$n.err"' _ {} "$LOGS"
secs=$(( $(date +%s) - start ))

# per-test lines, then what failed
cat "$LOGS"/out/*.out | grep -E '^test_[a-z0-9_]+ ' | sort
cat "$LOGS"/out/*.err | grep -E 'crashed or exited early|^\[[a-z_0-9]*\] FAIL' || true

# the logs: any process with errors or definite leaks
bad=0; procs=0; killed=0
for l in "$LOGS"/*.log; do
  [ -e "$l" ] || continue
  procs=$((procs + 1))
  sum=$(grep -h 'ERROR SUMMARY:' "$l" | tail -1 | sed 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/')
  if [ -z "$sum" ]; then killed=$((killed + 1)); continue; fi
  if [ "$sum" -ne 0 ]; then
    bad=$((bad + 1))
    echo "valgrind: $sum error(s) in $(basename "$l"): $(grep -h -m1 'Command:' "$l" | sed 's/.*Command: //' | cut -c1-160)"
    grep -h -m1 -A12 -E '== (Invalid|Conditional|Use of unini|Syscall param|Mismatched|.* definitely lost|Source and destination)' "$l" | sed 's/^==[0-9]*== /    /' | head -14
  fi
done
totals=$(cat "$LOGS"/out/*.out | grep '^tests: ' | awk '{p+=$2; f+=$4; s+=$6} END {printf "%d passed, %d failed, %d skipped", p, f, s}')
echo "valgrind: $procs processes checked ($killed without a summary: forked children that exec'd another program, or killed on purpose), $bad with errors; logs in $LOGS"
echo "tests under valgrind: $totals in ${secs}s"
tests_ok=1
for t in "${queue[@]}"; do f="$LOGS/out/$(basename "$t").out"; tail -1 "$f" 2> /dev/null | grep -q ' 0 failed' || tests_ok=0; done
[ "$bad" -eq 0 ] && [ "$tests_ok" -eq 1 ]
