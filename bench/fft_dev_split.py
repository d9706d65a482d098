"""Dev split inside the NHS FFT training folds, for side checks that must not touch fold 0.
Reads DIR/train_gold.csv and DIR/questions.txt (from bench/fft_sets.py) and writes into OUT:
  train_gold.csv  folds 2-4 (gold for `consult train`)
  test_input.csv  fold 1: id, then one column per FFT question holding the answer
  test_gold.csv   fold 1: id, codes
  codes_min3.txt  codes with at least 3 fold-1 examples (scored codes)
  questions.txt   the FFT questions, one a line (test_input.csv's columns), as DIR has them
With FOLD (2-4), that fold is scored instead of fold 1 and the other three are trained on.
Usage: python3 bench/fft_dev_split.py DIR OUT [FOLD]
"""
import collections, csv, os, sys

from common import fold as fnv

src, out = sys.argv[1], sys.argv[2]
dev = int(sys.argv[3]) if len(sys.argv) > 3 else 1
assert dev in (1, 2, 3, 4), "the development fold is 1-4 (fold 0 is held out)"
os.makedirs(out, exist_ok=True)

rows = list(csv.DictReader(open(f"{src}/train_gold.csv", encoding="utf-8")))
qs = [l.rstrip("\n") for l in open(f"{src}/questions.txt", encoding="utf-8")]
tr = [r for r in rows if fnv(r["id"]) != dev]
te = [r for r in rows if fnv(r["id"]) == dev]
with open(f"{out}/train_gold.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "question", "text", "codes"])
    w.writerows([r["id"], r["question"], r["text"], r["codes"]] for r in tr)
with open(f"{out}/test_input.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id"] + qs)
    w.writerows([r["id"]] + [r["text"] if q == r["question"] else "" for q in qs] for r in te)
with open(f"{out}/test_gold.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "codes"])
    w.writerows([r["id"], r["codes"]] for r in te)
n = collections.Counter(c for r in te for c in r["codes"].split(";") if c)
open(f"{out}/questions.txt", "w", encoding="utf-8").write("".join(q + "\n" for q in qs))
open(f"{out}/codes_min3.txt", "w").write(",".join(sorted(c for c, k in n.items() if k >= 3)))
print(f"train {len(tr)}, dev {len(te)}, scored codes {sum(1 for k in n.values() if k >= 3)}")
