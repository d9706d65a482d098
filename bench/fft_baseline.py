"""pxtextmining's classic model on the same split: TF-IDF (word 1-2 grams) + one-vs-rest
linear SVC (class_weight balanced), input = answer + question. Scores micro and macro F1 over
the codes listed in codes_min3.txt, as `consult evaluate --only` does.
Usage: python bench/fft_baseline.py SETS_DIR"""
import csv, sys, time
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC
from sklearn.metrics import f1_score

d = sys.argv[1]
train = list(csv.DictReader(open(f"{d}/train_gold.csv", encoding="utf-8")))
test_in = list(csv.DictReader(open(f"{d}/test_input.csv", encoding="utf-8")))
gold = {r["id"]: set(filter(None, r["codes"].split(";"))) for r in csv.DictReader(open(f"{d}/test_gold.csv", encoding="utf-8"))}
scored = open(f"{d}/codes_min3.txt").read().split(",")
def test_text(r):
    for q, t in r.items():
        if q != "id" and t:
            return t + " " + q
X_train = [r["text"] + " " + r["question"] for r in train]
Y_train = [set(filter(None, r["codes"].split(";"))) for r in train]
X_test = [test_text(r) for r in test_in]
Y_test = [gold[r["id"]] for r in test_in]
mlb = MultiLabelBinarizer(classes=sorted({c for y in Y_train + Y_test for c in y}))
t0 = time.perf_counter()
vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
clf = OneVsRestClassifier(LinearSVC(class_weight="balanced"))
Ytr = mlb.fit_transform(Y_train)
keep = Ytr.sum(0) > 0
clf.fit(vec.fit_transform(X_train), Ytr[:, keep])
secs = time.perf_counter() - t0
P = np.zeros((len(X_test), len(mlb.classes_)), dtype=int)
P[:, keep] = clf.predict(vec.transform(X_test))
G = mlb.transform(Y_test)
idx = [list(mlb.classes_).index(c) for c in scored]
print(f"tfidf+linearsvc: micro-F1 {f1_score(G[:, idx], P[:, idx], average='micro', zero_division=0):.3f}  "
      f"macro-F1 {f1_score(G[:, idx], P[:, idx], average='macro', zero_division=0):.3f}  "
      f"({len(scored)} codes, {len(X_test)} test answers, training {secs:.1f}s)")
