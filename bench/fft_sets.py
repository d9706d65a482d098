"""NHS FFT multi-label benchmark sets (issue: learn from a coded sample).

Split: fold = FNV-1a(Comment ID) % 5, the same hash consult's train-sentiment uses; fold 0 is
the test set. Writes into OUT_DIR (never committed):
  train_gold.csv  id, question, text, codes          (folds 1-4; gold for `consult train`)
  test_input.csv  id, then one column per FFT question holding the answer (for `consult analyse`)
  test_gold.csv   id, codes
  codes_min3.txt  comma-separated codes with at least 3 test examples (scored codes)
Codes are the 49 theme columns, as slugs. With FOLD (1-4), that fold is the test set and the
other four train (k-fold figures, bench/fft_cv.sh); the default is fold 0. With FOLD `all`, every
answer goes into train_gold.csv and nothing is held out (the whole sample an officer would train
on: training time, BENCHMARKS.md section 4); the test files are then empty.
Usage: python3 bench/fft_sets.py SHARED_DATA OUT_DIR [FOLD|all]
"""
import csv, os, re, sys

from common import fold as fnv, tidy

data, out = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else "0"
test_fold = None if arg == "all" else int(arg)
assert test_fold is None or test_fold in range(5), "the test fold is 0-4 or all"
os.makedirs(out, exist_ok=True)

def slug(s):
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")

with open(f"{data}/nhs_fft/v6framework_dev.csv", encoding="utf-8") as fh:
    rdr = csv.DictReader(fh)
    cols = rdr.fieldnames
    themes = cols[cols.index("Not assigned") + 1:]  # "Not assigned" marks answers with no theme
    rows = list(rdr)
assert len(themes) == 49, len(themes)
train, test = [], []
for r in rows:
    text = tidy(r["FFT answer"])
    if not text:
        continue
    codes = ";".join(slug(t) for t in themes if r[t].strip() in ("1", "1.0"))
    item = (r["Comment ID"].strip(), tidy(r["FFT question"]), text, codes)
    (test if fnv(item[0]) == test_fold else train).append(item)
questions = sorted({q for _, q, _, _ in test})
with open(f"{out}/train_gold.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "question", "text", "codes"])
    w.writerows(train)
with open(f"{out}/test_input.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id"] + questions)
    for i, q, t, _ in test:
        w.writerow([i] + [t if q == qq else "" for qq in questions])
with open(f"{out}/test_gold.csv", "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "codes"])
    w.writerows((i, c) for i, _, _, c in test)
counts = {}
for *_, c in test:
    for code in filter(None, c.split(";")):
        counts[code] = counts.get(code, 0) + 1
scored = sorted(c for c, n in counts.items() if n >= 3)
open(f"{out}/codes_min3.txt", "w").write(",".join(scored))
open(f"{out}/questions.txt", "w").write("\n".join(questions) + "\n")
print(f"fft: {len(train)} train, {len(test)} test answers; {len(scored)} codes with >= 3 test examples", file=sys.stderr)
