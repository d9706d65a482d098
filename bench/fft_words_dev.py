"""Development check for word features in the FFT heads (BENCHMARKS.md §4): scikit-learn
models on TF-IDF (word 1-2 grams, min_df 2, sublinear tf) and on TF-IDF + MiniLM
[answer, question, answer*question], scored over codes_min3.txt; also what counting
"Nothing"-type answers as blank costs. Usage: .venv/bin/python bench/fft_words_dev.py SETS_DIR
(SETS_DIR from bench/fft_dev_split.py: never the held-out fold 0)."""
import csv, os, sys, time, numpy as np, re
from sentence_transformers import SentenceTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer
import scipy.sparse as sp
import torch; torch.set_num_threads(1)
d=sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_fft_sets
train, test, gold, scored = load_fft_sets(d)
blank=set(l.strip() for l in open("models/blank-answers.txt") if l.strip() and not l.startswith("#"))
def isblank(t):
    k=re.sub(r"[^a-z0-9 ]","",t.lower()); k=" ".join(k.split())
    return k in blank or not k
m=SentenceTransformer("models/all-MiniLM-L6-v2",device="cpu")
def emb(xs): return m.encode(xs,batch_size=64,normalize_embeddings=True)
tra=[r["text"] for r in train]; trq=[r["question"] for r in train]
tea=[t for _,t,_ in test]; teq=[q for _,_,q in test]
qs=sorted(set(trq)|set(teq)); qe=dict(zip(qs,emb(qs)))
t0=time.time(); A=emb(tra); B=emb(tea); print("embed",time.time()-t0,file=sys.stderr)
def feats(E,Q): Qm=np.stack([qe[q] for q in Q]); return np.hstack([E,Qm,E*Qm])
Xtr=feats(A,trq); Xte=feats(B,teq)
Ytr_s=[set(filter(None,r["codes"].split(";"))) for r in train]
mlb=MultiLabelBinarizer(classes=sorted({c for y in Ytr_s for c in y}|{c for y in gold.values() for c in y}))
Ytr=mlb.fit_transform(Ytr_s); G=mlb.transform([gold[i] for i,_,_ in test])
keep=Ytr.sum(0)>0
idx=[list(mlb.classes_).index(c) for c in scored]
vec=TfidfVectorizer(ngram_range=(1,2),min_df=2,sublinear_tf=True)
Ttr=vec.fit_transform([a+" "+q for a,q in zip(tra,trq)]); Tte=vec.transform([a+" "+q for a,q in zip(tea,teq)])
print("vocab",Ttr.shape)
blank_te=np.array([isblank(a) for a in tea])
def report(name,P,zero_blank=False):
    P=P.copy()
    if zero_blank: P[blank_te]=0
    print(f"{name:40s} micro {f1_score(G[:,idx],P[:,idx],average='micro',zero_division=0):.3f} macro {f1_score(G[:,idx],P[:,idx],average='macro',zero_division=0):.3f}",flush=True)
def fitpred(clf,Xa,Xb):
    P=np.zeros((Xb.shape[0],len(mlb.classes_)),dtype=int)
    clf.fit(Xa,Ytr[:,keep]); 
    if hasattr(clf,"predict_proba"): pr=clf.predict_proba(Xb)
    else: pr=clf.decision_function(Xb)
    return pr
print("blank test answers",blank_te.sum())
# svc tfidf
pr=fitpred(OneVsRestClassifier(LinearSVC(class_weight="balanced")),Ttr,Tte); P=np.zeros_like(G); P[:,keep]=(pr>0); report("svc tfidf",P); report("svc tfidf, blanks zero",P,True)
for C in [1.0,4.0]:
  pr=fitpred(OneVsRestClassifier(LinearSVC(class_weight="balanced",C=C*0.1)),sp.hstack([Ttr,sp.csr_matrix(Xtr)]).tocsr(),sp.hstack([Tte,sp.csr_matrix(Xte)]).tocsr()); P=np.zeros_like(G); P[:,keep]=(pr>0); report(f"svc tfidf+emb C{C*0.1}",P)
  for w in [0.5,1.0,2.0]:
    pr=fitpred(OneVsRestClassifier(LinearSVC(class_weight="balanced",C=C*0.1)),sp.hstack([Ttr,sp.csr_matrix(Xtr*w)]).tocsr(),sp.hstack([Tte,sp.csr_matrix(Xte*w)]).tocsr()); P=np.zeros_like(G); P[:,keep]=(pr>0); report(f"svc tfidf+emb*{w} C{C*0.1}",P)
for C in [1.0,10.0]:
  pr=fitpred(OneVsRestClassifier(LogisticRegression(C=C,class_weight="balanced",max_iter=2000)),Xtr,Xte); P=np.zeros_like(G); P[:,keep]=(pr>0.5); report(f"lr emb C{C}",P); report(f"lr emb C{C} blanks zero",P,True)
  pr=fitpred(OneVsRestClassifier(LogisticRegression(C=C,class_weight="balanced",max_iter=2000)),sp.hstack([Ttr,sp.csr_matrix(Xtr)]).tocsr(),sp.hstack([Tte,sp.csr_matrix(Xte)]).tocsr()); P=np.zeros_like(G); P[:,keep]=(pr>0.5); report(f"lr tfidf+emb C{C}",P)
