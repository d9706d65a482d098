"""Dev-fold side check for the sentiment head (issue 6, not part of `make bench`).
Step 1 of 2: lists the training items and the distinct texts to embed.
Usage (from the repository root):
  python3 bench/sentiment_sets.py ../shared/data eval/dev/polis_labels.csv /tmp/sents
  python3 bench/sentiment_head_dev_items.py        # writes /tmp/sx/items.csv, /tmp/sx/texts.txt
  consult embed /tmp/sx/texts.txt --out /tmp/sx/emb.bin
  .venv/bin/python bench/sentiment_head_dev.py "[(NAME, dict(sources_w={...}, hidden=..., ...)), ...]"
"""
import csv, os, sys
from common import tidy
os.makedirs("/tmp/sx", exist_ok=True)
items=[]  # key, text, question, label, source
for r in csv.DictReader(open('/tmp/sents/fft.csv')):
    items.append((r['id'], r['text'], r['question'], r['grade'], 'fft'))
Q="Do you have any comments on the draft plan?"
for r in csv.DictReader(open('/tmp/sents/consultation.csv')):
    items.append((r['id'], r['text'], Q, r['tone'], 'polis'))
for f in ["kotzias_reviews_amazon_cells.csv","kotzias_reviews_yelp.csv","kotzias_reviews_imdb.csv","crowdflower_weather.csv"]:
    for i,r in enumerate(csv.DictReader(open('../shared/data/sentiment/sentimentr/'+f)),2):
        t=tidy(r['text'])
        if t: items.append((f"{f}#{i}", t, Q, r['sentiment'], f))
# SST-2 train phrases are left out: they share sentences with SST-2 dev and the VADER movie set.
with open('/tmp/sx/items.csv','w',newline='') as fh:
    w=csv.writer(fh); w.writerow(['key','text','question','label','source']); w.writerows(items)
texts=[]; seen=set()
for it in items:
    for t in (it[1], it[2]):
        if t not in seen: seen.add(t); texts.append(t)
open('/tmp/sx/texts.txt','w').write("\n".join(texts)+"\n")
import collections; print(len(items), len(texts), collections.Counter(i[4] for i in items))
