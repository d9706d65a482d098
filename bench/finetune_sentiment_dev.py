"""Side check for issue 6 (not part of `make bench`, not shipped): does fine-tuning the encoder pay?
Fine-tunes MiniLM's top K transformer layers (K=6: all of them) with a linear 5-grade head on NHS
FFT answers put as the pair (question, answer), mean-pooled, cross-entropy, AdamW with linear
warm-up and decay, batches of 16 bucketed by length. Trains on FFT folds 1-4 minus DEV_FOLD and
scores DEV_FOLD; fold 0, the reported held-out fold, is never used.
Usage (from the repository root, after `python3 bench/sentiment_sets.py ../shared/data
eval/dev/polis_labels.csv /tmp/sents`):
  .venv/bin/python bench/finetune_sentiment_dev.py DEV_FOLD TOP_K EPOCHS LR [pair|answer]
Prints: 5-class accuracy and macro-F1, 3-class accuracy (1-2 / 3 / 4-5), training seconds."""
import csv, sys, time, torch, numpy as np, random
from transformers import AutoTokenizer, AutoModel
torch.manual_seed(0); random.seed(0); np.random.seed(0)
torch.set_num_threads(2)
M="models/all-MiniLM-L6-v2"
DEV=int(sys.argv[1]); TOPK=int(sys.argv[2]); EPOCHS=int(sys.argv[3]); LR=float(sys.argv[4]); MODE=sys.argv[5] if len(sys.argv)>5 else "pair"
tok=AutoTokenizer.from_pretrained(M); enc=AutoModel.from_pretrained(M)
rows=list(csv.DictReader(open('/tmp/sents/fft.csv')))
tr=[r for r in rows if int(r['fold']) not in (0,DEV)]; te=[r for r in rows if int(r['fold'])==DEV]
for p in enc.parameters(): p.requires_grad=False
layers=enc.encoder.layer
for l in layers[6-TOPK:]:
    for p in l.parameters(): p.requires_grad=True
head=torch.nn.Linear(384,5)
params=[p for p in enc.parameters() if p.requires_grad]+list(head.parameters())
opt=torch.optim.AdamW([{'params':[p for p in enc.parameters() if p.requires_grad],'lr':LR},{'params':head.parameters(),'lr':1e-3}],weight_decay=0.01)
def batch(rs):
    if MODE=="pair": b=tok([r['question'] for r in rs],[r['text'] for r in rs],padding=True,truncation=True,max_length=128,return_tensors='pt')
    else: b=tok([r['text'] for r in rs],padding=True,truncation=True,max_length=128,return_tensors='pt')
    return b
def embed(b,train):
    enc.train(train)
    out=enc(**b).last_hidden_state; m=b['attention_mask'].unsqueeze(-1).float()
    return (out*m).sum(1)/m.sum(1)
BS=16
steps=EPOCHS*((len(tr)+BS-1)//BS); sched=torch.optim.lr_scheduler.LambdaLR(opt,lambda s: min(1.0,(s+1)/(0.1*steps))*max(0.0,(steps-s)/steps))
t0=time.time()
for ep in range(EPOCHS):
    # length-bucketed shuffling
    idx=list(range(len(tr))); random.shuffle(idx)
    chunks=[idx[i:i+BS*20] for i in range(0,len(idx),BS*20)]
    bl=[]
    for c in chunks:
        c=sorted(c,key=lambda i: len(tr[i]['text'])); bl+= [c[i:i+BS] for i in range(0,len(c),BS)]
    random.shuffle(bl)
    tot=0
    for bi in bl:
        rs=[tr[i] for i in bi]; b=batch(rs); y=torch.tensor([int(r['grade'])-1 for r in rs])
        loss=torch.nn.functional.cross_entropy(head(embed(b,True)),y)
        opt.zero_grad(); loss.backward(); opt.step(); sched.step(); tot+=loss.item()
    print(f"epoch {ep} loss {tot/len(bl):.3f} {time.time()-t0:.0f}s",flush=True)
with torch.no_grad():
    te_s=sorted(te,key=lambda r: len(r['text'])); P=[]
    for i in range(0,len(te_s),64):
        P.append(head(embed(batch(te_s[i:i+64]),False)).argmax(1))
    P=torch.cat(P).numpy()+1; Y=np.array([int(r['grade']) for r in te_s])
from sklearn.metrics import f1_score
m3=lambda g: np.where(g<=2,0,np.where(g==3,1,2))
print(f"DEV{DEV} top{TOPK} ep{EPOCHS} lr{LR} {MODE}: acc5 {np.mean(P==Y):.3f} mf1 {f1_score(Y,P,average='macro'):.3f} acc3 {np.mean(m3(P)==m3(Y)):.3f} train {time.time()-t0:.0f}s n={len(tr)}/{len(te)}")
