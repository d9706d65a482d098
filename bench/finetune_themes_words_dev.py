"""Side check for issue 5 (not shipped, not part of `make bench`): does a MiniLM fine-tuned on
the coded sample lift the word-feature heads on the NHS FFT themes? Development split only
(SETS_DIR from bench/fft_dev_split.py: train folds 2-4, score fold 1; fold 0 never used).

Prints, over codes_min3.txt, at one threshold rule (probability >= 0.5, else the top code):
  1. logistic heads (balanced, C 10) on TF-IDF + frozen MiniLM [a, q, a*q]  (the shipped kind)
  2. MiniLM fine-tuned end to end on (question, answer) with a sigmoid head, EPOCHS epochs
  3. the same logistic heads on TF-IDF + the fine-tuned encoder's [a, q, a*q]
  4. the mean of 1 and 2's probabilities, 5. of 3 and 2
  6. the logistic heads on TF-IDF + both encoders' features; 7. the mean of 1 and 3
Usage: .venv/bin/python bench/finetune_themes_words_dev.py SETS_DIR EPOCHS LR"""
import os, sys, time, random, numpy as np, torch, scipy.sparse as sp
from transformers import AutoTokenizer, AutoModel
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.metrics import f1_score
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import fft_label_matrices
torch.manual_seed(0); random.seed(0); np.random.seed(0); torch.set_num_threads(2)
D, EPOCHS, LR = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
M = "models/all-MiniLM-L6-v2"
tra, trq, tea, teq, Ys, mlb, Ytr, G, keep, idx = fft_label_matrices(D)
tok = AutoTokenizer.from_pretrained(M); enc = AutoModel.from_pretrained(M)

def pool(texts, pairs=None, train=False):
    enc.train(train)
    b = tok(texts, pairs, padding=True, truncation=True, max_length=128, return_tensors="pt")
    o = enc(**b).last_hidden_state; m = b["attention_mask"].unsqueeze(-1).float()
    return (o * m).sum(1) / m.sum(1)

@torch.no_grad()
def embed(texts):
    order = sorted(range(len(texts)), key=lambda i: len(texts[i])); out = [None] * len(texts)
    for k in range(0, len(order), 64):
        ch = order[k:k + 64]; e = torch.nn.functional.normalize(pool([texts[i] for i in ch]), dim=1)
        for i, v in zip(ch, e): out[i] = v.numpy()
    return np.stack(out)

def features(A, Q, qe): Qm = np.stack([qe[q] for q in Q]); return np.hstack([A, Qm, A * Qm])
vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
Ttr = vec.fit_transform([a + " " + q for a, q in zip(tra, trq)]); Tte = vec.transform([a + " " + q for a, q in zip(tea, teq)])
qs = sorted(set(trq) | set(teq))

def encoder_features():
    qe = dict(zip(qs, embed(qs)))
    return features(embed(tra), trq, qe), features(embed(tea), teq, qe)

def heads_probs(*feats):
    Xa = sp.hstack([Ttr] + [sp.csr_matrix(a) for a, _ in feats]).tocsr()
    Xb = sp.hstack([Tte] + [sp.csr_matrix(b) for _, b in feats]).tocsr()
    clf = OneVsRestClassifier(LogisticRegression(C=10, class_weight="balanced", max_iter=2000)).fit(Xa, Ytr[:, keep])
    P = np.zeros((len(tea), len(mlb.classes_))); P[:, keep] = clf.predict_proba(Xb); return P

def report(name, S, th=0.5):
    P = (S >= th).astype(int); top = S.argmax(1); P[np.arange(len(P)), top] = 1
    print(f"{name:44s} th {th:.2f} micro {f1_score(G[:, idx], P[:, idx], average='micro', zero_division=0):.3f} "
          f"macro {f1_score(G[:, idx], P[:, idx], average='macro', zero_division=0):.3f}", flush=True)

t0 = time.time(); frozen = encoder_features(); H0 = heads_probs(frozen); print(f"frozen heads {time.time()-t0:.0f}s", flush=True)
for th in (0.5, 0.6, 0.7): report("1 heads on TF-IDF + frozen MiniLM", H0, th)

head = torch.nn.Linear(384, len(mlb.classes_))
opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": LR}, {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01)
pos = torch.tensor(Ytr.mean(0)).clamp(min=1e-3); pw = ((1 - pos) / pos).sqrt()
BS = 16; steps = EPOCHS * ((len(tra) + BS - 1) // BS)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, (steps - s) / steps))
t0 = time.time()
for ep in range(EPOCHS):
    ids = list(range(len(tra))); random.shuffle(ids); bl = []
    for k in range(0, len(ids), BS * 20):
        c = sorted(ids[k:k + BS * 20], key=lambda i: len(tra[i])); bl += [c[i:i + BS] for i in range(0, len(c), BS)]
    random.shuffle(bl); tot = 0
    for bi in bl:
        logits = head(pool([trq[i] for i in bi], [tra[i] for i in bi], True))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(Ytr[bi]), pos_weight=pw)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot += loss.item()
    print(f"epoch {ep} loss {tot/len(bl):.3f} {time.time()-t0:.0f}s", flush=True)
with torch.no_grad():
    enc.eval()
    F = np.concatenate([torch.sigmoid(head(pool(teq[i:i + 64], tea[i:i + 64]))).numpy() for i in range(0, len(tea), 64)])
for th in (0.5, 0.6, 0.7): report("2 fine-tuned, sigmoid head", F, th)
t0 = time.time(); tuned = encoder_features(); H1 = heads_probs(tuned); print(f"tuned heads {time.time()-t0:.0f}s", flush=True)
for th in (0.5, 0.6, 0.7): report("3 heads on TF-IDF + fine-tuned MiniLM", H1, th)
for th in (0.4, 0.5, 0.6): report("4 mean of 1 and 2", (H0 + F) / 2, th)
for th in (0.4, 0.5, 0.6): report("5 mean of 3 and 2", (H1 + F) / 2, th)
H2 = heads_probs(frozen, tuned)
for th in (0.5, 0.6, 0.7): report("6 heads on TF-IDF + frozen + fine-tuned", H2, th)
for th in (0.5, 0.6): report("7 mean of 1 and 3", (H0 + H1) / 2, th)
