"""Dev-fold side check for the sentiment head, step 2 of 2 (see bench/sentiment_head_dev_items.py).
Trains softmax or one-hidden-layer MLP heads in PyTorch on folds 2-4 (resp. 1,3,4) and scores
FFT 5-class, FFT 3-class and consultation-tone accuracy on fold 1 (resp. 2), averaged. Fold 0,
the reported held-out fold, is never used. Prints: NAME acc5 acc3 tone_acc."""
import csv, sys, numpy as np, torch, itertools, time
from common import fold as fnv
torch.set_num_threads(1)
items=list(csv.DictReader(open('/tmp/sx/items.csv')))
texts=open('/tmp/sx/texts.txt').read().split("\n")[:-1]
E=np.fromfile('/tmp/sx/emb.bin',dtype='<f4').reshape(len(texts),384)
idx={t:i for i,t in enumerate(texts)}
A=E[[idx[i['text']] for i in items]]; Qe=E[[idx[i['question']] for i in items]]
X=torch.tensor(np.hstack([A,Qe,A*Qe]))
src=np.array([i['source'] for i in items]); fold=np.array([fnv(i['key']) for i in items])
def grade(i):
    s=i['source']; l=i['label']
    if s=='fft': return int(l)-1
    if s=='polis': return {'positive':1,'neutral':2,'mixed':2,'negative':3}[l]
    return 1 if float(l)>0 else (3 if float(l)<0 else 2)
y=np.array([grade(i) for i in items])
tone=np.array([i['label'] if i['source']=='polis' else '' for i in items])
base_w={'fft':1.0,'polis':3.0,'kotzias_reviews_amazon_cells.csv':1.0,'kotzias_reviews_yelp.csv':1.0,'kotzias_reviews_imdb.csv':0.0,'crowdflower_weather.csv':0.0}
def run(dev_fold, sources_w, hidden=0, l2=2e-4, epochs=300, lr=0.01, balance=0.0, drop=0.0):
    tr=(fold!=0)&(fold!=dev_fold)
    w=np.array([sources_w.get(s,0.0) for s in src])
    tr&=w>0
    Xt=X[tr]; yt=torch.tensor(y[tr]); wt=torch.tensor(w[tr],dtype=torch.float32)
    if balance:
        f=tr&(src=='fft'); cnt=np.bincount(y[f],minlength=5); cw=(cnt.sum()/5/cnt)**balance
        wt=wt*torch.tensor(np.where(src[tr]=='fft',cw[y[tr]],1.0),dtype=torch.float32)
    torch.manual_seed(0)
    if hidden:
        m=torch.nn.Sequential(torch.nn.Dropout(drop),torch.nn.Linear(X.shape[1],hidden),torch.nn.GELU(),torch.nn.Linear(hidden,5))
    else:
        m=torch.nn.Linear(X.shape[1],5); torch.nn.init.zeros_(m.weight); torch.nn.init.zeros_(m.bias)
    opt=torch.optim.Adam(m.parameters(),lr=lr)
    for e in range(epochs):
        m.train(); opt.zero_grad()
        loss=(torch.nn.functional.cross_entropy(m(Xt),yt,reduction='none')*wt).sum()/wt.sum()
        loss=loss+0.5*l2*sum((p**2).sum() for n,p in m.named_parameters() if 'weight' in n)
        loss.backward(); opt.step()
    m.eval()
    with torch.no_grad(): P=torch.softmax(m(X),1).numpy()
    d=(fold==dev_fold)&(src=='fft')
    a5=np.mean(P[d].argmax(1)==y[d])
    g3=lambda g: np.array([0,0,1,2,2])[g]
    P3=np.stack([P[:,0]+P[:,1],P[:,2],P[:,3]+P[:,4]],1)
    a3=np.mean(P3[d].argmax(1)==g3(y[d]))
    dp=(fold==dev_fold)&(src=='polis')
    pos,neg,mid=P3[:,0],P3[:,2],P3[:,1]
    tn=np.where((pos>=.3)&(neg>=.3),'mixed',np.where((pos>mid)&(pos>=neg),'positive',np.where((neg>mid)&(neg>pos),'negative','neutral')))
    at=np.mean(tn[dp]==tone[dp])
    return a5,a3,at
if __name__=='__main__':
    configs=eval(sys.argv[1])
    for name,kw in configs:
        t=time.time(); r=[run(f,**kw) for f in (1,2)]
        print(name, ' '.join(f"{np.mean([x[k] for x in r]):.3f}" for k in range(3)), f"({time.time()-t:.0f}s)", flush=True)
