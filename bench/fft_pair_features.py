# One-off NHS FFT experiment (eleventh session; BENCHMARKS.md §4, "tried and not taken").
# It takes the test answers (id, question, answer as `analyse` normalised it) from a dump that
# `consult analyse --head` does not write (only its "id", "q" and "a" are used here): made by a temporary patch, not kept, that in src/analyse.rs's trained-head branch pushed
#   {"id", "q": question text, "a": answer text, "p": head.probs(&sentiment::features(a, q), &head.words(a, q))}
# as a JSON line per coded answer to the file named by $CONSULT_DUMP_PROBS.
# Compare head features on a dev split: [a, q, a*q] (shipped) vs pooled (q, a) pair, vs both;
# character n-grams beside the word n-grams; and the heads mixed with a k-nearest-neighbour vote
# of the training answers (k 15, cosine^4 weights, fine-tuned encoder), thresholds out of fold.
# usage: .venv/bin/python bench/fft_pair_features.py ENCODER_DIR SPLIT_DIR DUMP.jsonl
import sys, os, csv, json, numpy as np, torch
from transformers import BertModel, BertConfig, BertTokenizerFast
from safetensors.torch import load_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, KFold
from scipy.sparse import hstack, csr_matrix
from common import micro_macro_f1
torch.set_num_threads(2)
enc, split, dump = sys.argv[1:4]
m = BertModel(BertConfig.from_pretrained(enc), add_pooling_layer=False).eval()
m.load_state_dict({k: v for k, v in load_file(enc + '/model.safetensors').items() if not k.startswith('pooler')}, strict=False)
tok = BertTokenizerFast.from_pretrained(enc)
def emb(a, b=None):
    out = np.zeros((len(a), 384), dtype=np.float32)
    order = sorted(range(len(a)), key=lambda i: len(a[i]) + (len(b[i]) if b else 0))
    with torch.no_grad():
        for s in range(0, len(order), 64):
            idx = order[s:s+64]
            t = tok([a[i] for i in idx], [b[i] for i in idx] if b else None, truncation=True, max_length=128 if b else 256, padding=True, return_tensors='pt')
            h = m(**t).last_hidden_state; mk = t['attention_mask'].unsqueeze(-1).float()
            p = (h * mk).sum(1) / mk.sum(1)
            out[idx] = torch.nn.functional.normalize(p, dim=-1).numpy()
    return out
tr = list(csv.DictReader(open(split + '/train_gold.csv')))
te = [json.loads(l) for l in open(dump)]
codes = sorted({c for r in tr for c in r['codes'].split(';') if c})
Y = np.array([[c in r['codes'].split(';') for c in codes] for r in tr], dtype=int)
g = {r['id']: set(c for c in r['codes'].split(';') if c) for r in csv.DictReader(open(split + '/test_gold.csv'))}
keep = [c.strip() for c in open(split + '/codes_min3.txt').read().strip().split(',')]
cache = split + '/pairfeat_' + os.path.basename(os.path.dirname(enc.rstrip('/'))) + '.npz'
if os.path.exists(cache):
    z = np.load(cache); A, Q, P, At, Qt, Pt = [z[k] for k in 'A Q P At Qt Pt'.split()]
else:
    A = emb([r['text'] for r in tr]); Q = emb([r['question'] for r in tr]); P = emb([r['question'] for r in tr], [r['text'] for r in tr])
    At = emb([r['a'] for r in te]); Qt = emb([r['q'] for r in te]); Pt = emb([r['q'] for r in te], [r['a'] for r in te])
    np.savez(cache, A=A, Q=Q, P=P, At=At, Qt=Qt, Pt=Pt)
tf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
T = tf.fit_transform([r['text'] + ' ' + r['question'] for r in tr]); Tt = tf.transform([r['a'] + ' ' + r['q'] for r in te])
def evaluate(name, oof, P_):
    th = np.full(len(codes), 0.5)
    for j_ in range(len(codes)):
        y = Y[:, j_]; best = (0, 0.5)
        for t in np.arange(0.05, 0.95, 0.025):
            pr = oof[:, j_] >= t; tp = (pr & (y == 1)).sum(); f = 2*tp / max(1, pr.sum() + y.sum())
            if f > best[0]: best = (f, t)
        th[j_] = max(best[1], 0.3)
    pred = {}
    for k_, r in enumerate(te):
        s_ = [j_ for j_ in range(len(codes)) if P_[k_, j_] >= th[j_]]
        if not s_: s_ = [int(np.argmax(P_[k_]))]
        pred[r['id']] = {codes[j_] for j_ in s_}
    print('%-20s micro %.3f macro %.3f' % (name, *micro_macro_f1(pred, g, keep)), flush=True)
def run(name, X, Xt, C=10.0):
    X = hstack([csr_matrix(X), T]).tocsr(); Xt = hstack([csr_matrix(Xt), Tt]).tocsr()
    oof = np.zeros(Y.shape); P_ = np.zeros((Xt.shape[0], len(codes)))
    for j, c in enumerate(codes):
        y = Y[:, j]
        if y.sum() < 2: continue
        clf = LogisticRegression(C=C, max_iter=2000)
        oof[:, j] = cross_val_predict(clf, X, y, cv=KFold(3, shuffle=True, random_state=0), method='predict_proba')[:, 1]
        P_[:, j] = clf.fit(X, y).predict_proba(Xt)[:, 1]
    evaluate('%s C=%g' % (name, C), oof, P_)
run('a,q,a*q', np.hstack([A, Q, A*Q]), np.hstack([At, Qt, At*Qt]))
run('pair', P, Pt)
run('pair,a,q,a*q', np.hstack([P, A, Q, A*Q]), np.hstack([Pt, At, Qt, At*Qt]))
run('pair,a', np.hstack([P, A]), np.hstack([Pt, At]))
# Character 2-5 grams within words beside the word 1-2 grams (misspellings are common in FFT).
import scipy.sparse as sp
base_T, base_Tt = T, Tt
cv = TfidfVectorizer(analyzer='char_wb', ngram_range=(2, 5), min_df=2, sublinear_tf=True)
C_ = cv.fit_transform([r['text'] + ' ' + r['question'] for r in tr]); Ct = cv.transform([r['a'] + ' ' + r['q'] for r in te])
for wc in (0.5, 1.0):
    T = sp.hstack([base_T, wc * C_]).tocsr(); Tt = sp.hstack([base_Tt, wc * Ct]).tocsr()
    run('+char wb2-5 x%g' % wc, np.hstack([A, Q, A*Q]), np.hstack([At, Qt, At*Qt]))
# The nearest-neighbour vote, on the shipped features and word n-grams only.
T, Tt = base_T, base_Tt
X = np.hstack([A, Q, A*Q]); Xt = np.hstack([At, Qt, At*Qt])
Xs = hstack([csr_matrix(X), T]).tocsr(); Xst = hstack([csr_matrix(Xt), Tt]).tocsr()
kf = list(KFold(3, shuffle=True, random_state=0).split(Xs))
def knn(trainA, trainY, queryA, k=15, self_ex=False):
    S = queryA @ trainA.T
    if self_ex: np.fill_diagonal(S, -1)
    idx = np.argpartition(-S, k, axis=1)[:, :k]
    w = np.take_along_axis(S, idx, 1).clip(0) ** 4
    return (w[:, :, None] * trainY[idx]).sum(1) / (w.sum(1, keepdims=True) + 1e-9)
# OOF probabilities for heads and knn
oof_h = np.zeros(Y.shape); oof_k = np.zeros(Y.shape); Ph = np.zeros((Xst.shape[0], len(codes)))
for a, b in kf:
    oof_k[b] = knn(A[a], Y[a], A[b])
Pk = knn(A, Y, At)
for j_, c in enumerate(codes):
    y = Y[:, j_]
    if y.sum() < 2: continue
    for a, b in kf:
        if y[a].sum() == 0: continue
        oof_h[b, j_] = LogisticRegression(C=10, max_iter=2000).fit(Xs[a], y[a]).predict_proba(Xs[b])[:, 1]
    Ph[:, j_] = LogisticRegression(C=10, max_iter=2000).fit(Xs, y).predict_proba(Xst)[:, 1]
evaluate('heads', oof_h, Ph)
evaluate('knn', oof_k, Pk)
for w in (0.2, 0.35, 0.5):
    evaluate('blend %.2f' % w, (1-w)*oof_h + w*oof_k, (1-w)*Ph + w*Pk)
