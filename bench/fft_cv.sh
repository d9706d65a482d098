#!/bin/bash
# NHS FFT themes, k-fold (not part of `make bench`): for each FOLD, `consult train` on the other
# four folds (bench/fft_sets.py SHARED_DATA DIR FOLD), `analyse --head` and `evaluate` on FOLD over
# its codes with at least 3 examples, and TF-IDF + LinearSVC (bench/fft_baseline.py) on the same
# split. Fold 0 is the held-out benchmark (BENCHMARKS.md §4); folds 1-4 served as development
# folds when settings were chosen, so their figures are not held out in that sense.
# Usage: bash bench/fft_cv.sh WORK FOLD...   e.g. bash bench/fft_cv.sh /tmp/fftcv 0 1 2 3 4
# To compare a setting, fold by fold, with the defaults: TAG=-old TRAIN_ARGS="--tune-epochs 2
# --tune-frozen-layers 0" bash bench/fft_cv.sh /tmp/fftcv 1 2 3 4 (heads in foldK/head$TAG).
set -euo pipefail
cd "$(dirname "$0")/.."
W=$1; shift
BIN="${CONSULT_BIN:-target/release/consult}"
SHARED="${SHARED:-../shared}"
for k in "$@"; do
  d=$W/fold$k
  python3 bench/fft_sets.py "$SHARED/data" $d $k
  args=(); while IFS= read -r q; do args+=(--text "$q"); done < $d/questions.txt
  h=$d/head${TAG:-}; o=$d/out${TAG:-}
  rm -rf $h $o
  # shellcheck disable=SC2086 # TRAIN_ARGS is a list of options
  $BIN train --gold $d/train_gold.csv --out $h ${TRAIN_ARGS:-} 2>&1 | grep 'wrote' | sed 's/.*(/  training: (/'
  $BIN analyse --quiet --id id "${args[@]}" --head $h --out $o $d/test_input.csv
  echo "fold $k consult${TAG:-}: $($BIN evaluate $o/coded_responses.csv $d/test_gold.csv --only "$(cat $d/codes_min3.txt)" | grep '^code: micro')"
  echo "fold $k $(.venv/bin/python bench/fft_baseline.py $d 2>/dev/null)"
done
