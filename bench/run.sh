#!/usr/bin/env bash
# `make bench`: every figure in BENCHMARKS.md, in one run, on this machine.
#  1. encode   Encode speed: consult (rust-bert, length-sorted token-budget batches) against Python
#              sentence-transformers 3.3.1 (batch 32), same model files, same 2,000 sentences.
#  2. accuracy Accuracy of the default codebook: outcome level on manifesto sentences (never
#              tuned on), with and without the hand-coded examples; sub-outcome level on the Polis
#              development labels (tuned on), by 5-fold cross-validation (bench/polis_cv.py).
#  3. sentiment The held-out figures recorded by `consult train-sentiment` in the frozen head and
#              by `train-sentiment --tune` in the tuned model, and the default model (the tuned one
#              when built) against VADER (NHS FFT fold 0, consultation tone, VADER's sets, SST-2 dev).
#  4. fft      Learning from a coded sample: NHS FFT themes, `consult train` (encoder fine-tuned on
#              the sample, then heads) on folds 1-4, scored on
#              fold 0, against TF-IDF + linear SVC (pxtextmining's classic model) on the same split.
#     curve    Learning curve: the same, trained on about 3, 5, 10, 25, 50 and 100 examples per code
#              (bench/learning_curve.py), against TF-IDF + linear SVC on the same samples.
#  5. e2e      End to end: `consult analyse` on a synthetic export (bench/make_export.py, BENCH_N
#              respondents x 3 open questions) against the Python reference pipeline
#              (bench/reference_pipeline.py), wall time each and the ratio.
#  6. recode   Re-analysis with an edited codebook on cached embeddings (`consult analyse --cache`).
#  7. memory   Peak RSS and throughput of consult at BENCH_N and BENCH_N_LARGE respondents (x 3
#              answers), and of the Python pipeline at BENCH_N.
#
# Usage: bash bench/run.sh [SECTION...]   (default: all; e.g. `bash bench/run.sh e2e recode`)
# Env:   BENCH_N (default 10000 respondents = 30,000 answers), BENCH_N_LARGE (default 33334,
#        ~100,000 answers), BENCH_SEED (default 8), SHARED (default ../shared).
#        CONSULT_BIN (default target/release/consult).
#        Quick check of sections 5-7: BENCH_N=500 BENCH_N_LARGE=1000 bash bench/run.sh e2e recode memory
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED="${SHARED:-../shared}"
BENCH_N="${BENCH_N:-10000}"
BENCH_N_LARGE="${BENCH_N_LARGE:-33334}"
BENCH_SEED="${BENCH_SEED:-8}"
BIN="${CONSULT_BIN:-target/release/consult}"
PY=.venv/bin/python
ALL=(encode accuracy sentiment fft curve e2e recode memory)
if [ $# -gt 0 ]; then SECTIONS=("$@"); else SECTIONS=("${ALL[@]}"); fi
for s in "${SECTIONS[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || { echo "bench/run.sh: unknown section '$s' (one of: ${ALL[*]})" >&2; exit 2; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cpu_model="$(lscpu | awk -F: '/^Model name/{gsub(/^[ \t]+/, "", $2); print $2; exit}')"
machine="$cpu_model, $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB RAM"
echo "machine: $machine"
echo "sections: ${SECTIONS[*]}"
: > "$work/results.tsv"
# result LABEL VALUE: one line of the closing results table.
result() { printf '%s\t%s\n' "$1" "$2" >> "$work/results.tsv"; }

section_encode() {
echo "== 1. encode speed (2,000 NHS FFT answers)"
python3 bench/sentences.py "$SHARED/data" "$work/sentences.txt"
# Three alternating rounds; the median of each side is compared (this machine is noisy).
# consult runs at its default precision (bf16 where the CPU has AVX512-BF16, else fp32) and at
# fp32; Python at its default fp32 and converted to bf16, so like is compared with like too.
for round in 1 2 3; do
  rust=$($BIN embed "$work/sentences.txt")
  rust32=$($BIN embed --precision fp32 "$work/sentences.txt")
  py=$($PY bench/encode_speed.py "$work/sentences.txt" models/all-MiniLM-L6-v2 fp32)
  py16=$($PY bench/encode_speed.py "$work/sentences.txt" models/all-MiniLM-L6-v2 bf16)
  echo "round $round consult (default):            $rust"
  echo "round $round consult --precision fp32:     $rust32"
  echo "round $round sentence-transformers fp32:   $py"
  echo "round $round sentence-transformers bf16:   $py16"
  echo "$rust" >> "$work/rust.jsonl"
  echo "$rust32" >> "$work/rust32.jsonl"
  echo "$py" >> "$work/py.jsonl"
  echo "$py16" >> "$work/py16.jsonl"
done
python3 - "$work" "$($BIN embed --help | grep -c precision)" <<'PY'
import json, statistics, sys
w = sys.argv[1]
med = lambda f: statistics.median(json.loads(l)["texts_per_second"] for l in open(f"{w}/{f}.jsonl"))
r, r32, p, p16 = med("rust"), med("rust32"), med("py"), med("py16")
print(f"median texts/s: consult {r:.1f} (fp32 {r32:.1f}), python fp32 {p:.1f}, python bf16 {p16:.1f}")
print(f"ratio consult default / python fp32 (its default) {r / p:.2f}x; fp32 / fp32 {r32 / p:.2f}x")
with open(f"{w}/results.tsv", "a") as f:
    f.write(f"(1) encode 2,000 sentences, median texts/s: consult / python (defaults)\t{r:.1f} / {p:.1f} = {r / p:.2f}x\n")
    f.write(f"(1) same, both fp32 / python bf16\t{r32:.1f} / {p:.1f} = {r32 / p:.2f}x; python bf16 {p16:.1f}\n")
PY

}

section_accuracy() {
echo "== 2. accuracy of the default codebook"
python3 bench/make_eval_sets.py "$SHARED/data" "$work/sets"
local ex=models/codebooks/strategic-plan-2022-26.examples.csv
echo "-- manifesto sentences, outcome level (5-9), never tuned on; codebook examples plus $([ -f $ex ] && echo "the hand-coded statements in $ex" || echo "no hand-coded statements (make codebook-examples)"):"
$BIN analyse "$work/sets/manifesto_input.csv" --id id --text text --quiet --out "$work/manifesto"
$BIN evaluate --outcomes --only 5,6,7,8,9 "$work/manifesto/coded_responses.csv" "$work/sets/manifesto_gold.csv"
echo "-- manifesto sentences, the codebook's own examples only (--no-examples):"
$BIN analyse "$work/sets/manifesto_input.csv" --id id --text text --no-examples --quiet --out "$work/manifesto-own"
$BIN evaluate --outcomes --only 5,6,7,8,9 "$work/manifesto-own/coded_responses.csv" "$work/sets/manifesto_gold.csv" | grep -E "^outcome: micro"
# The hand-coded examples ARE these statements, so the Polis figures come from 5-fold
# cross-validation: each fold coded with the other folds' statements as examples.
echo "-- Polis statements, development labels (settings tuned on these), sub-outcome and outcome level:"
python3 bench/polis_cv.py "$SHARED/data" "$work/polis-cv" | grep -E "^(==|code: micro|outcome: micro)"
}

section_sentiment() {
echo "== 3. sentiment models, held-out fold (models/sentiment/head.json, models/sentiment/tuned-heldout/meta.json; models/sentiment/tuned, trained on every fold, carries the latter's figures)"
local meta
for meta in models/sentiment/head.json models/sentiment/tuned-heldout/meta.json models/sentiment/tuned/meta.json; do
  [ -f "$meta" ] || { echo "$meta: not built (make sentiment-model)"; continue; }
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m=m.get('meta', m); print(sys.argv[1]); print(json.dumps(m['metrics'], indent=1)); print('trained by:', m['command'], '| training seconds:', m.get('training', {}).get('seconds', '-'))" "$meta"
done

# --- sentiment (issue 6): consult's head against VADER on held-out and public human-rated sets.
# Sets from bench/sentiment_sets.py; consult scores each with `consult sentiment`, VADER and the
# scoring run in bench/sentiment_eval.py (vaderSentiment, installed by scripts/setup-bench.sh).
# Fold 0 is scored by the model that never saw it: the recipe with fold 0 held out (the
# shipped model learnt from every fold), or the frozen head when the tuned models are not built.
local smodel=models/sentiment/head.json
[ -f models/sentiment/tuned-heldout/model.safetensors ] && smodel=models/sentiment/tuned-heldout
echo "-- consult (sentiment model: $smodel) vs VADER (NHS FFT fold 0, consultation tone, VADER sets, SST-2 dev)"
python3 bench/sentiment_sets.py "$SHARED/data" eval/dev/polis_labels.csv "$work/sent" 2>/dev/null
start=$(date +%s.%N)
$BIN sentiment "$work/sent/fft.csv" --id id --text text --question-col question --sentiment-model "$smodel" --out "$work/sent/consult_fft.csv"
local s
for s in consultation vader_tweets vader_movie vader_nyt vader_amazon sst2_dev; do
  $BIN sentiment "$work/sent/$s.csv" --id id --text text --sentiment-model "$smodel" --out "$work/sent/consult_$s.csv"
done
echo "consult sentiment wall time, all sets: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
.venv/bin/python bench/sentiment_eval.py "$work/sent"
}

section_fft() {
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
}

# ---- Sections 5-7: end to end on a synthetic export -------------------------------------
# export_for N: path of the synthetic export with N respondents (made once per run).
export_for() {
  local f="$work/export-$1.csv"
  [ -f "$f" ] || python3 bench/make_export.py "$f" --respondents "$1" --seed "$BENCH_SEED" --polis "$SHARED/data/polis"
  echo "$f"
}
# The export's open questions (columns 5-7) as --text arguments.
text_args() {
  local q
  TEXT_ARGS=()
  while IFS= read -r q; do TEXT_ARGS+=(--text "$q"); done < <(python3 -c '
import csv, sys
h = next(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))
print("\n".join(h[4:7]))' "$1")
}
HAS_CACHE=0
if $BIN analyse --help | grep -q -- '--cache'; then HAS_CACHE=1; fi
declare -A WALL RSS
# measure KEY CMD...: runs CMD once under /usr/bin/time -v; records wall seconds and peak RSS
# (MiB) under KEY. A KEY already measured in this run is not run again (sections share runs).
measure() {
  local key=$1; shift
  [ -n "${WALL[$key]:-}" ] && return 0
  /usr/bin/time -v -o "$work/$key.time" "$@" > "$work/$key.stdout"
  WALL[$key]=$(awk -F': ' '/Elapsed \(wall clock\)/{n=split($2, t, ":"); s=0; for (i=1; i<=n; i++) s=s*60+t[i]; print s}' "$work/$key.time")
  RSS[$key]=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$work/$key.time")
  echo "  $key: wall ${WALL[$key]} s, peak RSS ${RSS[$key]} MiB"
}
# consult_run KEY N [extra analyse args...]: `consult analyse` on the N-respondent export; with the
# embedding cache available, a fresh empty cache folder per KEY (a first run, as a new user has).
consult_run() {
  local key=$1 n=$2; shift 2
  local f; f=$(export_for "$n")
  text_args "$f"
  local cache=()
  if [ "$HAS_CACHE" = 1 ]; then cache=(--cache "$work/cache-$key"); fi
  measure "$key" $BIN analyse "$f" --id "Response ID" "${TEXT_ARGS[@]}" --quiet --out "$work/out-$key" "${cache[@]}" "$@"
}
python_run() {
  local key=$1 n=$2; shift 2
  local f; f=$(export_for "$n")
  text_args "$f"
  measure "$key" $PY bench/reference_pipeline.py "$f" "$work/out-$key" --id "Response ID" "${TEXT_ARGS[@]}" "$@"
}
fmt_n() { python3 -c "print(f'{int(\"$1\"):,}')"; }

section_curve() {
echo "== 4b. NHS FFT learning curve: consult train + analyse --head vs TF-IDF + linear SVC, same samples"
[ -f "$work/fft/train_gold.csv" ] || python3 bench/fft_sets.py "$SHARED/data" "$work/fft"
local qargs=() q n
while IFS= read -r q; do qargs+=(--text "$q"); done < "$work/fft/questions.txt"
for n in 3 5 10 25 50 100; do
  local d="$work/curve-$n"
  python3 bench/learning_curve.py "$work/fft" "$n" "$d"
  $BIN train --gold "$d/train_gold.csv" --out "$d/head" > /dev/null
  $BIN analyse "$work/fft/test_input.csv" --id id "${qargs[@]}" --head "$d/head" --quiet --out "$d/out"
  local c; c=$($BIN evaluate "$d/out/coded_responses.csv" "$work/fft/test_gold.csv" --only "$(cat "$work/fft/codes_min3.txt")" | grep "^code: micro")
  local b; b=$(.venv/bin/python bench/fft_baseline.py "$d" 2>/dev/null)
  echo "  $n per code: consult heads: $c"
  echo "  $n per code: $b"
  result "(4b) FFT, $n examples per code: consult heads | TF-IDF + SVC" "$(echo "$c" | sed 's/^code: //') | $(echo "$b" | sed 's/^tfidf+linearsvc: //; s/ (.*//')"
done
}

section_e2e() {
echo "== 5. end to end: consult analyse vs Python reference pipeline, $(fmt_n "$BENCH_N") respondents x 3 questions"
consult_run "consult-$BENCH_N" "$BENCH_N"
python_run "python-$BENCH_N" "$BENCH_N"
local c=${WALL[consult-$BENCH_N]} p=${WALL[python-$BENCH_N]}
echo "  consult timings.json: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$work/out-consult-$BENCH_N/timings.json")"
echo "  python timings:           $(cat "$work/python-$BENCH_N.stdout")"
python3 bench/compare_outputs.py "$work/out-consult-$BENCH_N/coded_responses.csv" "$work/out-python-$BENCH_N/coded_responses.csv" | sed 's/^/  /'
local ratio; ratio=$(python3 -c "print(f'{$p / $c:.2f}')")
echo "  wall time: consult $c s, python $p s; python / consult ${ratio} (above 1: consult faster)"
result "(5) end to end, $(fmt_n $((BENCH_N * 3))) answers: wall s consult / python" "$c / $p (python / consult ${ratio})"
# The Python pipeline with its model converted to bf16: like against like when consult runs bf16.
python_run "python-bf16-$BENCH_N" "$BENCH_N" --precision bf16
local p16=${WALL[python-bf16-$BENCH_N]}
echo "  python bf16 timings:      $(cat "$work/python-bf16-$BENCH_N.stdout")"
local ratio16; ratio16=$(python3 -c "print(f'{$p16 / $c:.2f}')")
echo "  wall time: python bf16 $p16 s; python bf16 / consult ${ratio16}"
result "(5) same, python with bf16: wall s consult / python bf16" "$c / $p16 (python bf16 / consult ${ratio16})"
}

section_recode() {
echo "== 6. re-analysis with an edited codebook, $(fmt_n "$BENCH_N") respondents x 3 questions"
if [ "$HAS_CACHE" != 1 ]; then
  echo "  cache not available: \`consult analyse --help\` has no --cache option"
  result "(6) re-analysis with edited codebook, warm cache" "cache not available"
  return 0
fi
# The same codebook with one description edited (8.2 gains a sentence).
python3 - models/codebooks/strategic-plan-2022-26.toml "$work/edited-codebook.toml" <<'PY'
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'\nid = "8\.2"\n(?:.*\n)*?description = """', s)
assert m, "code 8.2 not found"
s = s[:m.end()] + "Includes the state of pavements and potholes on estate roads. " + s[m.end():]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
$BIN codebook --check "$work/edited-codebook.toml" | sed 's/^/  /'
local f; f=$(export_for "$BENCH_N")
text_args "$f"
# The first run is the end-to-end section's consult run (the same key, run once), with its own
# fresh cache; the second reads that cache.
consult_run "consult-$BENCH_N" "$BENCH_N"
WALL[recode-first]=${WALL[consult-$BENCH_N]}
local cache="$work/cache-consult-$BENCH_N"
measure recode-second $BIN analyse "$f" --id "Response ID" "${TEXT_ARGS[@]}" --quiet --out "$work/out-recode-2" --cache "$cache" --codebook "$work/edited-codebook.toml"
echo "  second run timings.json: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$work/out-recode-2/timings.json")"
local a=${WALL[recode-first]} b=${WALL[recode-second]}
echo "  first run (empty cache) $a s; second run (edited codebook, same cache) $b s; $(python3 -c "print(f'{$a / $b:.1f}')")x faster"
result "(6) re-analysis with edited codebook: wall s first / second run" "$a / $b ($(python3 -c "print(f'{$a / $b:.1f}')")x faster)"
# The target is stated for 10,000 answers: the same two runs on a 3,334-respondent export.
local small=$(( (10000 + 2) / 3 ))
consult_run "consult-$small" "$small"
f=$(export_for "$small")
text_args "$f"
measure recode-second-small $BIN analyse "$f" --id "Response ID" "${TEXT_ARGS[@]}" --quiet --out "$work/out-recode-2s" --cache "$work/cache-consult-$small" --codebook "$work/edited-codebook.toml"
echo "  $(fmt_n $((small * 3))) answers: second run timings.json: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$work/out-recode-2s/timings.json")"
result "(6) same at $(fmt_n $((small * 3))) answers: wall s first / second run" "${WALL[consult-$small]} / ${WALL[recode-second-small]}"
}

section_memory() {
echo "== 7. peak memory and throughput"
local n
for n in "$BENCH_N" "$BENCH_N_LARGE"; do
  consult_run "consult-$n" "$n"
  local w=${WALL[consult-$n]}
  local tput; tput=$(python3 -c "print(f'{$n * 3 / $w:.1f}')")
  echo "  consult, $(fmt_n $((n * 3))) answers: peak RSS ${RSS[consult-$n]} MiB, ${tput} answers/s"
  result "(7) consult, $(fmt_n $((n * 3))) answers: peak RSS, throughput" "${RSS[consult-$n]} MiB, ${tput} answers/s (wall ${w} s)"
done
python_run "python-$BENCH_N" "$BENCH_N"
local w=${WALL[python-$BENCH_N]}
local tput; tput=$(python3 -c "print(f'{$BENCH_N * 3 / $w:.1f}')")
echo "  python, $(fmt_n $((BENCH_N * 3))) answers: peak RSS ${RSS[python-$BENCH_N]} MiB, ${tput} answers/s"
result "(7) python, $(fmt_n $((BENCH_N * 3))) answers: peak RSS, throughput" "${RSS[python-$BENCH_N]} MiB, ${tput} answers/s (wall ${w} s)"
}

for s in "${SECTIONS[@]}"; do "section_$s"; done

echo
echo "== results ($machine; $(date -u +%Y-%m-%dT%H:%MZ))"
python3 - "$work/results.tsv" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
if rows:
    w = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"  {label:<{w}}  {value}")
else:
    print("  (no table rows from these sections)")
PY
