"""Writes the default codebook's hand-coded examples (models/codebooks/strategic-plan-2022-26.examples.csv,
not committed) from our development labels of the Polis statements (eval/dev/polis_labels.csv, ids
and codes only) and the statements' text in the shared data (../shared/data/polis). `consult analyse`
adds them to the codebook's own example statements when it codes zero-shot (`make codebook-examples`).

Usage: python3 scripts/codebook_examples.py DATA LABELS OUT
"""
import csv
import os
import sys

data, labels, out = sys.argv[1:4]
texts = {}
for f in sorted({r["file"] for r in csv.DictReader(open(labels, encoding="utf-8"))}):
    with open(os.path.join(data, "polis", f), encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            texts[(f, r["comment-id"].strip())] = " ".join(r["comment-body"].split())
rows = []
with open(labels, encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        key = (r["file"], r["comment_id"].strip())
        if key not in texts:
            sys.exit(f"{labels}: {r['file']} has no comment-id {r['comment_id']} in {data}/polis")
        rows.append((f"{key[0]}#{key[1]}", texts[key], r["codes"]))
tmp = out + ".partial"
with open(tmp, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "text", "codes"])
    w.writerows(rows)
os.replace(tmp, out)
print(f"codebook-examples: wrote {len(rows)} hand-coded statements to {out}")
