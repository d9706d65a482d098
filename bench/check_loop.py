"""The officer's checking loop, run on real hand-coded answers with consult's own commands.

The 410 Polis statements we coded by hand (eval/dev/polis_labels.csv) are put in one export,
each under its conversation's question (two open questions), and coded zero-shot with the
manifesto sentences as the only hand-coded examples (none of these statements among them):
  A  `consult analyse`: the run an officer starts from;
     its true agreement: `consult evaluate` over all 410 against our labels;
  S  `consult sample A/coded_responses.csv --n N`: the answers an officer would code; here our
     labels stand in for the officer's codes;
  B  `consult analyse --check S`: the methods note's estimate from the sample alone, against the
     true figure above (does its 95% interval hold it?);
  C  `consult analyse --examples manifesto+S`: the next run, with the sample's answers as
     examples; scored on the statements not in the sample, against run A on the same ones.

With PER_CODE above 0 the sample is drawn per code (`consult sample --per-code PER_CODE`),
weighted back to the run; either way the script also says, for the codes run A gave, how many
the sample can check the precision of (the run gave the code to at least one sampled answer) and
how far those estimates fall from run A's true precision per code.

Usage (from the repository root): python3 bench/check_loop.py ../shared/data OUTDIR [N] [SEED] [PER_CODE]
"""
import csv
import json
import os
import re
import subprocess
import sys

from common import POLIS_QUESTIONS as QUESTIONS, manifesto_labelled, polis_labelled, write_csv as write

data, out = sys.argv[1], sys.argv[2]
n = sys.argv[3] if len(sys.argv) > 3 else "100"
seed = sys.argv[4] if len(sys.argv) > 4 else "1"
per_code = sys.argv[5] if len(sys.argv) > 5 else "0"
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.environ.get("CONSULT_BIN", os.path.join(root, "target/release/consult"))
os.makedirs(out, exist_ok=True)


def consult(*args):
    r = subprocess.run([binary, *args], check=True, capture_output=True, text=True)
    return r.stdout


def micro(printed, level="code"):
    """The micro-F1, its interval and the macro-F1 `consult evaluate` printed for a level."""
    m = re.search(rf"^{level}: micro-F1 (\S+) \[(\S+), (\S+)\]  macro-F1 (\S+)", printed, re.M)
    return tuple(float(x) for x in m.groups())


polis = polis_labelled(data, root)
keys = list(QUESTIONS)
# One respondent per statement; Q1 is the Bowling Green question, Q2 the London one.
write(f"{out}/export.csv", ["id", *QUESTIONS.values()],
      [(k, *(t if k.startswith(f + "#") else "" for f in keys)) for k, t, _ in polis])
question_of = {k: f"Q{1 + next(i for i, f in enumerate(keys) if k.startswith(f + '#'))}" for k, _, _ in polis}
gold = {(k, question_of[k]): c for k, _, c in polis}
write(f"{out}/gold.csv", ["id", "question", "codes"], [(k, q, c) for (k, q), c in gold.items()])
manifesto = manifesto_labelled(data, root)
write(f"{out}/manifesto.csv", ["id", "text", "codes"], manifesto)

analyse = ["analyse", f"{out}/export.csv", "--id", "id", *(a for q in QUESTIONS.values() for a in ("--text", q)), "--quiet", "--force"]
consult(*analyse, "--examples", f"{out}/manifesto.csv", "--out", f"{out}/A")
truth = consult("evaluate", f"{out}/A/coded_responses.csv", f"{out}/gold.csv", "--csv", f"{out}/truth.csv")
print("run A, all 410 statements against our labels (every code):")
print("  by code    micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(truth))
print("  by outcome micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(truth, "outcome"))

print(consult("sample", f"{out}/A/coded_responses.csv", "--out", f"{out}/sample.csv", "--n", n, "--seed", seed,
              "--per-code", per_code).splitlines()[0])
with open(f"{out}/sample.csv", encoding="utf-8") as fh:
    sample = list(csv.DictReader(fh))
for r in sample:
    r["codes"] = gold[(r["id"], r["question"])]
write(f"{out}/sample_coded.csv", list(sample[0]), [list(r.values()) for r in sample])

consult(*analyse, "--examples", f"{out}/manifesto.csv", "--check", f"{out}/sample_coded.csv", "--out", f"{out}/B")
with open(f"{out}/B/run.json", encoding="utf-8") as fh:
    c = json.load(fh)["check_agreement"]
for level in ("code", "outcome"):
    f = c[level]
    print(f"run B, the sample's estimate by {level}: micro-F1 {f['micro_f1']:.3f} [{f['micro_f1_ci95'][0]:.3f}, "
          f"{f['micro_f1_ci95'][1]:.3f}]  macro-F1 {f['macro_f1']:.3f} (n {c['compared']})")


def precision_by_code(path):
    """{code: precision} at code level, for the codes given to at least one item (tp + fp > 0)."""
    with open(path, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["level"] == "code" and r["code"] not in ("micro", "macro")]
    return {r["code"]: float(r["precision"]) for r in rows}


# Run A's true precision per code, over the codes it gave at least 5 of the 410 statements.
with open(f"{out}/A/coded_responses.csv", encoding="utf-8") as fh:
    given = {}
    for r in csv.DictReader(fh):
        for code in filter(None, (x.strip() for x in r["codes"].split(";"))):
            given[code] = given.get(code, 0) + 1
true_p = precision_by_code(f"{out}/truth.csv")
codes = sorted(c for c, k in given.items() if k >= 5)
# In run B's agreement.csv a code the sample never gave has precision 0 and no way to tell; read
# which codes the run gave to sampled answers from the sample itself.
sampled_codes = {}
with open(f"{out}/B/coded_responses.csv", encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        if (r["id"], r["question"]) in {(x["id"], x["question"]) for x in sample}:
            for code in filter(None, (x.strip() for x in r["codes"].split(";"))):
                sampled_codes[code] = sampled_codes.get(code, 0) + 1
est_p = precision_by_code(f"{out}/B/agreement.csv")
checkable = [c for c in codes if sampled_codes.get(c, 0) >= 3]
errors = [abs(est_p.get(c, 0.0) - true_p.get(c, 0.0)) for c in checkable]
print(f"precision per code: of the {len(codes)} codes run A gave at least 5 statements, the sample gave "
      f"{len(checkable)} to at least 3 of its answers; their precision estimates miss run A's true ones by "
      f"{sum(errors) / max(len(errors), 1):.3f} on average (largest {max(errors, default=0):.3f})")

in_sample = {(r["id"], r["question"]) for r in sample}
write(f"{out}/gold_rest.csv", ["id", "question", "codes"], [(k, q, g) for (k, q), g in gold.items() if (k, q) not in in_sample])
write(f"{out}/examples_C.csv", ["id", "text", "codes"], manifesto + [(r["id"], r["text"], r["codes"]) for r in sample])
consult(*analyse, "--examples", f"{out}/examples_C.csv", "--out", f"{out}/C")
print(f"the {len(gold) - len(in_sample)} statements not in the sample (every code):")
for run in ("A", "C"):
    printed = consult("evaluate", f"{out}/{run}/coded_responses.csv", f"{out}/gold_rest.csv")
    print(f"  run {run}: by code micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(printed)
          + "; by outcome micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(printed, "outcome"))
