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

Usage (from the repository root): python3 bench/check_loop.py ../shared/data OUTDIR [N] [SEED]
"""
import csv
import json
import os
import re
import subprocess
import sys

from common import manifesto_labelled, polis_labelled, write_csv as write

data, out = sys.argv[1], sys.argv[2]
n = sys.argv[3] if len(sys.argv) > 3 else "100"
seed = sys.argv[4] if len(sys.argv) > 4 else "1"
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
binary = os.environ.get("CONSULT_BIN", os.path.join(root, "target/release/consult"))
# The Polis topics, as bench/polis_cv.py puts them (compdemocracy/openData summary.csv).
QUESTIONS = {
    "bg2050-volunteers.csv": "What would you want to see in the Bowling Green of the future?",
    "london.youth.policing.csv": "What is the best way to engage more young people in local scrutiny of policing?",
}
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
truth = consult("evaluate", f"{out}/A/coded_responses.csv", f"{out}/gold.csv")
print("run A, all 410 statements against our labels (every code):")
print("  by code    micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(truth))
print("  by outcome micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(truth, "outcome"))

print(consult("sample", f"{out}/A/coded_responses.csv", "--out", f"{out}/sample.csv", "--n", n, "--seed", seed).splitlines()[0])
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

in_sample = {(r["id"], r["question"]) for r in sample}
write(f"{out}/gold_rest.csv", ["id", "question", "codes"], [(k, q, g) for (k, q), g in gold.items() if (k, q) not in in_sample])
write(f"{out}/examples_C.csv", ["id", "text", "codes"], manifesto + [(r["id"], r["text"], r["codes"]) for r in sample])
consult(*analyse, "--examples", f"{out}/examples_C.csv", "--out", f"{out}/C")
print(f"the {len(gold) - len(in_sample)} statements not in the sample (every code):")
for run in ("A", "C"):
    printed = consult("evaluate", f"{out}/{run}/coded_responses.csv", f"{out}/gold_rest.csv")
    print(f"  run {run}: by code micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(printed)
          + "; by outcome micro-F1 %.3f [%.3f, %.3f]  macro-F1 %.3f" % micro(printed, "outcome"))
