#!/bin/bash
# Ninth-session development check (not part of `make bench`): the learning curve on the NHS FFT
# development split (SETS from bench/fft_dev_split.py: train folds 2-4, score fold 1; fold 0 never
# used), `consult train` with the encoder fine-tuned (--tune-epochs 3, the default since the tenth
# session; 2 in the ninth), at any sample size, and with the base model (0).
# Usage: bash bench/fft_dev_curve.sh SETS WORK N...   e.g. bash bench/fft_dev_curve.sh /tmp/ftdev /tmp/dcurve 10 25 50
set -euo pipefail
cd "$(dirname "$0")/.."
S=$1; W=$2; shift 2
BIN="${CONSULT_BIN:-target/release/consult}"
args=(); while IFS= read -r q; do args+=(--text "$q"); done < $S/questions.txt
for n in "$@"; do
  d=$W/curve-$n
  python3 bench/learning_curve.py $S $n $d > /dev/null
  for t in 3 0; do
    rm -rf $d/h$t $d/o$t
    $BIN train --gold $d/train_gold.csv --out $d/h$t --tune-epochs $t --tune-min-answers 0 2>&1 | grep 'wrote' | sed 's/.*(//'
    $BIN analyse --quiet --id id "${args[@]}" --head $d/h$t --out $d/o$t $S/test_input.csv
    echo "n=$n tune=$t $(wc -l < $d/train_gold.csv) rows: $($BIN evaluate $d/o$t/coded_responses.csv $S/test_gold.csv --only "$(cat $S/codes_min3.txt)" | grep '^code: micro')"
  done
done
