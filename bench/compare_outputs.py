"""Checks that the Python reference pipeline did the same job as `consult analyse`: agreement of
status, code sets, first code and sentiment over the same answers. Prints one line.

    python3 bench/compare_outputs.py CONSULT_OUT/coded_responses.csv PY_OUT/coded_responses.csv
"""
import csv
import sys


def load(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return {(r["id"], r["question"]): r for r in csv.DictReader(fh)}


c, p = load(sys.argv[1]), load(sys.argv[2])
keys = sorted(set(c) & set(p))
coded = [k for k in keys if c[k]["status"] == "coded" and p[k]["status"] == "coded"]
status = sum(c[k]["status"] == p[k]["status"] for k in keys)
same_set = sum(set(c[k]["codes"].split(";")) == set(p[k]["codes"].split(";")) for k in coded)
same_first = sum(c[k]["codes"].split(";")[0] == p[k]["codes"].split(";")[0] for k in coded)
same_tone = sum(c[k]["sentiment"] == p[k]["sentiment"] for k in coded)
same_camp = sum(bool(c[k].get("campaign")) == bool(p[k].get("campaign")) for k in keys)
n = max(len(coded), 1)
print(f"agreement consult vs python over {len(keys)} answers ({len(set(c) ^ set(p))} unmatched): "
      f"status {status / max(len(keys), 1):.1%}; of {len(coded)} coded by both: same code set {same_set / n:.1%}, "
      f"same first code {same_first / n:.1%}, same sentiment {same_tone / n:.1%}; "
      f"campaign membership {same_camp / max(len(keys), 1):.1%}")
