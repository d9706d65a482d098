#!/usr/bin/env bash
# Adds Python sentence-transformers 3.3.1 (the speed and correctness anchor) to the cached venv.
# Used by `make bench` and by scripts/make_reference_vectors.py; not needed to run consult.
# Also GNU time (/usr/bin/time -v), which the end-to-end sections read peak memory from.
set -euo pipefail
if [ ! -x /usr/bin/time ]; then
  echo "setup-bench: installing GNU time (Debian package 'time')" >&2
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time; }
fi
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/setup-venv.sh"
venv="$(readlink -f "$here/.venv")"
if [ ! -f "$venv/.bench-complete" ]; then
  echo "setup-bench: installing sentence-transformers==3.3.1 transformers==4.46.3 into $venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "sentence-transformers==3.3.1" "transformers==4.46.3" "torch==2.4.0"
  touch "$venv/.bench-complete"
fi
