"""Development check of the heads' fit with word features (BENCHMARKS.md §4): a PyTorch copy
of `consult train`'s fit (one-vs-rest logistic, embeddings [answer, question, answer*question]
plus TF-IDF word 1-2 grams, sqrt(neg/pos) positive weight, full-batch Adam, 1,000 epochs) at
several L2 penalties and learning rates, scored with one threshold for every code.
Usage: .venv/bin/python bench/fft_words_l2_dev.py SETS_DIR (from bench/fft_dev_split.py)."""
import csv, os, sys, time, numpy as np, re, torch
from sentence_transformers import SentenceTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer
torch.set_num_threads(1)
d=sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_fft_sets
train, test, gold, scored = load_fft_sets(d)
tra=[r["text"] for r in train]; trq=[r["question"] for r in train]
tea=[t for _,t,_ in test]; teq=[q for _,_,q in test]
m=SentenceTransformer("models/all-MiniLM-L6-v2",device="cpu")
def emb(xs): return m.encode(xs,batch_size=64,normalize_embeddings=True)
qs=sorted(set(trq)|set(teq)); qe=dict(zip(qs,emb(qs)))
def feats(E,Q): Qm=np.stack([qe[q] for q in Q]); return np.hstack([E,Qm,E*Qm])
Xtr=feats(emb(tra),trq); Xte=feats(emb(tea),teq)
Ytr_s=[set(filter(None,r["codes"].split(";"))) for r in train]
mlb=MultiLabelBinarizer(classes=sorted({c for y in Ytr_s for c in y}|{c for y in gold.values() for c in y}))
Ytr=mlb.fit_transform(Ytr_s).astype(np.float32); G=mlb.transform([gold[i] for i,_,_ in test])
idx=[list(mlb.classes_).index(c) for c in scored]
vec=TfidfVectorizer(ngram_range=(1,2),min_df=2,sublinear_tf=True)
Ttr=vec.fit_transform([a+" "+q for a,q in zip(tra,trq)]); Tte=vec.transform([a+" "+q for a,q in zip(tea,teq)])
def sparse(M):
    M=M.tocoo(); return torch.sparse_coo_tensor(np.vstack([M.row,M.col]),M.data.astype(np.float32),M.shape).coalesce()
def fit(Xd,S,Y,epochs,lr,l2,l2lex,lexw,pwpow=0.5):
    torch.manual_seed(0)
    Xd=torch.tensor(Xd); Y=torch.tensor(Y); n,k=Y.shape
    We=torch.zeros(Xd.shape[1],k,requires_grad=True); Wl=torch.zeros(S.shape[1],k,requires_grad=True); b=torch.zeros(k,requires_grad=True)
    pos=Y.sum(0).clamp_min(1); pw=((n-pos)/pos)**pwpow
    opt=torch.optim.Adam([We,Wl,b],lr=lr)
    for e in range(epochs):
        z=Xd@We+torch.sparse.mm(S,Wl)*lexw+b
        loss=torch.nn.functional.binary_cross_entropy_with_logits(z,Y,pos_weight=pw)+l2*(We**2).sum()+l2lex*(Wl**2).sum()
        opt.zero_grad(); loss.backward(); opt.step()
    return We.detach(),Wl.detach(),b.detach()
def report(name,P):
    print(f"{name:40s} micro {f1_score(G[:,idx],P[:,idx],average='micro',zero_division=0):.3f} macro {f1_score(G[:,idx],P[:,idx],average='macro',zero_division=0):.3f}",flush=True)
Str=sparse(Ttr); Ste=sparse(Tte)
runs=[(0.01,1000,1e-5,1e-5),(0.03,1000,1e-5,1e-5),(0.01,2000,1e-5,1e-5),(0.01,1000,3e-6,3e-6),(0.01,1000,3e-5,3e-5),
      (0.01,1000,1e-6,1e-6),(0.01,1000,3e-6,1e-5),(0.01,1000,1e-5,3e-6),(0.01,1000,1e-6,3e-6)]
for (lr,ep,l2e,l2l) in runs:
    t0=time.time(); We,Wl,b=fit(Xtr,Str,Ytr,ep,lr,l2e,l2l,1.0,0.5)
    p=torch.sigmoid(torch.tensor(Xte)@We+torch.sparse.mm(Ste,Wl)+b).numpy()
    for t in [0.3,0.4,0.5]: report(f"lr {lr} epochs {ep} l2 {l2e}/{l2l} t{t} ({time.time()-t0:.0f}s)",(p>t).astype(int))
