"""Praise and complaint with and without a negation word, from `consult train-sentiment
--probs-out` files: per source (FftOpen: NHS FFT answers to the general questions put to an
open consultation question; Reviews: review sentences under the same questions) and true
polarity, how many held-out items are read with the right tone (consult's rule: mixed when
both positive and negative mass reach 0.3, else the largest of positive / middle / negative).

Usage: python3 bench/sentiment_negation.py ../shared/data PROBS.csv [PROBS.csv ...]
"""
import csv
import re
import sys

from common import tone

data, paths = sys.argv[1], sys.argv[2:]
text = {}
with open(f"{data}/nhs_fft/v6framework_dev.csv", encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        text[r["Comment ID"].strip()] = r["FFT answer"]
for f in ["kotzias_reviews_amazon_cells.csv", "kotzias_reviews_yelp.csv"]:
    with open(f"{data}/sentiment/sentimentr/{f}", encoding="utf-8") as fh:
        for i, r in enumerate(csv.DictReader(fh)):
            text[f"{f}#{i + 2}"] = r["text"]  # consult's key: the file and the row's line
NEGATION = re.compile(r"\b(not|no|never|nothing|none|nobody|cannot|can't|couldn't|could not|won't|wouldn't|didn't|don't|doesn't|isn't|wasn't|without)\b|n't\b", re.I)


for path in paths:
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for source in ["FftOpen", "Reviews"]:
        for negated in [True, False]:
            for polarity in ["positive", "negative"]:
                sel = [r for r in rows if r["source"] == source
                       and ("positive" if int(r["grade"]) <= 2 else "negative" if int(r["grade"]) >= 4 else "neutral") == polarity
                       and bool(NEGATION.search(text.get(r["key"], ""))) == negated]
                right = sum(tone([float(r[f"p{i}"]) for i in range(1, 6)]) == polarity for r in sel)
                out.append(f"{source} {'negated' if negated else 'plain'} {polarity}: {right}/{len(sel)}")
    print(path)
    print("  " + "\n  ".join(out))
