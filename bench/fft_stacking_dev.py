# One-off NHS FFT experiment (twenty-third session; BENCHMARKS.md §4, "stacking", not taken).
# A second-level logistic regression per code over the logits of all codes' probabilities.
# It reads files that consult does not write: made by a temporary patch, not kept, that
#  - in src/heads.rs `train`, after the out-of-fold probabilities, wrote
#    {"codes", "oof" (n x k), "y" (n x k), "thresholds"} as JSON to $CONSULT_DUMP_OOF;
#  - in src/analyse.rs's trained-head branch appended {"q": question, "a": answer,
#    "p": head.probs(...)} as one JSON line per coded answer to $CONSULT_DUMP_PROBS
#    (one write_all per line: analyse codes answers in parallel).
# Then: CONSULT_DUMP_OOF=OUT/oof.json consult train --gold SPLIT/train_gold.csv --out OUT/head,
# CONSULT_DUMP_PROBS=OUT/probs.jsonl consult analyse ... --head OUT/head --out OUT/out, and
# usage: .venv/bin/python bench/fft_stacking_dev.py SPLIT OUT [C]
# (SPLIT from bench/fft_dev_split.py). It first replays the shipped heads' rule on the dumped
# probabilities (must match `consult evaluate`), then the stacked model, then half of each.
import sys, json, csv, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold
from common import micro_macro_f1
S, O = sys.argv[1], sys.argv[2]
C = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
d = json.load(open(O + '/oof.json'))
codes = d['codes']; oof = np.array(d['oof']); Y = np.array(d['y']) > 0.5
head = json.load(open(O + '/head/head.json'))
k = len(codes)
probs = {}
for l in open(O + '/probs.jsonl'):
    r = json.loads(l); probs[(r['q'], r['a'])] = np.array(r['p'])
rows = list(csv.DictReader(open(O + '/out/coded_responses.csv')))
gold = {r['id']: set(c for c in r['codes'].split(';') if c) for r in csv.DictReader(open(S + '/test_gold.csv'))}
keep = [c.strip() for c in open(S + '/codes_min3.txt').read().strip().split(',')]
ids, P = [], []
for r in rows:
    if r['status'] != 'coded': continue
    key = (r['question_text'], r['text'])
    if key not in probs: print('miss', key); continue
    ids.append(r['id']); P.append(probs[key])
P = np.array(P)
def lg(p): p = np.clip(p, 1e-4, 1 - 1e-4); return np.log(p / (1 - p))
def apply(p, th, max_codes, top):
    over = [i for i in range(k) if p[i] >= th[i]]
    over.sort(key=lambda i: -p[i])
    if max_codes: over = over[:max_codes]
    if not over and top: over = [int(np.argmax(p))]
    return over
def f1s(pred, truth):
    # The replay of consult's rule_f1: micro over every code, macro over the codes in the truth.
    tp = np.zeros(k); fp = np.zeros(k); fn = np.zeros(k)
    for g, y in zip(pred, truth):
        for c in range(k):
            if c in g and y[c]: tp[c] += 1
            elif c in g: fp[c] += 1
            elif y[c]: fn[c] += 1
    f = lambda t, a, b: 0 if t == 0 else 2 * t / (2 * t + a + b)
    mi = f(tp.sum(), fp.sum(), fn.sum())
    pres = [c for c in range(k) if tp[c] + fn[c] > 0]
    return mi, np.mean([f(tp[c], fp[c], fn[c]) for c in pres])
def best_t(p, y):
    best = (0.5, -1)
    for s in range(1, 20):
        t = s * 0.05; pr = p >= t
        tp = (pr & y).sum(); fp = (pr & ~y).sum(); fn = (~pr & y).sum()
        f = 0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
        if f > best[1]: best = (t, f)
    return best[0]
def choose(pp, YY, th):
    best = None
    for fl in [0.3, 0.4, 0.5]:
        t2 = np.maximum(th, fl)
        for top in [False, True]:
            for mc in [0, 1, 2, 3, 4]:
                mi, ma = f1s([apply(p, t2, mc, top) for p in pp], YY)
                if best is None or (mi + ma) / 2 > best[0] + 1e-9: best = ((mi + ma) / 2, fl, mc, top)
    return best
def score(pred_idx):
    # evaluate like consult evaluate --only keep: items = gold ids
    mi, ma = micro_macro_f1({i: set(codes[c] for c in g) for i, g in zip(ids, pred_idx)}, gold, keep)
    return round(mi, 4), round(ma, 4)
# level 1 as shipped
th = np.array(head['thresholds']); rule = head['rule']
print('level1 shipped', score([apply(p, th, rule['max_codes'], rule['top_if_none']) for p in P]))
# level 2: features = logits of all codes' OOF probs
X = lg(oof); XT = lg(P)
def fit_pred(Xtr, Ytr, Xte):
    out = np.zeros((len(Xte), k))
    for c in range(k):
        if Ytr[:, c].sum() == 0: out[:, c] = 0; continue
        m = LogisticRegression(C=C, max_iter=2000)
        m.fit(Xtr, Ytr[:, c]); out[:, c] = m.predict_proba(Xte)[:, 1]
    return out
oof2 = np.zeros_like(oof)
for tr, te in KFold(5, shuffle=True, random_state=0).split(X):
    oof2[te] = fit_pred(X[tr], Y[tr], X[te])
th2 = np.array([best_t(oof2[:, c], Y[:, c]) for c in range(k)])
b = choose(oof2, Y, th2)
print('level2 rule', b)
P2 = fit_pred(X, Y, XT)
t2 = np.maximum(th2, b[1])
print('level2 C', C, score([apply(p, t2, b[2], b[3]) for p in P2]))
# blend of level1 and level2 probs
ob = (oof + oof2) / 2
thb = np.array([best_t(ob[:, c], Y[:, c]) for c in range(k)])
bb = choose(ob, Y, thb)
print('blend 0.5', score([apply(p, np.maximum(thb, bb[1]), bb[2], bb[3]) for p in (P + P2) / 2]))
