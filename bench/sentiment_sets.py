"""Sentiment benchmark sets (issue 6), written as CSVs for `consult sentiment` and VADER.

Usage: python3 bench/sentiment_sets.py SHARED_DATA POLIS_LABELS OUT_DIR
Writes into OUT_DIR (never committed):
  fft.csv           id, question, text, grade, fold   NHS FFT answers with a 1-5 grade; fold =
                    FNV-1a(Comment ID) % 5 as in `consult train-sentiment` (fold 0 held out)
  consultation.csv  id, text, tone, fold              our Polis tone labels (eval/dev), text
                    read from SHARED_DATA/polis; fold by FNV-1a("file#comment-id")
  vader_<set>.csv   id, text, rating                  Hutto & Gilbert's human-rated snippets
                    (mean rating, -4 .. +4): tweets, movie, nyt, amazon
  sst2_dev.csv      id, text, label                   SST-2 dev phrases (1 positive, 0 negative)
Texts are whitespace-tidied as consult does, so both tools see the same strings.
"""
import csv, os, sys

from common import fold as fnv, tidy

data, labels, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)


def write(name, header, rows):
    with open(os.path.join(out, name), "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    print(f"{name}: {len(rows)} rows", file=sys.stderr)


rows = []
with open(f"{data}/nhs_fft/v6framework_dev.csv", encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        try:
            g = int(r["Comment sentiment"].strip())
        except ValueError:
            continue
        text = tidy(r["FFT answer"])
        if 1 <= g <= 5 and text:
            k = r["Comment ID"].strip()
            rows.append([k, tidy(r["FFT question"]), text, g, fnv(k)])
write("fft.csv", ["id", "question", "text", "grade", "fold"], rows)

texts = {}
lab = list(csv.DictReader(open(labels, encoding="utf-8")))
for f in sorted({r["file"] for r in lab}):
    for r in csv.DictReader(open(f"{data}/polis/{f}", encoding="utf-8")):
        texts[(f, r["comment-id"].strip())] = tidy(r["comment-body"])
rows = []
for r in lab:
    k = f"{r['file']}#{r['comment_id'].strip()}"
    rows.append([k, texts[(r["file"], r["comment_id"].strip())], r["tone"].strip(), fnv(k)])
write("consultation.csv", ["id", "text", "tone", "fold"], rows)

for name, f in [("tweets", "tweets"), ("movie", "movieReviewSnippets"), ("nyt", "nytEditorialSnippets"), ("amazon", "amazonReviewSnippets")]:
    rows = []
    with open(f"{data}/sentiment/vader/{f}_GroundTruth.txt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3 and tidy(parts[2]):
                rows.append([parts[0], tidy(parts[2]), float(parts[1])])
    write(f"vader_{name}.csv", ["id", "text", "rating"], rows)

rows = []
with open(f"{data}/sentiment/sst2/dev.tsv", encoding="utf-8") as fh:
    next(fh)
    for i, line in enumerate(fh, 1):
        s, l = line.rstrip("\n").rsplit("\t", 1)
        if tidy(s):
            rows.append([i, tidy(s), int(l)])
write("sst2_dev.csv", ["id", "text", "label"], rows)
