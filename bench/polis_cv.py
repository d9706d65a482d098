"""What hand-coded statements add to the default codebook, measured without scoring any
statement against itself. Five-fold cross-validation on our Polis development labels
(eval/dev/polis_labels.csv), folds by the FNV-1a hash of `file#comment_id`: each fold is coded
by `consult analyse --examples` with the other four folds' statements and our manifesto
sentences (eval/dev/manifesto_code_labels.csv, 212) as the hand-coded examples (what
`make codebook-examples` gives the default codebook, less the fold), and the
five folds' coded answers are scored together with `consult evaluate`, beside zero-shot coding
with the codebook's own examples only (`--no-examples`) on the same statements.
With --head, the same folds are also coded by heads that `consult train` learns from the
codebook's example statements plus the other four folds and the manifesto sentences (since the
ninth session on an encoder fine-tuned on the same statements; 5 x ~2 min), and zero-shot
again with that fine-tuned encoder in place of MiniLM (`analyse --model FOLD/head_model/encoder`).

With --dump, each fold's analyse runs write every coded text's per-piece code scores to
OUTDIR/foldK/scoresJ.jsonl (conversation J): the statements as answers, and the hand-coded examples
left out one at a time. Only a binary built with bench/polis_scores_dump.patch applied writes them
(`git apply bench/polis_scores_dump.patch && cargo build --release`, then `git checkout src`);
bench/polis_rule_replay.py replays decision rules over them.

Usage (from the repository root): python3 bench/polis_cv.py ../shared/data OUTDIR [--head] [--settings FILE] [--dump]
"""
import csv
import os
import subprocess
import sys
import tomllib

from common import POLIS_QUESTIONS as QUESTIONS, SUB_OUTCOMES as SUB, fnv1a, manifesto_labelled, polis_labelled, tidy, write_csv as write

data, out = sys.argv[1], sys.argv[2]
heads = "--head" in sys.argv[3:]
# --settings FILE: zero-shot settings for the cross-validated runs (default: models/zero-shot.toml)
settings = sys.argv[sys.argv.index("--settings") + 1] if "--settings" in sys.argv else None
settings_args = ["--settings", settings] if settings else []
dump = "--dump" in sys.argv[3:]
# Each statement is put to its conversation's own question (the Polis topic) as a consultation
# export's column header would put it, and coded one conversation at a time ("examples");
# "examples_bare" codes the same folds under a bare "text" header, as before the twelfth session.
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.environ.get("CONSULT_BIN", os.path.join(root, "target/release/consult"))
codebook = os.path.join(root, "models/codebooks/strategic-plan-2022-26.toml")
os.makedirs(out, exist_ok=True)


def consult(*args, scores=None):
    env = dict(os.environ, CONSULT_TMP_DUMP=scores) if scores else None
    if scores and os.path.exists(scores):
        os.remove(scores)
    subprocess.run([binary, *args], check=True, stdout=None if args[0] == "evaluate" else subprocess.DEVNULL, env=env)


polis = polis_labelled(data, root)
manifesto = manifesto_labelled(data, root)
with open(codebook, "rb") as fh:
    book = tomllib.load(fh)
examples = [(f"example#{c['id']}#{i}", tidy(e), c["id"]) for c in book["codes"] for i, e in enumerate(c.get("examples", []))]
write(f"{out}/polis_gold.csv", ["id", "codes"], [(k, c) for k, _, c in polis])
write(f"{out}/polis_input.csv", ["id", "text"], [(k, t) for k, t, _ in polis])

methods = ["examples", "examples_bare"] + (["head", "tuned_zero_shot"] if heads else [])
coded = {m: [] for m in methods}
for k in range(5):
    d = f"{out}/fold{k}"
    os.makedirs(d, exist_ok=True)
    test = [p for p in polis if fnv1a(p[0]) % 5 == k]
    rest = [p for p in polis if fnv1a(p[0]) % 5 != k]
    write(f"{d}/input.csv", ["id", "text"], [(i, t) for i, t, _ in test])
    write(f"{d}/examples.csv", ["id", "text", "codes"], rest + manifesto)
    rows = []
    for j, (f, q) in enumerate(QUESTIONS.items()):
        write(f"{d}/input{j}.csv", ["id", q], [(i, t) for i, t, _ in test if i.startswith(f + "#")])
        consult("analyse", f"{d}/input{j}.csv", "--id", "id", "--text", q, "--examples", f"{d}/examples.csv", *settings_args, "--quiet", "--out", f"{d}/examples{j}",
                scores=f"{d}/scores{j}.jsonl" if dump else None)
        with open(f"{d}/examples{j}/coded_responses.csv", encoding="utf-8") as fh:
            part = list(csv.reader(fh))
        rows += part if not rows else part[1:]
    os.makedirs(f"{d}/examples", exist_ok=True)
    with open(f"{d}/examples/coded_responses.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    consult("analyse", f"{d}/input.csv", "--id", "id", "--text", "text", "--examples", f"{d}/examples.csv", *settings_args, "--quiet", "--out", f"{d}/examples_bare")
    if heads:
        write(f"{d}/train_gold.csv", ["id", "text", "codes"], examples + rest + manifesto)
        consult("train", "--gold", f"{d}/train_gold.csv", "--codebook", codebook, "--out", f"{d}/head_model")
        consult("analyse", f"{d}/input.csv", "--id", "id", "--text", "text", "--head", f"{d}/head_model", "--quiet", "--out", f"{d}/head")
        consult("analyse", f"{d}/input.csv", "--id", "id", "--text", "text", "--examples", f"{d}/examples.csv",
                "--model", f"{d}/head_model/encoder", "--quiet", "--out", f"{d}/tuned_zero_shot")
    for m in methods:
        with open(f"{d}/{m}/coded_responses.csv", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        coded[m] += rows if not coded[m] else rows[1:]
for m in methods:
    with open(f"{out}/{m}_coded.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(coded[m])
print("== zero-shot, the codebook's own examples only (--no-examples), all 410 statements", flush=True)
consult("analyse", f"{out}/polis_input.csv", "--id", "id", "--text", "text", "--no-examples", "--quiet", "--out", f"{out}/own")
consult("evaluate", "--only", SUB, f"{out}/own/coded_responses.csv", f"{out}/polis_gold.csv")
print("== zero-shot with the other folds' statements and the manifesto sentences as hand-coded examples, each statement under its conversation's question (5-fold cross-validation)", flush=True)
consult("evaluate", "--only", SUB, f"{out}/examples_coded.csv", f"{out}/polis_gold.csv")
print("== the same under a bare \"text\" header, so no question lends its topic (5-fold cross-validation)", flush=True)
consult("evaluate", "--only", SUB, f"{out}/examples_bare_coded.csv", f"{out}/polis_gold.csv")
if heads:
    print("== heads learnt from the codebook's examples, the other folds and the manifesto sentences (5-fold cross-validation)", flush=True)
    consult("evaluate", "--only", SUB, f"{out}/head_coded.csv", f"{out}/polis_gold.csv")
    print("== zero-shot as above, with the encoder fine-tuned for those heads (5-fold cross-validation)", flush=True)
    consult("evaluate", "--only", SUB, f"{out}/tuned_zero_shot_coded.csv", f"{out}/polis_gold.csv")
