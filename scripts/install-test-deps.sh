#!/usr/bin/env bash
# What the test suite needs beyond scripts/install-deps.sh (README command (2) runs both): Python's onnx
# and torch, which generate the ONNX test cases at test time (tests/onnx/make_spec_cases.py: the
# attributes ONNX's node tests leave out; tests/onnx/export_torch_cases.py: nn.LSTM/GRU/RNN exported by
# torch.onnx). Without them those 48 tests skip with a note. Idempotent.
set -euo pipefail

packages=(python3-numpy python3-onnx python3-torch)

exec "$(dirname "$0")/apt-install.sh" install-test-deps "${packages[@]}"
