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

exec "$(dirname "$0")/apt-install.sh" install-bench-deps "${packages[@]}"
