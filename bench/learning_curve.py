"""Learning curve sets: the NHS FFT training folds cut down to about N examples per code.

    python bench/learning_curve.py SETS_DIR N OUT_DIR

SETS_DIR is what bench/fft_sets.py writes (train_gold.csv, test_input.csv, test_gold.csv,
codes_min3.txt, questions.txt). OUT_DIR gets the same files with train_gold.csv replaced by a
sample: answers are taken in a fixed pseudo-random order (FNV-1a of the id) and an answer is
kept while any of its codes has fewer than N kept answers, so every code has at least
min(N, all it has) examples (common codes get more, through answers that carry several).
The test files are linked unchanged: every point of the curve is scored on the same fold."""
import csv, os, sys

from common import fnv1a


def main():
    src, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    with open(f"{src}/train_gold.csv", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    rows.sort(key=lambda r: fnv1a(r["id"]))
    count, kept = {}, []
    for r in rows:
        codes = [c for c in r["codes"].split(";") if c]
        if any(count.get(c, 0) < n for c in codes):
            kept.append(r)
            for c in codes:
                count[c] = count.get(c, 0) + 1
    with open(f"{out}/train_gold.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(kept)
    for name in ("test_input.csv", "test_gold.csv", "codes_min3.txt", "questions.txt"):
        dst = f"{out}/{name}"
        if os.path.lexists(dst):
            os.remove(dst)
        os.symlink(os.path.abspath(f"{src}/{name}"), dst)
    print(f"learning_curve: {n} per code: {len(kept)} of {len(rows)} training answers, "
          f"{len(count)} codes, fewest examples {min(count.values())}")


if __name__ == "__main__":
    main()
