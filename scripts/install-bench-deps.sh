#!/usr/bin/env bash
# Installs what rnnc's benchmark anchors need on top of scripts/install-deps.sh: oneDNN (libdnnl-dev, the
# rnnc_bench_anchors library) and PyTorch (python3-torch, run by bench/torch_rnn.py with /usr/bin/python3).
# Idempotent: when every package is already present it only checks. Note: python3-torch pulls ~200 packages.
set -euo pipefail

packages=(
  libdnnl-dev    # oneDNN 2.6: the oneDNN anchor
  python3-torch  # PyTorch 1.13: the PyTorch eager anchor
  # torch only Recommends OpenBLAS; without it (--no-install-recommends) libblas.so.3 is the netlib reference BLAS
  # and torch's GEMMs run at ~3.5 GFLOP/s (nn.LSTM ~40x slower). Installing it makes OpenBLAS the system
  # libblas.so.3 / liblapack.so.3 (update-alternatives, higher priority).
  libopenblas0-pthread
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-bench-deps: all ${#packages[@]} packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-bench-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-bench-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
