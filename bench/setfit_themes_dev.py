"""Side check for issue 5 (not shipped, not part of `make bench`): SetFit-style contrastive
fine-tuning of MiniLM on a small coded sample, then the word-feature heads, against the heads on
the base model (what `consult train` does under 500 answers) and against supervised fine-tuning
(what it does from 500). Development split only (SETS_DIR from bench/learning_curve.py run on
bench/fft_dev_split.py's split: train folds 2-4 cut down, score fold 1; fold 0 never used).

SetFit (Tunstall et al. 2022): pairs of training answers, positive when they share a code and
negative when they share none, R pairs of each kind per answer; the encoder (mean-pooled,
normalised answer embeddings) learns cosine 1 for positives and 0 for negatives (mean squared
error), one pass, learning rate 2e-5, batches of 16 pairs. Then the same heads as
bench/finetune_themes_words_dev.py: one-vs-rest logistic regression (balanced, C 10) on TF-IDF
word 1-2 grams + [answer, question, answer*question] embeddings, code given at p >= th, else
the most probable.

Usage: .venv/bin/python bench/setfit_themes_dev.py SETS_DIR R [SUPERVISED_EPOCHS]"""
import os, sys, time, random, numpy as np, torch, scipy.sparse as sp
from transformers import AutoTokenizer, AutoModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.metrics import f1_score
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fft_label_matrices
torch.manual_seed(0); random.seed(0); np.random.seed(0); torch.set_num_threads(2)
D, R = sys.argv[1], int(sys.argv[2])
SUP = int(sys.argv[3]) if len(sys.argv) > 3 else 0
M = "models/all-MiniLM-L6-v2"
tra, trq, tea, teq, Ys, mlb, Ytr, G, keep, idx = fft_label_matrices(D)
tok = AutoTokenizer.from_pretrained(M)


def fresh():
    return AutoModel.from_pretrained(M)


def pool(enc, texts, pairs=None, train=False):
    enc.train(train)
    b = tok(texts, pairs, padding=True, truncation=True, max_length=128, return_tensors="pt")
    o = enc(**b).last_hidden_state; m = b["attention_mask"].unsqueeze(-1).float()
    return (o * m).sum(1) / m.sum(1)


@torch.no_grad()
def embed(enc, texts):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i])); out = [None] * len(texts)
    for k in range(0, len(order), 64):
        ch = order[k:k + 64]; e = torch.nn.functional.normalize(pool(enc, [texts[i] for i in ch]), dim=1)
        for i, v in zip(ch, e): out[i] = v.numpy()
    return np.stack(out)


vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
Ttr = vec.fit_transform([a + " " + q for a, q in zip(tra, trq)]); Tte = vec.transform([a + " " + q for a, q in zip(tea, teq)])
qs = sorted(set(trq) | set(teq))


def heads(enc):
    qe = dict(zip(qs, embed(enc, qs)))
    def feats(A, Q):
        Qm = np.stack([qe[q] for q in Q]); return np.hstack([A, Qm, A * Qm])
    Xa = sp.hstack([Ttr, sp.csr_matrix(feats(embed(enc, tra), trq))]).tocsr()
    Xb = sp.hstack([Tte, sp.csr_matrix(feats(embed(enc, tea), teq))]).tocsr()
    clf = OneVsRestClassifier(LogisticRegression(C=10, class_weight="balanced", max_iter=2000)).fit(Xa, Ytr[:, keep])
    P = np.zeros((len(tea), len(mlb.classes_))); P[:, keep] = clf.predict_proba(Xb); return P


def report(name, S):
    for th in (0.5, 0.6, 0.7):
        P = (S >= th).astype(int); P[np.arange(len(P)), S.argmax(1)] = 1
        print(f"{name:40s} th {th:.1f} micro {f1_score(G[:, idx], P[:, idx], average='micro', zero_division=0):.3f} "
              f"macro {f1_score(G[:, idx], P[:, idx], average='macro', zero_division=0):.3f}", flush=True)


def schedule(opt, steps):
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))


print(f"{len(tra)} training answers, {len(tea)} scored", flush=True)
report("heads on base MiniLM", heads(fresh()))

# SetFit pairs: R positives (share a code) and R negatives (share none) per answer.
by_code = {}
for i, y in enumerate(Ys):
    for c in y: by_code.setdefault(c, []).append(i)
pairs = []
for _ in range(R):
    for i, y in enumerate(Ys):
        c = random.choice(sorted(y)); others = [j for j in by_code[c] if j != i]
        if others: pairs.append((i, random.choice(others), 1.0))
        for _ in range(20):
            j = random.randrange(len(Ys))
            if not (Ys[j] & y): pairs.append((i, j, 0.0)); break
random.shuffle(pairs)
enc = fresh()
opt = torch.optim.AdamW(enc.parameters(), lr=2e-5, weight_decay=0.01)
BS = 16; steps = (len(pairs) + BS - 1) // BS; sched = schedule(opt, steps)
t0 = time.time()
for k in range(0, len(pairs), BS):
    b = pairs[k:k + BS]
    u = torch.nn.functional.normalize(pool(enc, [tra[i] for i, _, _ in b], train=True), dim=1)
    v = torch.nn.functional.normalize(pool(enc, [tra[j] for _, j, _ in b], train=True), dim=1)
    loss = torch.nn.functional.mse_loss((u * v).sum(1), torch.tensor([t for _, _, t in b]))
    opt.zero_grad(); loss.backward(); opt.step(); sched.step()
print(f"SetFit: {len(pairs)} pairs, {time.time() - t0:.0f}s", flush=True)
report(f"heads on SetFit MiniLM (R {R})", heads(enc))

if SUP:
    enc = fresh(); head = torch.nn.Linear(384, len(mlb.classes_))
    opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": 5e-5}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    pos = torch.tensor(Ytr.mean(0)).clamp(min=1e-3); pw = ((1 - pos) / pos).sqrt()
    steps = SUP * ((len(tra) + BS - 1) // BS); sched = schedule(opt, steps); t0 = time.time()
    for ep in range(SUP):
        ids = list(range(len(tra))); random.shuffle(ids)
        for k in range(0, len(ids), BS):
            bi = ids[k:k + BS]
            logits = head(pool(enc, [trq[i] for i in bi], [tra[i] for i in bi], True))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(Ytr[bi]), pos_weight=pw)
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    print(f"supervised: {SUP} epochs, {time.time() - t0:.0f}s", flush=True)
    report(f"heads on supervised MiniLM ({SUP} ep)", heads(enc))
