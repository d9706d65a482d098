"""Ninth-session side check for issue 6 (not shipped, not part of `make bench`): blend the
fine-tuned sentiment model's grade probabilities with a TF-IDF (word 1-2 grams) multinomial
logistic regression on the FFT grades, on development folds 1-3 (fold 0 never used).
Inputs: /tmp/sents from `python3 bench/sentiment_sets.py ../shared/data eval/dev/polis_labels.csv
/tmp/sents`, and each dev model's probabilities /tmp/s8/tK.csv from
`consult train-sentiment --tune --dev-fold K --out DIR --rescore --probs-out /tmp/s8/tK.csv`.
Usage (from the repository root): .venv/bin/python bench/sentiment_blend_dev.py
Prints 5- and 3-class accuracy per source at word-model weights 0, 0.2 and 0.3 (BENCHMARKS.md §3)."""
import csv, numpy as np, sys
sys.path.insert(0,'bench'); from common import tidy
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
rows=list(csv.DictReader(open('/tmp/sents/fft.csv')))
text={r['id']:(r['text'],r['question']) for r in rows}
Q="Do you have any comments on the draft plan?"
for r in csv.DictReader(open('/tmp/sents/consultation.csv')): text[r['id']]=(r['text'],Q)
cache={}
def man(key):
    f,row=key.split('#'); 
    if f not in cache: cache[f]=list(csv.DictReader(open('../shared/data/manifestos/'+f)))
    r=cache[f][int(row)-1]; return (tidy(r.get('text') or r.get('content')),Q)
def rev(key):
    f,row=key.split('#')
    if f not in cache: cache[f]=list(csv.DictReader(open('../shared/data/sentiment/sentimentr/'+f)))
    return (tidy(cache[f][int(row)-2]['text']),"Any comments?")
g3=lambda g:np.where(g<=2,0,np.where(g==3,1,2))
for K in (1,2,3):
    T=[r for r in csv.DictReader(open(f'/tmp/s8/t{K}.csv'))]
    tr=[r for r in rows if int(r['fold']) not in (0,K)]
    v=TfidfVectorizer(ngram_range=(1,2),min_df=2,sublinear_tf=True); Xa=v.fit_transform([r['text']+' '+r['question'] for r in tr])
    lr=LogisticRegression(C=3,max_iter=3000).fit(Xa,[int(r['grade']) for r in tr])
    def tx(r):
        k,s=r['key'],r['source']
        return text[k] if s in('Fft','Polis') else man(k) if s=='Manifesto' else rev(k)
    X=v.transform([a+' '+q for a,q in map(tx,T)]); L=lr.predict_proba(X)
    A=np.array([[float(r[f'p{i}']) for i in range(1,6)] for r in T]); y=np.array([int(r['grade']) for r in T]); src=np.array([r['source'] for r in T])
    for w in (0,0.2,0.3):
        p=((1-w)*A+w*L).argmax(1)+1
        out=[]
        for s in ('Fft','Polis','Manifesto','Reviews'):
            m=src==s; out.append(f"{s} 5c {(p[m]==y[m]).mean():.3f} 3c {(g3(p[m])==g3(y[m])).mean():.3f}")
        print(K,w,' | '.join(out))
