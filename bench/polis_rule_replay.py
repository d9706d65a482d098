"""Zero-shot decision rules replayed over the Polis cross-validation's dumped code scores, with
no model run: how the twenty-fourth session chose `second_threshold` (BENCHMARKS.md section 2).

`Classifier::assign_scored` (src/classify.rs) is reproduced in Python over the per-piece scores
that `python3 bench/polis_cv.py ../shared/data DIR --dump` writes (with a binary built from
bench/polis_scores_dump.patch; see polis_cv.py). It prints:
  - the rule without a floor on the second code and with the shipped floor, over the five folds'
    statements (scored as `consult evaluate --only` the 22 sub-outcomes scores them; the rule
    without the floor gives the sixteenth-session figures 0.729 / 0.596, outcome 0.814 / 0.765);
  - the floor chosen inside each fold on the leave-one-out scores of that fold's own examples
    only (objective sub-outcome macro-F1, grid 0.30-0.45), and the five folds coded with their
    own choices (nested).

Usage (from the repository root): python3 bench/polis_rule_replay.py DIR
"""
import csv
import json
import sys
from collections import defaultdict

from common import POLIS_QUESTIONS, SUB_OUTCOMES, micro_macro_f1

SUB = SUB_OUTCOMES.split(",")
OUTCOMES = ["5", "6", "7", "8", "9"]
CONVERSATIONS = [f + "#" for f in POLIS_QUESTIONS]  # input{j}.csv is conversation j
THRESHOLD, MARGIN, MAX_CODES = 0.30, 0.04, 2  # models/zero-shot.toml


def assign(pieces, codes, second=None):
    """The codes for one text from its pieces' scores (whole text first; the fallback's own
    score last when it competes), as Classifier::assign_scored gives them."""
    n = len(codes)
    fallback = pieces[0][n] if len(pieces[0]) > n else None
    best, chosen, whole_top = [float("-inf")] * n, [False] * n, None
    for j, s in enumerate(pieces):
        s = s[:n]
        top = max(s)
        if j == 0:
            whole_top = top
        for i in range(n):
            best[i] = max(best[i], s[i])
            if s[i] >= THRESHOLD and s[i] >= top - MARGIN:
                chosen[i] = True
    given = sorted((i for i in range(n) if chosen[i]), key=lambda i: (-best[i], codes[i]))
    if second is not None:
        given = given[:1] + [i for i in given[1:] if best[i] >= second]
    given = given[:MAX_CODES]
    if (fallback is not None and fallback > whole_top) or not given:
        return {"other"}
    return {codes[i] for i in given}


def outcome(code):
    return code.split(".")[0] if "." in code else code


def f1(pairs, labels):
    """Micro- and macro-F1 over `labels` of (given, gold) code-set pairs."""
    return micro_macro_f1(dict(enumerate(p for p, _ in pairs)), dict(enumerate(g for _, g in pairs)), labels)


def scores(pairs):
    lifted = [({outcome(c) for c in p}, {outcome(c) for c in g}) for p, g in pairs]
    return (*f1(pairs, SUB), *f1(lifted, OUTCOMES))


def codes_of(s):
    return {c.strip() for c in s.split(";") if c.strip()}


def load(out):
    with open(f"{out}/polis_gold.csv", encoding="utf-8") as fh:
        gold = {r["id"]: codes_of(r["codes"]) for r in csv.DictReader(fh)}
    folds = []
    for k in range(5):
        d = f"{out}/fold{k}"
        with open(f"{d}/examples.csv", encoding="utf-8") as fh:
            own = {}
            for r in csv.DictReader(fh):
                own.setdefault(r["text"], codes_of(r["codes"]))
        loo, test, seen, codes = [], [], set(), None
        for j, prefix in enumerate(CONVERSATIONS):
            with open(f"{d}/input{j}.csv", encoding="utf-8") as fh:
                ids = defaultdict(list)
                for i, t in list(csv.reader(fh))[1:]:
                    ids[t].append(i)
            with open(f"{d}/scores{j}.jsonl", encoding="utf-8") as fh:
                for line in fh:
                    r = json.loads(line)
                    codes = r["codes"]
                    if r["kind"] == "loo" and j == 0 and r["text"] in own:
                        loo.append((r["scores"], own[r["text"]]))
                    elif r["kind"] == "answer":
                        for i in ids[r["text"]]:
                            if i.startswith(prefix) and i not in seen:
                                seen.add(i)
                                test.append((r["scores"], gold[i]))
        folds.append((codes, loo, test))
    return folds


def show(name, figures):
    print(f"{name}: sub-outcome micro / macro {figures[0]:.3f} / {figures[1]:.3f}, outcome {figures[2]:.3f} / {figures[3]:.3f}")


if __name__ == "__main__":
    folds = load(sys.argv[1])
    print(f"{sum(len(t) for _, _, t in folds)} statements; leave-one-out examples per fold: {[len(l) for _, l, _ in folds]}")
    for second in (None, 0.40):
        show(f"second-code floor {second}", scores([(assign(s, c, second), g) for c, _, t in folds for s, g in t]))
    grid = [round(0.30 + 0.01 * i, 2) for i in range(16)]
    nested, choices = [], []
    for codes, loo, test in folds:
        # The floor whose leave-one-out macro-F1 is highest; ties to the lowest.
        best = max(grid, key=lambda t: (f1([(assign(s, codes, t), g) for s, g in loo], SUB)[1], -t))
        choices.append(best)
        nested += [(assign(s, codes, best), g) for s, g in test]
    show(f"floor chosen inside each fold ({', '.join(f'{c:.2f}' for c in choices)})", scores(nested))
