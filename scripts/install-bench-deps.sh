#!/usr/bin/env bash
# Installs what rnnc's benchmark anchors need on top of scripts/install-deps.sh: oneDNN (libdnnl-dev, the
# rnnc_bench_anchors library) and PyTorch (python3-torch, run by bench/torch_rnn.py with /usr/bin/python3).
# Idempotent: when every package is already present it only checks. Note: python3-torch pulls ~200 packages and
# switches the system libblas to OpenBLAS.
set -euo pipefail

packages=(
  libdnnl-dev    # oneDNN 2.6: the oneDNN anchor
  python3-torch  # PyTorch 1.13: the PyTorch eager anchor
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
