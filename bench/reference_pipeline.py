"""Python reference for `consult analyse`: the same steps, written the way a technically minded
user would with sentence-transformers, numpy and the same model and data files.

    .venv/bin/python bench/reference_pipeline.py INPUT.csv OUT_DIR --id COL --text COL [--text COL ...]
        [--model models/all-MiniLM-L6-v2] [--codebook models/codebooks/strategic-plan-2022-26.toml]
        [--settings models/zero-shot.toml] [--sentiment-model models/sentiment/tuned | head.json]

Steps (mirroring src/analyse.rs, src/normalise.rs, src/classify.rs, src/sentiment.rs):
 1. read the CSV (utf-8-sig);
 2. blank rules: empty cells and non-substantive answers ("n/a", "no comment", punctuation only,
    ...) are not classified; answers are tidied (white space collapsed);
 3. sentence-level pieces: answers with several sentences are also scored sentence by sentence
    (a regex splitter here; consult uses Unicode sentence boundaries);
 4. embed every distinct text (questions, answers, sentences) once with
    SentenceTransformer.encode(batch_size=32, normalize_embeddings=True), which sorts by
    length internally;
 5. zero-shot codes: per assignable code a centroid of its description, label and examples and
    its example vectors; score = w * cos(centroid) + (1 - w) * mean of the top-k example cosines;
    threshold, margin, max codes and the fallback rule from models/zero-shot.toml;
 6. sentiment, tone rules as src/sentiment.rs: as consult, the fine-tuned model
    (models/sentiment/tuned, made by `make sentiment-model`) when it is there: a transformers
    BertModel loaded with its weights, the pair (question, answer) tokenised together (at most
    128 tokens), mean-pooled, the linear head; pairs sorted by length, batches of 32, as
    sentence-transformers does; else the softmax head over [a, q, a*q] (head.json);
 7. campaigns: identical answers (folded, >= 12 words, >= 3 respondents) grouped per question;
 8. counts per code and per tone for each question; writes OUT_DIR/coded_responses.csv and
    OUT_DIR/counts.csv, and prints one JSON line of timings.
"""
import argparse
import csv
import json
import os
import re
import sys
import time
import tomllib
from collections import Counter, defaultdict

from common import tone  # consult's tone rule

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NON_SUBSTANTIVE = {
    "n a", "na", "none", "no", "no comment", "no comments", "nothing", "not applicable", "nil",
    "nothing to add", "no further comments", "nothing further", "not sure", "dont know",
    "don t know", "no thanks", "no thank you", "nope", "x", "n/a",
}
CAMPAIGN_MIN_SIZE, CAMPAIGN_MIN_WORDS = 3, 12
VALUES = [1.0, 0.5, 0.0, -0.5, -1.0]
NON_ALNUM = re.compile(r"[\W_]+")
SENT_SPLIT = re.compile(r"(?<=[.!?])\s+")


def fold(text):
    return NON_ALNUM.sub(" ", text.lower()).strip()


def blank(text):
    if not text.strip():
        return "empty"
    f = fold(text)
    if not f or f in NON_SUBSTANTIVE:
        return "non-substantive"
    return None


def sentences(text):
    parts = [p.strip() for p in SENT_SPLIT.split(text)]
    parts = [p for p in parts if sum(c.isalpha() for c in p) >= 3]
    return parts or [text.strip()]


def column(header, name):
    if name in header:
        return header.index(name)
    hits = [i for i, h in enumerate(header) if h.startswith(name)]
    if len(hits) == 1:
        return hits[0]
    sys.exit(f"column {name!r} not found (or not unique)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--id", required=True)
    ap.add_argument("--text", action="append", required=True)
    ap.add_argument("--model", default=os.path.join(ROOT, "models/all-MiniLM-L6-v2"))
    ap.add_argument("--codebook", default=os.path.join(ROOT, "models/codebooks/strategic-plan-2022-26.toml"))
    ap.add_argument("--settings", default=os.path.join(ROOT, "models/zero-shot.toml"))
    ap.add_argument("--examples", help="hand-coded statements (text, codes) added to the codebook's examples; "
                    "default: the codebook's NAME.examples.csv beside it when there is one, as consult does")
    ap.add_argument("--no-examples", action="store_true")
    tuned = os.path.join(ROOT, "models/sentiment/tuned")
    ap.add_argument("--sentiment-model", "--sentiment-head",
                    default=tuned if os.path.isfile(os.path.join(tuned, "model.safetensors"))
                    else os.path.join(ROOT, "models/sentiment/head.json"))
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16: model.to(torch.bfloat16), as a Python user would")
    a = ap.parse_args()
    t_start = time.perf_counter()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    # 1-3. Read, blank rules, pieces to embed.
    with open(a.input, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, rows = rows[0], rows[1:]
    id_col = column(header, a.id)
    q_cols = [column(header, t) for t in a.text]
    texts, index = [], {}

    def intern(t):
        if t not in index:
            index[t] = len(texts)
            texts.append(t)
        return index[t]

    q_idx = [intern(header[c]) for c in q_cols]
    items = []  # (row, question, raw, blank reason or None, piece indices)
    for r, row in enumerate(rows):
        for qi, c in enumerate(q_cols):
            raw = row[c] if c < len(row) else ""
            why = blank(raw)
            if why:
                items.append((r, qi, raw, why, None))
                continue
            tidy = " ".join(raw.split())
            ids = [intern(tidy)]
            sents = sentences(tidy)
            if len(sents) > 1:
                ids += [intern(s) for s in sents]
            items.append((r, qi, raw, None, ids))

    # Codebook prototypes and settings.
    with open(a.codebook, "rb") as fh:
        cb = tomllib.load(fh)
    with open(a.settings, "rb") as fh:
        st = tomllib.load(fh)
    codes = cb["codes"]
    examples = a.examples or os.path.splitext(a.codebook)[0] + ".examples.csv"
    if not a.no_examples and os.path.isfile(examples):
        by_id = {c["id"]: c for c in codes}
        with open(examples, encoding="utf-8-sig", newline="") as fh:
            for r in csv.DictReader(fh):
                for code in filter(None, (x.strip() for x in r["codes"].split(";"))):
                    by_id[code].setdefault("examples", []).append(" ".join(r["text"].split()))
    parents = {c.get("parent") for c in codes if c.get("parent")}
    fallback = cb["fallback"]
    assignable = [c for c in codes if c["id"] not in parents and c["id"] != fallback]
    fb = next(c for c in codes if c["id"] == fallback)
    competes = st.get("fallback_competes", False) and bool(fb.get("examples"))
    proto_codes = assignable + ([fb] if competes else [])
    outcome_of = {c["id"]: c.get("parent") or c["id"] for c in codes}
    order = {c["id"]: i for i, c in enumerate(codes)}
    tuned = os.path.isdir(a.sentiment_model)
    if not tuned:
        with open(a.sentiment_model) as fh:
            head = json.load(fh)
        W = np.asarray(head["weights"], dtype=np.float32)
        b = np.asarray(head["bias"], dtype=np.float32)

    # 4. Embed.
    t_load = time.perf_counter()
    model = SentenceTransformer(a.model, device="cpu")
    if a.precision == "bf16":
        import torch
        model = model.to(torch.bfloat16)
    proto_texts = []
    for c in proto_codes:
        proto_texts += [c["description"], c["label"]] + list(c.get("examples", []))
    P = model.encode(proto_texts, batch_size=a.batch_size, normalize_embeddings=True, show_progress_bar=False)
    load_seconds = time.perf_counter() - t_load
    t_embed = time.perf_counter()
    E = model.encode(texts, batch_size=a.batch_size, normalize_embeddings=True, show_progress_bar=False,
                     convert_to_numpy=True)
    embed_seconds = time.perf_counter() - t_embed

    # 5. Zero-shot scores for every embedded text at once.
    w, k = st["centroid_weight"], st["top_k"]
    centroids, ex_slices, pos = [], [], 0
    for c in proto_codes:
        n = 2 + len(c.get("examples", []))
        block = P[pos:pos + n]
        m = block.sum(0)
        centroids.append(m / max(np.linalg.norm(m), 1e-12))
        ex_slices.append((pos + 2, pos + n) if n > 2 else (pos, pos + n))
        pos += n
    C = np.stack(centroids)
    S_ex = E @ P.T
    S = np.empty((len(texts), len(proto_codes)), dtype=np.float32)
    for j, (s, e) in enumerate(ex_slices):
        kk = min(max(k, 1), e - s)
        top = -np.partition(-S_ex[:, s:e], kk - 1, axis=1)[:, :kk]
        S[:, j] = w * (E @ C[j]) + (1 - w) * top.mean(1)
    n_codes = len(assignable)
    code_ids = [c["id"] for c in assignable]
    thresholds = np.array([st.get("thresholds", {}).get(cid, st["threshold"]) for cid in code_ids], dtype=np.float32)

    # 6. Sentiment for every answer-question pair.
    Q = E[q_idx]
    t_sent = time.perf_counter()
    tuned_probs = {}
    if tuned:
        from safetensors.torch import load_file
        from transformers import AutoTokenizer, BertModel
        tok = AutoTokenizer.from_pretrained(a.model)
        bert = BertModel.from_pretrained(a.model, add_pooling_layer=False)
        sd = load_file(os.path.join(a.sentiment_model, "model.safetensors"))
        hw, hb = sd.pop("sentiment_head.weight"), sd.pop("sentiment_head.bias")
        bert.load_state_dict(sd, strict=True)
        bert.eval()
        if a.precision == "bf16":
            bert = bert.to(torch.bfloat16)
        pairs = sorted({(header[q_cols[qi]], ids[0]) for (_, qi, _, why, ids) in items if not why},
                       key=lambda p: -len(texts[p[1]]) - len(p[0]))
        with torch.inference_mode():
            for s0 in range(0, len(pairs), a.batch_size):
                chunk = pairs[s0:s0 + a.batch_size]
                enc = tok([q for q, _ in chunk], [texts[t] for _, t in chunk], padding=True, truncation=True,
                          max_length=128, return_tensors="pt")
                h = bert(**enc).last_hidden_state.float()
                m = enc["attention_mask"].unsqueeze(-1).float()
                pr = torch.softmax(((h * m).sum(1) / m.sum(1)) @ hw.T + hb, -1).numpy()
                for pair, pp in zip(chunk, pr):
                    tuned_probs[pair] = pp
    sentiment_seconds = time.perf_counter() - t_sent

    # Assign, per answer.
    out_rows = []
    counts = defaultdict(Counter)
    for (r, qi, raw, why, ids) in items:
        rid = rows[r][id_col].strip()
        if why:
            out_rows.append([rid, f"Q{qi + 1}", raw, "blank", why, "", "", "", "", ""])
            counts[qi]["(blank)"] += 1
            continue
        sc = S[ids, :n_codes]
        top = sc.max(1, keepdims=True)
        chosen = ((sc >= thresholds) & (sc >= top - st["margin"])).any(0)
        best = sc.max(0)
        picked = sorted((i for i in range(n_codes) if chosen[i]), key=lambda i: (-best[i], code_ids[i]))
        assigned = [(code_ids[i], float(best[i])) for i in picked[:st["max_codes"]]]
        if competes and S[ids[0], n_codes] > top[0, 0]:
            assigned = [(fallback, float(S[ids[0], n_codes]))]
        elif not assigned:
            assigned = [(fallback, 0.0)]
        if tuned:
            p = tuned_probs[(header[q_cols[qi]], ids[0])]
        else:
            a_emb = E[ids[0]]
            q_emb = Q[qi]
            z = W @ np.concatenate([a_emb, q_emb, a_emb * q_emb]) + b
            p = np.exp(z - z.max())
            p /= p.sum()
        t = tone(p)
        score = float(np.clip(p @ VALUES, -1, 1))
        outcomes = sorted({outcome_of[c] for c, _ in assigned}, key=lambda o: order.get(o, 1 << 30))
        out_rows.append([rid, f"Q{qi + 1}", raw, "coded", "", ";".join(c for c, _ in assigned), ";".join(outcomes),
                         ";".join(f"{c}={s:.3f}" for c, s in assigned), t, f"{score:.3f}"])
        counts[qi]["(coded)"] += 1
        for c, _ in assigned:
            counts[qi][c] += 1
        counts[qi]["tone:" + t] += 1

    # 7. Campaigns.
    campaign = [""] * len(out_rows)
    for qi in range(len(q_cols)):
        groups = defaultdict(list)
        for i, (r, q, raw, why, ids) in enumerate(items):
            if q == qi and not why:
                key = fold(raw)
                if len(key.split(" ")) >= CAMPAIGN_MIN_WORDS:
                    groups[key].append(i)
        big = sorted((m for m in groups.values() if len(m) >= CAMPAIGN_MIN_SIZE), key=lambda m: m[0])
        for n, members in enumerate(big, 1):
            for i in members:
                campaign[i] = f"Q{qi + 1}-C{n}"
            counts[qi]["(campaign answers)"] += len(members)

    # 8. Write.
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "coded_responses.csv"), "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["id", "question", "text", "status", "reason", "codes", "outcomes", "code_scores",
                     "sentiment", "sentiment_score", "campaign"])
        for row, camp in zip(out_rows, campaign):
            wr.writerow(row + [camp])
    with open(os.path.join(a.out, "counts.csv"), "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["question", "code", "count"])
        for qi in range(len(q_cols)):
            for key, n in sorted(counts[qi].items(), key=lambda kv: (order.get(kv[0], -1), kv[0])):
                wr.writerow([f"Q{qi + 1}", key, n])
    print(json.dumps({"answers": len(items), "texts_embedded": len(texts), "load_seconds": round(load_seconds, 3),
                      "embed_seconds": round(embed_seconds, 3),
                      "sentiment": "tuned" if tuned else "head", "sentiment_seconds": round(sentiment_seconds, 3),
                      "total_seconds": round(time.perf_counter() - t_start, 3),
                      "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
