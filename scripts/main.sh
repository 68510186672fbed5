#!/usr/bin/env bash
# README command (1): install what is needed, build, and run the main job.
# The main job today: print the IR of the seed's IMDB classifier, written in rnnc's DSL.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/bin/rnnc ir imdb-classifier
