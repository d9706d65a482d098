"""Builds evaluation inputs from ../shared/data into OUT_DIR (never committed):

  polis_input.csv / polis_gold.csv
      the 410 Polis statements with our development labels (eval/dev/polis_labels.csv):
      sub-outcome level, multi-label. DEVELOPMENT data: settings are tuned on it.
  manifesto_input.csv / manifesto_gold.csv
      UK manifesto quasi-sentences whose Manifesto Project category maps onto a plan outcome
      (mapping from ../shared/data/README.md), or onto none (out of scope: gold is empty).
      One in three coded sentences, by a stable hash. Never tuned on.

Usage: python3 bench/make_eval_sets.py SHARED_DATA OUT_DIR
"""
import csv, glob, hashlib, os, sys

from common import polis_texts, tidy, write_csv

data, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

def write(name, header, rows):
    write_csv(os.path.join(out, name), header, rows)

# Polis development set.
texts = polis_texts(data)
inp, gold = [], []
with open(os.path.join(root, "eval/dev/polis_labels.csv"), encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        key = f"{r['file']}#{r['comment_id']}"
        inp.append((key, texts[key]))
        gold.append((key, r["codes"]))
write("polis_input.csv", ["id", "text"], inp)
write("polis_gold.csv", ["id", "codes"], gold)

# Manifesto outcome-level set.
OUTCOME = {}
for c in ("501", "416"):
    OUTCOME[c] = "5"
for c in ("502", "606", "607", "705", "706", "202", "301"):
    OUTCOME[c] = "6"
for c in ("506", "507"):
    OUTCOME[c] = "7"
for c in range(401, 416):
    OUTCOME[str(c)] = "8"
for c in ("504", "505", "605"):
    OUTCOME[c] = "9"
inp, gold = [], []
for path in sorted(glob.glob(os.path.join(data, "manifestos", "5*.csv"))):
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as fh:
        rdr = csv.reader(fh)
        next(rdr)
        for i, row in enumerate(rdr):
            text, code = tidy(row[0]), row[1].strip()
            if code in ("NA", "", "000") or len(text.split()) < 4:
                continue
            key = f"{name}#{i}"
            if int(hashlib.sha1(key.encode()).hexdigest(), 16) % 3:
                continue
            inp.append((key, text))
            gold.append((key, OUTCOME.get(code.split(".")[0], "")))
write("manifesto_input.csv", ["id", "text"], inp)
write("manifesto_gold.csv", ["id", "codes"], gold)
in_scope = sum(1 for _, g in gold if g)
print(f"polis: {len(texts)} statements; manifestos: {len(inp)} sentences ({in_scope} in an outcome area)", file=sys.stderr)
