# summarize.py: the sweep's results grouped by configuration (seeds averaged), as a Markdown table.
# Usage: python3 summarize.py results/round*.jsonl
import json, re, sys
from collections import defaultdict

runs = defaultdict(list)
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if "error" in r:
            continue
        runs[re.sub(r"_s\d+$", "", r["name"])].append(r)
mean = lambda xs: sum(xs) / len(xs)
rows = []
for name, rs in runs.items():
    rows.append((mean([r["val"] for r in rs]), name, len(rs), mean([r["test"] for r in rs]),
                 mean([r["cw2"]["val"] for r in rs]), mean([r["cw2"]["test"] for r in rs]),
                 mean([r["train_acc_end"] for r in rs]), rs[0]["cfg"]))
base = [r for r in rows if r[1] == "base"][0]
print("| configuration | seeds | val sketch mAP | test | val at c = 2 | test at c = 2 | vs base (val / test) | training batch acc. |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for v, name, n, t, v2, t2, acc, cfg in sorted(rows, reverse=True):
    print("| %s `%s` | %d | %.3f | %.3f | %.3f | %.3f | %+.3f / %+.3f | %.2f |" % (
        name, json.dumps({k: x for k, x in cfg.items() if k != "seed"}), n, v, t, v2, t2, v - base[0], t - base[3], acc))
