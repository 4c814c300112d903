#!/bin/bash
# Runs each MPI test binary under `mpirun -np 2` on loopback and adds up rank 0's results, like
# tests/run_tests.sh. Last line: "mpi tests: N passed, N failed". Needs OpenMPI's mpirun.
set -u
export SBIR_TEST_TMP=$(mktemp -d /tmp/sbir-mpi-tests.XXXXXX)
export SBIR_QUIET=1
trap 'rm -rf "$SBIR_TEST_TMP"' EXIT
# Root in CI containers; two ranks on two cores (or fewer); shared memory + loopback TCP only.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
NP=${SBIR_MPI_NP:-2}
pass=0; fail=0; broken=""
for t in "$@"; do
  name=$(basename "$t")
  start=$(date +%s.%N)
  out=$(timeout 600 mpirun -np "$NP" "$t" 2> >(sed "s/^/[$name] /" >&2)); rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  line=$(printf '%s\n' "$out" | grep '^RESULT ' | tail -1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -20 >&2
    echo "[$name] crashed or exited early (status $rc)" >&2
    fail=$((fail + 1)); broken="$broken $name"; continue
  fi
  read -r _ p f s <<< "$line"
  pass=$((pass + p)); fail=$((fail + f))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { fail=$((fail + 1)); broken="$broken $name"; }
  [ "$f" -ne 0 ] && broken="$broken $name"
  printf '%-28s %4d passed %3d failed  %6.2fs  (mpirun -np %d)\n' "$name" "$p" "$f" "$secs" "$NP"
done
[ -n "$broken" ] && echo "failing:$broken"
echo "mpi tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
