"""Writes the benchmark sentences: the first 2,000 non-empty NHS FFT answers (real feedback
text, 1 to 300+ words), one per line. Usage: python3 bench/sentences.py SHARED_DATA OUT"""
import csv, sys
rows = []
with open(f"{sys.argv[1]}/nhs_fft/v6framework_dev.csv", encoding="utf-8") as fh:
    for r in csv.DictReader(fh):
        t = " ".join(r["FFT answer"].split())
        if t:
            rows.append(t)
        if len(rows) == 2000:
            break
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(rows) + "\n")
