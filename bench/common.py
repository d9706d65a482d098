"""Helpers the bench scripts share, so their splits agree with consult's own."""


# The two Polis conversations we labelled, each with its topic as a consultation question
# (compdemocracy/openData: bg2050-volunteers/summary.csv topic and description,
# london.youth.policing/summary.csv topic); the order is the order of the scripts' inputs.
POLIS_QUESTIONS = {
    "bg2050-volunteers.csv": "What would you want to see in the Bowling Green of the future?",
    "london.youth.policing.csv": "What is the best way to engage more young people in local scrutiny of policing?",
}
# The default codebook's 22 sub-outcomes, as `consult evaluate --only` takes them.
SUB_OUTCOMES = "5.1,5.2,5.3,5.4,6.1,6.2,6.3,6.4,6.5,7.1,7.2,7.3,7.4,8.1,8.2,8.3,8.4,8.5,9.1,9.2,9.3,9.4"


def fnv1a(s):
    """64-bit FNV-1a of the UTF-8 bytes of s, as `consult train` hashes ids (src/train.rs)."""
    h = 0xCBF29CE484222325
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def fold(s):
    """Fold of an id, 0-4; fold 0 is the held-out test fold."""
    return fnv1a(s) % 5


def tidy(s):
    """Collapse runs of whitespace to one space and trim."""
    return " ".join(s.split())


def write_csv(path, header, rows):
    """Writes rows under a header as UTF-8 CSV."""
    import csv
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def polis_texts(data):
    """The Polis statements' text by `file#comment-id` (the key our labels use), tidied."""
    import csv
    import os
    texts = {}
    for f in POLIS_QUESTIONS:
        with open(os.path.join(data, "polis", f), encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                texts[f"{f}#{r['comment-id'].strip()}"] = tidy(r["comment-body"])
    return texts


def polis_labelled(data, root):
    """Our hand-coded Polis statements (eval/dev/polis_labels.csv) as (key, text, codes)."""
    import csv
    import os
    texts = polis_texts(data)
    with open(os.path.join(root, "eval/dev/polis_labels.csv"), encoding="utf-8") as fh:
        return [(k, texts[k], c) for k, c in ((f"{r['file']}#{r['comment_id'].strip()}", r["codes"]) for r in csv.DictReader(fh))]


def manifesto_labelled(data, root):
    """Our hand-coded manifesto sentences (eval/dev/manifesto_code_labels.csv) as (key, text,
    codes), their text read from the manifestos in data."""
    import csv
    import os
    out, sentences = [], {}
    with open(os.path.join(root, "eval/dev/manifesto_code_labels.csv"), encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["file"] not in sentences:  # each manifesto read once
                with open(os.path.join(data, "manifestos", r["file"]), encoding="utf-8") as mf:
                    sentences[r["file"]] = list(csv.DictReader(mf))
            row = sentences[r["file"]][int(r["row"]) - 1]
            out.append((f"{r['file']}#{r['row']}", tidy(row.get("text") or row.get("content")), r["codes"]))
    return out


def load_fft_sets(d):
    """An NHS FFT split written by bench/fft_sets.py or bench/fft_dev_split.py: the training
    rows (id, question, text, codes), the test answers as (id, text, question), the test
    gold code sets by id, and the codes scored (at least 3 test examples)."""
    import csv
    train = list(csv.DictReader(open(f"{d}/train_gold.csv", encoding="utf-8")))
    gold = {r["id"]: set(filter(None, r["codes"].split(";")))
            for r in csv.DictReader(open(f"{d}/test_gold.csv", encoding="utf-8"))}
    scored = open(f"{d}/codes_min3.txt").read().strip().split(",")
    test = []
    for r in csv.DictReader(open(f"{d}/test_input.csv", encoding="utf-8")):
        # Each test row has its answer under the one question it answered.
        q, t = next((q, t) for q, t in r.items() if q != "id" and t)
        test.append((r["id"], t, q))
    return train, test, gold, scored


# consult's tone rule (src/sentiment.rs): mixed when both the positive (grades 1-2) and the
# negative (grades 4-5) probability reach MIXED_MIN, else the largest of positive / middle /
# negative.
MIXED_MIN = 0.3


def tone(p):
    pos, neg, mid = p[0] + p[1], p[3] + p[4], p[2]
    if pos >= MIXED_MIN and neg >= MIXED_MIN:
        return "mixed"
    if pos > mid and pos >= neg:
        return "positive"
    if neg > mid and neg > pos:
        return "negative"
    return "neutral"


def fft_label_matrices(d):
    """An NHS FFT split (load_fft_sets) as the PyTorch side checks use it: training answers and
    questions, test answers and questions, the training code sets, the binarizer over every code
    seen, training targets (float32), test gold matrix, which codes have training examples, and
    the column of each scored code."""
    import numpy as np
    from sklearn.preprocessing import MultiLabelBinarizer
    train, test, gold, scored = load_fft_sets(d)
    tra = [r["text"] for r in train]; trq = [r["question"] for r in train]
    tea = [t for _, t, _ in test]; teq = [q for _, _, q in test]
    ys = [set(filter(None, r["codes"].split(";"))) for r in train]
    mlb = MultiLabelBinarizer(classes=sorted({c for y in ys for c in y} | {c for y in gold.values() for c in y}))
    ytr = mlb.fit_transform(ys).astype(np.float32); g = mlb.transform([gold[i] for i, _, _ in test])
    keep = ytr.sum(0) > 0; idx = [list(mlb.classes_).index(c) for c in scored]
    return tra, trq, tea, teq, ys, mlb, ytr, g, keep, idx


def micro_macro_f1(pred, gold, codes):
    """Micro- and macro-F1 over `codes`, as `consult evaluate --only` scores them: every key of
    `gold` (id -> set of codes) is an item; `pred` (id -> set of codes) may lack some (none given);
    macro-F1 averages over the codes some gold item carries."""
    tp = {c: 0 for c in codes}; fp = dict(tp); fn = dict(tp)
    for i, gs in gold.items():
        ps = pred.get(i, set())
        for c in codes:
            if c in ps and c in gs: tp[c] += 1
            elif c in ps: fp[c] += 1
            elif c in gs: fn[c] += 1
    f = lambda t, p, n: 0 if t == 0 else 2 * t / (2 * t + p + n)
    present = [c for c in codes if tp[c] + fn[c]]
    return f(sum(tp.values()), sum(fp.values()), sum(fn.values())), sum(f(tp[c], fp[c], fn[c]) for c in present) / max(1, len(present))
