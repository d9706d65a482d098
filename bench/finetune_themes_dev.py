"""Side check for issue 5 (not part of `make bench`, not shipped): does fine-tuning the encoder pay
for the NHS FFT themes? Dev split inside the training folds: train on folds 2-4, score fold 1
(fold 0, the reported test fold, is never used), over codes with at least 3 dev examples.
Prints TF-IDF (1-2 grams) + LinearSVC (class-balanced) on the same split first, then MiniLM
fine-tuned end to end on (question, answer) pairs with a one-vs-rest sigmoid head (BCE, positive
weight sqrt(neg/pos), AdamW, linear warm-up and decay, batches of 16 bucketed by length), codes
at probability >= 0.5 and always the top code.
Usage (from the repository root, after `python3 bench/fft_sets.py ../shared/data DIR`):
  .venv/bin/python bench/finetune_themes_dev.py DIR EPOCHS LR"""
import csv, sys, time, torch, numpy as np, random
from transformers import AutoTokenizer, AutoModel
from sklearn.metrics import f1_score
from common import fold as fnv
torch.manual_seed(0); random.seed(0); np.random.seed(0); torch.set_num_threads(2)
M="models/all-MiniLM-L6-v2"; D=sys.argv[1]; EPOCHS=int(sys.argv[2]); LR=float(sys.argv[3])
rows=list(csv.DictReader(open(f'{D}/train_gold.csv')))
codes=sorted({c for r in rows for c in r['codes'].split(';') if c}); ci={c:i for i,c in enumerate(codes)}
def Y(rs):
    y=np.zeros((len(rs),len(codes)),dtype=np.float32)
    for i,r in enumerate(rs):
        for c in r['codes'].split(';'):
            if c: y[i,ci[c]]=1
    return y
tr=[r for r in rows if fnv(r['id'])!=1]; te=[r for r in rows if fnv(r['id'])==1]
Ytr,Yte=Y(tr),Y(te); scored=[j for j in range(len(codes)) if Yte[:,j].sum()>=3]
# baseline: TF-IDF + LinearSVC balanced, same inputs (question + answer)
from sklearn.feature_extraction.text import TfidfVectorizer; from sklearn.svm import LinearSVC; from sklearn.multiclass import OneVsRestClassifier
txt=lambda rs:[r['question']+' '+r['text'] for r in rs]
v=TfidfVectorizer(ngram_range=(1,2),sublinear_tf=True,min_df=1); Xtr=v.fit_transform(txt(tr)); Xte=v.transform(txt(te))
keep=[j for j in range(len(codes)) if Ytr[:,j].sum()>0]
svc=OneVsRestClassifier(LinearSVC(class_weight='balanced')).fit(Xtr,Ytr[:,keep]); Ps=np.zeros_like(Yte); Ps[:,keep]=svc.predict(Xte)
f=lambda P:(f1_score(Yte[:,scored],P[:,scored],average='micro',zero_division=0),f1_score(Yte[:,scored],P[:,scored],average='macro',zero_division=0))
print("SVC dev micro %.3f macro %.3f"%f(Ps),flush=True)
tok=AutoTokenizer.from_pretrained(M); enc=AutoModel.from_pretrained(M); head=torch.nn.Linear(384,len(codes))
opt=torch.optim.AdamW([{'params':enc.parameters(),'lr':LR},{'params':head.parameters(),'lr':1e-3}],weight_decay=0.01)
pos=torch.tensor(Ytr.mean(0)).clamp(min=1e-3); pw=((1-pos)/pos).sqrt()  # moderate positive weighting
def emb(rs,train):
    enc.train(train); b=tok([r['question'] for r in rs],[r['text'] for r in rs],padding=True,truncation=True,max_length=128,return_tensors='pt')
    o=enc(**b).last_hidden_state; m=b['attention_mask'].unsqueeze(-1).float(); return (o*m).sum(1)/m.sum(1)
BS=16; steps=EPOCHS*((len(tr)+BS-1)//BS)
sched=torch.optim.lr_scheduler.LambdaLR(opt,lambda s: min(1.0,(s+1)/(0.1*steps))*max(0.0,(steps-s)/steps)); t0=time.time()
for ep in range(EPOCHS):
    idx=list(range(len(tr))); random.shuffle(idx); bl=[]
    for k in range(0,len(idx),BS*20):
        c=sorted(idx[k:k+BS*20],key=lambda i:len(tr[i]['text'])); bl+=[c[i:i+BS] for i in range(0,len(c),BS)]
    random.shuffle(bl); tot=0
    for bi in bl:
        loss=torch.nn.functional.binary_cross_entropy_with_logits(head(emb([tr[i] for i in bi],True)),torch.tensor(Ytr[bi]),pos_weight=pw)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot+=loss.item()
    print(f"epoch {ep} loss {tot/len(bl):.3f} {time.time()-t0:.0f}s",flush=True)
with torch.no_grad():
    S=torch.cat([torch.sigmoid(head(emb(te[i:i+64],False))) for i in range(0,len(te),64)]).numpy()
for th in (0.5,):
    P=(S>=th).astype(np.float32); P[np.arange(len(te)),S.argmax(1)]=np.maximum(P[np.arange(len(te)),S.argmax(1)],1)  # at least the top code
    print(f"FT ep{EPOCHS} lr{LR} th{th} dev micro %.3f macro %.3f train {time.time()-t0:.0f}s n={len(tr)}/{len(te)} scored={len(scored)}"%f(P))
