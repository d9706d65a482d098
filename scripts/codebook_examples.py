"""Writes the default codebook's hand-coded examples (models/codebooks/strategic-plan-2022-26.examples.csv,
not committed) from our development labels, which hold ids and codes only, and the statements'
text in the shared data:
  - eval/dev/polis_labels.csv: 410 Polis statements (../shared/data/polis);
  - eval/dev/manifesto_code_labels.csv: 212 manifesto sentences (../shared/data/manifestos),
    none from the third that BENCHMARKS.md scores.
`consult analyse` adds them to the codebook's own example statements when it codes zero-shot
(`make codebook-examples`).

Usage: python3 scripts/codebook_examples.py DATA POLIS_LABELS MANIFESTO_LABELS OUT
"""
import csv
import os
import sys

data, polis_labels, manifesto_labels, out = sys.argv[1:5]


def tidy(s):
    return " ".join(s.split())


rows = []
texts = {}
with open(polis_labels, encoding="utf-8") as fh:
    polis = list(csv.DictReader(fh))
for f in sorted({r["file"] for r in polis}):
    with open(os.path.join(data, "polis", f), encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            texts[(f, r["comment-id"].strip())] = tidy(r["comment-body"])
for r in polis:
    key = (r["file"], r["comment_id"].strip())
    if key not in texts:
        sys.exit(f"{polis_labels}: {r['file']} has no comment-id {r['comment_id']} in {data}/polis")
    rows.append((f"{key[0]}#{key[1]}", texts[key], r["codes"]))
with open(manifesto_labels, encoding="utf-8") as fh:
    manifesto = list(csv.DictReader(fh))
sentences = {}
for f in sorted({r["file"] for r in manifesto}):
    with open(os.path.join(data, "manifestos", f), encoding="utf-8") as fh:
        sentences[f] = [tidy(r.get("text") or r.get("content") or "") for r in csv.DictReader(fh)]
for r in manifesto:
    row = int(r["row"])
    if not 1 <= row <= len(sentences[r["file"]]):
        sys.exit(f"{manifesto_labels}: {r['file']} has no data row {row} in {data}/manifestos")
    rows.append((f"{r['file']}#{row}", sentences[r["file"]][row - 1], r["codes"]))
tmp = out + ".partial"
with open(tmp, "w", newline="", encoding="utf-8") as fh:
    w = csv.writer(fh)
    w.writerow(["id", "text", "codes"])
    w.writerows(rows)
os.replace(tmp, out)
print(f"codebook-examples: wrote {len(rows)} hand-coded statements ({len(polis)} Polis, {len(manifesto)} manifesto) to {out}")
