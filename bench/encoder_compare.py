"""Compare sentence encoders (issue: a stronger encoder, if one can be had) on speed and
accuracy, with the same method for every model. Prints one markdown table row per model.

    .venv/bin/python bench/encoder_compare.py SHARED_DATA MODEL_DIR [MODEL_DIR...]

Each MODEL_DIR is a sentence-transformers folder, loaded with SentenceTransformer(dir,
device="cpu") at its own max_seq_length. Everything runs on ONE thread (torch intra- and
inter-op, BLAS, the Rust tokenizer), so it can share the machine with a build.

1. Speed: the first 2,000 non-empty `FFT answer` texts of nhs_fft/v6framework_dev.csv in
   file order (whitespace tidied), sorted by length (longest first, as sentence-transformers
   does), batch 32. After a one-batch warm-up, the models are timed in interleaved rounds
   (A B A B); each keeps its faster round. Reported as sentences per second.
2. Zero-shot coding of the 410 hand-labelled Polis statements (eval/dev/polis_labels.csv;
   text read at run time from SHARED_DATA/polis). Candidates: every assignable code of
   models/codebooks/strategic-plan-2022-26.toml (codes with no children: the 22
   sub-outcomes plus plan, finance, engagement, enabling, other). A code's prototype is the
   mean of the normalised embeddings of "label. description" and of each example statement.
   Each statement gets the one code of highest cosine. Reported: top-1 accuracy against the
   main (first) gold code, accuracy against any gold code, macro-F1 over the codes that are
   the main code of at least one statement (single-label prediction vs main code), and
   outcome accuracy (the part of the code before the dot; plan/finance/engagement/enabling/
   other are their own outcome) of predicted vs main code.
3. Frozen-embedding themes on NHS FFT: the split of bench/fft_sets.py (run into a temporary
   folder; fold 0 test, folds 1-4 train). Features = normalised answer embedding
   concatenated with the normalised question embedding. OneVsRestClassifier(
   LogisticRegression(C=1, class_weight="balanced", max_iter=2000)), threshold 0.5 on
   predict_proba; micro- and macro-F1 over the codes in codes_min3.txt (as fft_baseline.py).

Deterministic: seeds fixed, one thread, lbfgs. Timings and the table go to stdout; progress
and per-model wall times to stderr.
"""
import os

for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS"):
    os.environ[v] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

import csv, random, subprocess, sys, tempfile, time, tomllib

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)

from sentence_transformers import SentenceTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MultiLabelBinarizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import polis_labelled, tidy  # noqa: E402

BATCH = 32
N_SPEED = 2000
ROUNDS = 2
CODEBOOK = os.path.join(ROOT, "models/codebooks/strategic-plan-2022-26.toml")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def encode(model, texts):
    return model.encode(texts, batch_size=BATCH, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False).astype(np.float64)


# ---------------------------------------------------------------------------- data
def speed_sentences(data):
    out = []
    with open(f"{data}/nhs_fft/v6framework_dev.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            t = tidy(r["FFT answer"])
            if t:
                out.append(t)
                if len(out) == N_SPEED:
                    break
    assert len(out) == N_SPEED, len(out)
    return sorted(out, key=lambda s: (-len(s), s))


def polis_items(data):
    """Our 410 hand-coded Polis statements as (text, codes)."""
    items = [(text, [c.strip() for c in codes.split(";") if c.strip()]) for _, text, codes in polis_labelled(data, ROOT)]
    assert len(items) == 410, len(items)
    return items


def codebook():
    with open(CODEBOOK, "rb") as fh:
        book = tomllib.load(fh)
    parents = {c["parent"] for c in book["codes"] if c.get("parent")}
    codes = []
    for c in book["codes"]:
        if c["id"] in parents:
            continue  # outcomes are never given directly
        texts = [f"{c['label']}. {c['description']}"] + list(c.get("examples", []))
        codes.append((c["id"], texts))
    return codes


def fft_sets(data, tmp):
    subprocess.run([sys.executable, os.path.join(HERE, "fft_sets.py"), data, tmp], check=True)
    train = list(csv.DictReader(open(f"{tmp}/train_gold.csv", encoding="utf-8")))
    test_in = list(csv.DictReader(open(f"{tmp}/test_input.csv", encoding="utf-8")))
    gold = {r["id"]: set(filter(None, r["codes"].split(";")))
            for r in csv.DictReader(open(f"{tmp}/test_gold.csv", encoding="utf-8"))}
    scored = open(f"{tmp}/codes_min3.txt").read().split(",")
    tr = [(r["text"], r["question"], set(filter(None, r["codes"].split(";")))) for r in train]
    te = []
    for r in test_in:
        (q, t), = [(q, t) for q, t in r.items() if q != "id" and t]
        te.append((t, q, gold[r["id"]]))
    return tr, te, scored


# ---------------------------------------------------------------------------- evaluations
def outcome(code):
    return code.split(".")[0]


def zero_shot(model, codes, items):
    protos = []
    for _, texts in codes:
        e = encode(model, texts)
        protos.append(e.mean(0))
    P = np.stack(protos)
    P /= np.linalg.norm(P, axis=1, keepdims=True)  # cosine
    S = encode(model, [t for t, _ in items]) @ P.T
    ids = [c for c, _ in codes]
    pred = [ids[i] for i in S.argmax(1)]
    main = [g[0] for _, g in items]
    top1 = np.mean([p == m for p, m in zip(pred, main)])
    anyc = np.mean([p in g for p, (_, g) in zip(pred, items)])
    out_acc = np.mean([outcome(p) == outcome(m) for p, m in zip(pred, main)])
    macro = f1_score(main, pred, labels=sorted(set(main)), average="macro", zero_division=0)
    return top1, anyc, macro, out_acc


def fft_themes(model, tr, te, scored):
    answers = sorted({t for t, _, _ in tr + te})
    questions = sorted({q for _, q, _ in tr + te})
    ea = dict(zip(answers, encode(model, answers)))
    eq = dict(zip(questions, encode(model, questions)))
    X = lambda rows: np.stack([np.concatenate([ea[t], eq[q]]) for t, q, _ in rows])
    Ytr_sets = [y for *_, y in tr]
    Yte_sets = [y for *_, y in te]
    mlb = MultiLabelBinarizer(classes=sorted({c for y in Ytr_sets + Yte_sets for c in y}))
    Ytr = mlb.fit_transform(Ytr_sets)
    keep = Ytr.sum(0) > 0
    clf = OneVsRestClassifier(LogisticRegression(C=1, class_weight="balanced", max_iter=2000,
                                                 random_state=0))
    clf.fit(X(tr), Ytr[:, keep])
    Xte = X(te)
    Pred = np.zeros((len(te), len(mlb.classes_)), dtype=int)
    Pred[:, keep] = (clf.predict_proba(Xte) >= 0.5).astype(int)
    G = mlb.transform(Yte_sets)
    idx = [list(mlb.classes_).index(c) for c in scored]
    micro = f1_score(G[:, idx], Pred[:, idx], average="micro", zero_division=0)
    macro = f1_score(G[:, idx], Pred[:, idx], average="macro", zero_division=0)
    return micro, macro, len(tr), len(te), len(scored)


# ---------------------------------------------------------------------------- main
def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data, dirs = sys.argv[1], sys.argv[2:]
    t_start = time.perf_counter()
    sents = speed_sentences(data)
    items = polis_items(data)
    codes = codebook()
    with tempfile.TemporaryDirectory() as tmp:
        tr, te, scored = fft_sets(data, tmp)

    models = []
    for d in dirs:
        t0 = time.perf_counter()
        m = SentenceTransformer(d, device="cpu")
        m.eval()
        name = os.path.basename(os.path.normpath(d))
        log(f"{name}: loaded in {time.perf_counter() - t0:.1f}s, max_seq_length {m.max_seq_length}, "
            f"dims {m.get_sentence_embedding_dimension()}")
        encode(m, sents[-BATCH:])  # warm-up, one batch of short sentences
        models.append((name, m))

    best = {name: float("inf") for name, _ in models}
    for rnd in range(ROUNDS):
        for name, m in models:
            t0 = time.perf_counter()
            encode(m, sents)
            secs = time.perf_counter() - t0
            best[name] = min(best[name], secs)
            log(f"speed round {rnd + 1}: {name} {secs:.1f}s ({N_SPEED / secs:.1f} sentences/s)")

    rows = []
    for name, m in models:
        t0 = time.perf_counter()
        top1, anyc, zmacro, out_acc = zero_shot(m, codes, items)
        t1 = time.perf_counter()
        micro, macro, ntr, nte, nsc = fft_themes(m, tr, te, scored)
        t2 = time.perf_counter()
        log(f"{name}: zero-shot {t1 - t0:.1f}s, FFT themes {t2 - t1:.1f}s "
            f"({ntr} train, {nte} test, {nsc} scored codes)")
        rows.append((name, m.get_sentence_embedding_dimension(), N_SPEED / best[name],
                     top1, anyc, zmacro, out_acc, micro, macro))

    print(f"Speed: {N_SPEED} FFT answers, batch {BATCH}, 1 thread, best of {ROUNDS} interleaved "
          f"rounds. Zero-shot: {len(items)} Polis statements, {len(codes)} candidate codes. "
          f"FFT: {len(tr)} train / {len(te)} test answers, {len(scored)} scored codes.\n")
    print("| model | dims | sentences/s | zero-shot top-1 acc | zero-shot any-code acc | "
          "zero-shot macro-F1 | outcome acc | FFT micro-F1 | FFT macro-F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | " + " | ".join(f"{x:.3f}" for x in r[3:]) + " |")
    log(f"total wall time {time.perf_counter() - t_start:.1f}s")


if __name__ == "__main__":
    main()
