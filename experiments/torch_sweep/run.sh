#!/bin/bash
# One round on a GPU machine (the device tool): decompress the arrays, then N workers share the
# round's configurations (SWEEP_ROUND); results in $OUT/res.jsonl, one JSON line per configuration.
cd "$(dirname "$0")"
N=${N:-8}; LIMIT=${LIMIT:-480}
nproc; nvidia-smi -L 2>&1 | head -2; python3 -c 'import torch; print(torch.__version__, torch.cuda.is_available())'
for d in p48 p64; do for f in $d/*.xz; do [ -f "${f%.xz}" ] || python3 -c "import lzma,sys; open(sys.argv[1][:-3],'wb').write(lzma.open(sys.argv[1]).read())" "$f"; done; done
echo "decompressed at $SECONDS s"
for i in $(seq 0 $((N-1))); do timeout $LIMIT python3 sweep.py $i $N "$OUT/res.jsonl" $ONLY > /tmp/w$i.log 2>&1 & done
wait
echo "done at $SECONDS s"
for i in $(seq 0 $((N-1))); do echo "== worker $i"; grep -v '^{' /tmp/w$i.log | tail -20; done > "$OUT/workers.log"
wc -l "$OUT/res.jsonl"
