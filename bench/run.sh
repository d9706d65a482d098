#!/usr/bin/env bash
# `make bench`: every figure in BENCHMARKS.md, in one run, on this machine.
#  1. Encode speed: consult (rust-bert, length-sorted token-budget batches) against Python
#     sentence-transformers 3.3.1 (batch 32), same model files, same 2,000 sentences.
#  2. Zero-shot accuracy of the default codebook: outcome level on manifesto sentences
#     (never tuned on), and sub-outcome level on the Polis development labels (tuned on).
#  3. Sentiment: the held-out figures recorded by `consult train-sentiment` in the head.
#  4. Learning from a coded sample: NHS FFT themes, `consult train` on folds 1-4, scored on
#     fold 0, against TF-IDF + linear SVC (pxtextmining's classic model) on the same split.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
BIN=target/release/consult
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== 1. encode speed (2,000 NHS FFT answers)"
python3 bench/sentences.py "$SHARED/data" "$work/sentences.txt"
# Three alternating rounds; the median of each side is compared (this machine is noisy).
for round in 1 2 3; do
  rust=$($BIN embed "$work/sentences.txt")
  py=$(.venv/bin/python bench/encode_speed.py "$work/sentences.txt" models/all-MiniLM-L6-v2)
  echo "round $round consult:               $rust"
  echo "round $round sentence-transformers: $py"
  echo "$rust" >> "$work/rust.jsonl"
  echo "$py" >> "$work/py.jsonl"
done
python3 - "$work/rust.jsonl" "$work/py.jsonl" <<'PY'
import json, statistics, sys
r = statistics.median(json.loads(l)["texts_per_second"] for l in open(sys.argv[1]))
p = statistics.median(json.loads(l)["texts_per_second"] for l in open(sys.argv[2]))
print(f"median texts/s: consult {r:.1f}, python {p:.1f}; ratio consult/python {r / p:.2f}x")
PY

echo "== 2. zero-shot accuracy of the default codebook"
python3 bench/make_eval_sets.py "$SHARED/data" "$work/sets"
$BIN analyse "$work/sets/manifesto_input.csv" --id id --text text --quiet --out "$work/manifesto"
echo "-- manifesto sentences, outcome level (5-9), never tuned on:"
$BIN evaluate --outcomes --only 5,6,7,8,9 "$work/manifesto/coded_responses.csv" "$work/sets/manifesto_gold.csv"
$BIN analyse "$work/sets/polis_input.csv" --id id --text text --quiet --out "$work/polis"
echo "-- Polis statements, development labels (settings tuned on these), sub-outcome and outcome level:"
$BIN evaluate --only 5.1,5.2,5.3,5.4,6.1,6.2,6.3,6.4,6.5,7.1,7.2,7.3,7.4,8.1,8.2,8.3,8.4,8.5,9.1,9.2,9.3,9.4 \
  "$work/polis/coded_responses.csv" "$work/sets/polis_gold.csv" | grep -E "^(code|outcome): micro"

echo "== 3. sentiment head, held-out fold (from models/sentiment/head.json)"
python3 -c "import json; m=json.load(open('models/sentiment/head.json'))['meta']; print(json.dumps(m['metrics'], indent=1)); print('trained by:', m['command'])"

echo "== 4. NHS FFT themes: consult train + analyse --head vs TF-IDF + linear SVC, same split"
python3 bench/fft_sets.py "$SHARED/data" "$work/fft"
start=$(date +%s.%N)
$BIN train --gold "$work/fft/train_gold.csv" --out "$work/fft/head"
echo "consult train wall time: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s (including embedding)"
qargs=()
while IFS= read -r q; do qargs+=(--text "$q"); done < "$work/fft/questions.txt"
$BIN analyse "$work/fft/test_input.csv" --id id "${qargs[@]}" --head "$work/fft/head" --quiet --out "$work/fft/out"
echo -n "consult heads: "
$BIN evaluate "$work/fft/out/coded_responses.csv" "$work/fft/test_gold.csv" --only "$(cat "$work/fft/codes_min3.txt")" | grep "^code: micro"
.venv/bin/python bench/fft_baseline.py "$work/fft" 2>/dev/null

# --- sentiment (issue 6): consult's head against VADER on held-out and public human-rated sets.
# Sets from bench/sentiment_sets.py; consult scores each with `consult sentiment`, VADER and the
# scoring run in bench/sentiment_eval.py (vaderSentiment, installed by scripts/setup-bench.sh).
echo "== sentiment: consult head vs VADER (NHS FFT fold 0, consultation tone, VADER sets, SST-2 dev)"
python3 bench/sentiment_sets.py "$SHARED/data" eval/dev/polis_labels.csv "$work/sent" 2>/dev/null
start=$(date +%s.%N)
$BIN sentiment "$work/sent/fft.csv" --id id --text text --question-col question --out "$work/sent/consult_fft.csv"
for s in consultation vader_tweets vader_movie vader_nyt vader_amazon sst2_dev; do
  $BIN sentiment "$work/sent/$s.csv" --id id --text text --out "$work/sent/consult_$s.csv"
done
echo "consult sentiment wall time, all sets: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
.venv/bin/python bench/sentiment_eval.py "$work/sent"
