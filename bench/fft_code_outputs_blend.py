# One-off NHS FFT experiment (eleventh session; BENCHMARKS.md §4, "tried and not taken").
# It reads per-answer head probabilities that `consult analyse --head` does not write: they were
# dumped by a temporary patch, not kept, that in src/analyse.rs's trained-head branch pushed
#   {"id", "q": question text, "a": answer text, "p": head.probs(&sentiment::features(a, q), &head.words(a, q))}
# as a JSON line per coded answer to the file named by $CONSULT_DUMP_PROBS.
# The blend also needs the fine-tuning's own code head, which a second temporary patch in
# tune::train_encoder wrote beside the encoder as codes_head.safetensors (the codes_head.*
# variables of the tuned network).
# usage: .venv/bin/python bench/fft_code_outputs_blend.py HEADDIR DUMP.jsonl GOLD.csv CODES_MIN3
import sys, json, csv, os
import numpy as np
hd, dump, gold, only = sys.argv[1:5]
head = json.load(open(os.path.join(hd, 'head.json')))
codes = head['codes']; th = np.array(head['thresholds']); rule = head.get('rule', {})
rows = [json.loads(l) for l in open(dump)]
ph = np.array([r['p'] for r in rows])
cache = os.path.join(hd, 'e2e_probs.npy')
if os.path.exists(cache):
    pe = np.load(cache)
else:
    import torch
    from transformers import BertModel, BertTokenizerFast
    from safetensors.torch import load_file
    torch.set_num_threads(2)
    enc = os.path.join(hd, head['encoder'])
    from transformers import BertConfig
    m = BertModel(BertConfig.from_pretrained(enc), add_pooling_layer=False).eval()
    sd = {k: v for k, v in load_file(os.path.join(enc, 'model.safetensors')).items() if not k.startswith('pooler')}
    print(m.load_state_dict(sd, strict=False))
    tok = BertTokenizerFast.from_pretrained(enc)
    h = load_file(os.path.join(enc, 'codes_head.safetensors'))
    W, b = h['codes_head.weight'], h['codes_head.bias']
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]['a']))
    pe = np.zeros((len(rows), len(codes)), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(order), 64):
            idx = order[s:s+64]
            t = tok([rows[i]['q'] for i in idx], [rows[i]['a'] for i in idx], truncation='longest_first', max_length=128, padding=True, return_tensors='pt')
            out = m(**t).last_hidden_state
            mk = t['attention_mask'].unsqueeze(-1).float()
            pooled = (out * mk).sum(1) / mk.sum(1)
            pe[idx] = torch.sigmoid(pooled @ W.T + b).numpy()
    np.save(cache, pe)
g = {r['id']: set(c for c in r['codes'].split(';') if c) for r in csv.DictReader(open(gold))}
keep = [c.strip() for c in open(only).read().strip().split(',')]
ci = {c: i for i, c in enumerate(codes)}
def apply(p, th, max_codes, top):
    over = [i for i in range(len(p)) if p[i] >= th[i]]
    over.sort(key=lambda i: -p[i])
    if max_codes: over = over[:max_codes]
    if not over and top: over = [int(np.argmax(p))]
    return set(codes[i] for i in over)
def score(P, th, max_codes=rule.get('max_codes', 0), top=rule.get('top_if_none', False)):
    pred = {r['id']: apply(P[k], th, max_codes, top) for k, r in enumerate(rows)}
    tp = {c: 0 for c in keep}; fp = dict(tp); fn = dict(tp)
    for i, gs in g.items():
        ps = pred.get(i, set())
        for c in keep:
            a, b_ = c in ps, c in gs
            if a and b_: tp[c] += 1
            elif a: fp[c] += 1
            elif b_: fn[c] += 1
    f = lambda t, p_, n: 0 if t == 0 else 2*t/(2*t+p_+n)
    mi = f(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    ma = np.mean([f(tp[c], fp[c], fn[c]) for c in keep])
    return mi, ma
print('rule', rule, 'missing ids', len(set(g) - set(r['id'] for r in rows)))
print('heads       %.3f / %.3f' % score(ph, th))
for t in (0.3, 0.4, 0.5, 0.6, 0.7):
    print('e2e t=%.1f   %.3f / %.3f' % ((t,) + score(pe, np.full(len(codes), t))))
for w in (0.2, 0.3, 0.4, 0.5):
    print('blend w=%.1f heads th %.3f / %.3f' % ((w,) + score((1-w)*ph + w*pe, th)))
    for t in (0.4, 0.5):
        print('   max(th,%.1f)         %.3f / %.3f' % ((t,) + score((1-w)*ph + w*pe, np.maximum(th, t))))
print('--- heads oracle grid')
for fl in (0.3, 0.4, 0.5, 0.6):
    for mc in (0, 1, 2, 3):
        for top in (False, True):
            print(fl, mc, top, '%.3f / %.3f' % score(ph, np.maximum(th, fl), mc, top))
