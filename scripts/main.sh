#!/usr/bin/env bash
# README command (1): install what is needed, build, and run the main job: train the seed's IMDB
# sentiment classifier (2-layer LSTM, rnnc's DSL, compiled by rnnc) for 5 epochs, evaluate it, and
# predict the sentiment of two sentences.
#
# Idempotent: the run checkpoints after every epoch into runs/imdb/ and resumes from there, so a second
# run (or one after an interruption) only finishes what is missing. RNNC_EPOCHS overrides the 5 epochs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh

data=$(scripts/fetch-imdb.sh)
mkdir -p runs/imdb
checkpoint=runs/imdb/imdb-sentiment.ckpt

build/bin/imdb-sentiment train --data "$data" --epochs "${RNNC_EPOCHS:-5}" --checkpoint "$checkpoint" --resume
build/bin/imdb-sentiment eval --data "$data" --checkpoint "$checkpoint"
build/bin/imdb-sentiment predict --checkpoint "$checkpoint" \
  "This movie was absolutely fantastic! The acting was superb and the story kept me hooked until the end." \
  "This was the worst film I have ever seen. The plot made no sense and the acting was terrible."
