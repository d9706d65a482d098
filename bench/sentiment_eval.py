"""Sentiment benchmarks (issue 6): consult's head next to VADER (vaderSentiment 3.3.2) on the
sets bench/sentiment_sets.py writes, scored from `consult sentiment` outputs.

Usage: .venv/bin/python bench/sentiment_eval.py SETS_DIR
Expects SETS_DIR/consult_<set>.csv (id, tone, score, p1..p5) for fft, consultation,
vader_{tweets,movie,nyt,amazon} and sst2_dev. Prints markdown tables.

VADER reads the answer alone (it has no notion of the question). Its compound score is put in
classes two ways: the usual cut-offs (|c| < 0.05 neutral; 5 grades: >= 0.5, >= 0.05, > -0.05,
> -0.5, else) and cut-offs fitted for accuracy on NHS FFT folds 1-4 (never on fold 0).
consult's 5-class answer is the most probable grade, its 3-class answer the largest of
p1+p2 / p3 / p4+p5, its consultation tone the `tone` column (positive/neutral/negative/mixed).
"""
import csv, sys
import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

d = sys.argv[1]
vader = SentimentIntensityAnalyzer()


def rows(name):
    return list(csv.DictReader(open(f"{d}/{name}.csv", encoding="utf-8")))


def consult(name):
    return {r["id"]: r for r in rows(f"consult_{name}")}


def compound(texts):
    return np.array([vader.polarity_scores(t)["compound"] for t in texts])


def acc_f1(pred, true, classes):
    pred, true = np.asarray(pred), np.asarray(true)
    f1s = []
    for c in classes:
        tp = np.sum((pred == c) & (true == c))
        fp = np.sum((pred == c) & (true != c))
        fn = np.sum((pred != c) & (true == c))
        if tp + fn:
            f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(pred == true)), float(np.mean(f1s))


def bins(c, cuts):
    """Grade 1 (very positive) .. k from descending cut-offs."""
    g = np.full(len(c), len(cuts) + 1)
    for i, t in reversed(list(enumerate(cuts))):
        g[c >= t] = i + 1
    return g


def fit_cuts(c, y, start):
    """Descending cut-offs maximising accuracy, by coordinate search over a 0.01 grid."""
    cuts = list(start)
    grid = np.round(np.arange(-1.0, 1.0001, 0.01), 2)
    for _ in range(4):
        for i in range(len(cuts)):
            hi = cuts[i - 1] if i else 1.01
            lo = cuts[i + 1] if i + 1 < len(cuts) else -1.01
            best = max((np.mean(bins(c, cuts[:i] + [t] + cuts[i + 1:]) == y), -abs(t - cuts[i]), t)
                       for t in grid if lo < t < hi)
            cuts[i] = best[2]
    return cuts


to3 = np.array([0, 1, 1, 2, 3, 3])  # grade 1..5 -> 1 positive, 2 neutral, 3 negative
VADER5, VADER3 = [0.5, 0.05, -0.05, -0.5], [0.05, -0.05]

# --- NHS FFT, held-out fold 0 ------------------------------------------------------------
fft = rows("fft")
dev = [r for r in fft if r["fold"] != "0"]
test = [r for r in fft if r["fold"] == "0"]
y_dev, y = np.array([int(r["grade"]) for r in dev]), np.array([int(r["grade"]) for r in test])
c_dev, c = compound([r["text"] for r in dev]), compound([r["text"] for r in test])
cuts5 = fit_cuts(c_dev, y_dev, VADER5)
cuts3 = fit_cuts(c_dev, to3[y_dev], VADER3)
cf = consult("fft")
P = np.array([[float(cf[r["id"]][f"p{k}"]) for k in range(1, 6)] for r in test])
c5 = P.argmax(1) + 1
c3 = np.stack([P[:, 0] + P[:, 1], P[:, 2], P[:, 3] + P[:, 4]]).argmax(0) + 1
print(f"### NHS FFT, held-out fold 0 (n = {len(test)}; grades 1-5, 3 classes 1-2 / 3 / 4-5)\n")
print("| method | 5-class acc | 5-class macro-F1 | 3-class acc | 3-class macro-F1 |")
print("|---|---:|---:|---:|---:|")
for name, p5, p3 in [
    ("consult (answer + question)", c5, c3),
    ("VADER compound, usual cut-offs", bins(c, VADER5), bins(c, VADER3)),
    (f"VADER compound, cut-offs fitted on folds 1-4 ({', '.join(map(str, cuts5))} / {', '.join(map(str, cuts3))})",
     bins(c, cuts5), bins(c, cuts3)),
]:
    a5, f5 = acc_f1(p5, y, range(1, 6))
    a3, f3 = acc_f1(p3, to3[y], range(1, 4))
    print(f"| {name} | {a5:.3f} | {f5:.3f} | {a3:.3f} | {f3:.3f} |")
print(f"| majority grade ({np.bincount(y_dev).argmax()}) | {np.mean(y == np.bincount(y_dev).argmax()):.3f} | | | |")

# --- consultation tone ----------------------------------------------------------------------
cons = rows("consultation")
cc = consult("consultation")
print("\n### Consultation-style statements, tone (positive / neutral / negative / mixed)\n")
print("| method | set | n | accuracy | macro-F1 | suggestions (neutral) read as neutral |")
print("|---|---|---:|---:|---:|---:|")
tones = ["positive", "neutral", "negative", "mixed"]
for label, sel in [("held-out fold 0", [r for r in cons if r["fold"] == "0"]), ("all 410 (consult trained on folds 1-4)", cons)]:
    t = [r["tone"] for r in sel]
    v = compound([r["text"] for r in sel])
    vt = ["positive" if x >= 0.05 else "negative" if x <= -0.05 else "neutral" for x in v]
    ct = [cc[r["id"]]["tone"] for r in sel]
    for name, p in [("consult", ct), ("VADER, usual cut-offs", vt)]:
        if name == "consult" and label.startswith("all"):
            name += " (optimistic)"
        a, f = acc_f1(p, t, tones)
        neu = [pi == "neutral" for pi, ti in zip(p, t) if ti == "neutral"]
        print(f"| {name} | {label} | {len(sel)} | {a:.3f} | {f:.3f} | {np.mean(neu):.3f} |")

# --- VADER human-rated sets ---------------------------------------------------------------
print("\n### Pearson r with the mean human rating (Hutto & Gilbert 2014 sets)\n")
print("| set | n | consult score | VADER compound |")
print("|---|---:|---:|---:|")
for s, title in [("tweets", "tweets"), ("movie", "movie reviews"), ("nyt", "NYT editorials"), ("amazon", "Amazon reviews")]:
    rs = rows(f"vader_{s}")
    cs = consult(f"vader_{s}")
    gold = np.array([float(r["rating"]) for r in rs])
    ours = np.array([float(cs[r["id"]]["score"]) for r in rs])
    v = compound([r["text"] for r in rs])
    print(f"| {title} | {len(rs)} | {np.corrcoef(ours, gold)[0, 1]:.3f} | {np.corrcoef(v, gold)[0, 1]:.3f} |")

# --- SST-2 dev ----------------------------------------------------------------------------
rs = rows("sst2_dev")
cs = consult("sst2_dev")
gold = np.array([int(r["label"]) for r in rs])
ours = np.array([float(cs[r["id"]]["score"]) for r in rs])
P = np.array([[float(cs[r["id"]][f"p{k}"]) for k in range(1, 6)] for r in rs])
v = compound([r["text"] for r in rs])
print(f"\n### SST-2 dev phrases, positive vs negative (n = {len(rs)})\n")
print("| method | accuracy |")
print("|---|---:|")
print(f"| consult, score > 0 | {np.mean((ours > 0) == (gold == 1)):.3f} |")
print(f"| consult, p1+p2 > p4+p5 | {np.mean((P[:, 0] + P[:, 1] > P[:, 3] + P[:, 4]) == (gold == 1)):.3f} |")
print(f"| VADER, compound >= 0 | {np.mean((v >= 0) == (gold == 1)):.3f} |")
print(f"| VADER, compound > 0 (ties at 0 negative) | {np.mean((v > 0) == (gold == 1)):.3f} |")
print(f"| (VADER compound exactly 0: {np.mean(v == 0):.1%} of phrases) | |")
