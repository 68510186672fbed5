#!/usr/bin/env bash
# Prints the path of the IMDB sentiment data (Maas et al. 2011) for build/bin/imdb-tokens,
# build/bin/imdb-sentiment and the data tests, getting it when needed:
#   1. $RNNC_IMDB when set (a .tar.gz or an aclImdb folder);
#   2. ../shared/data/aclImdb-train.tar.gz next to the repository (the train split only);
#   3. the official aclImdb_v1.tar.gz (train + test, 84 MB) in ~/.cache/rnnc/ ($XDG_CACHE_HOME/rnnc),
#      downloaded once from ai.stanford.edu and checked against its published MD5.
# Only the path goes to stdout; progress and errors go to stderr. Nothing is extracted: rnnc reads the
# archive directly. Nothing of the data set belongs in the repository.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
url=https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz
md5=7c2ac02c03563afcf9b574c7e56c153a

if [ -n "${RNNC_IMDB:-}" ]; then
  [ -e "$RNNC_IMDB" ] || { echo "fetch-imdb: RNNC_IMDB=$RNNC_IMDB does not exist" >&2; exit 1; }
  echo "$RNNC_IMDB"
  exit 0
fi

shared="$repo/../shared/data/aclImdb-train.tar.gz"
if [ -f "$shared" ]; then
  echo "$(cd "$(dirname "$shared")" && pwd)/$(basename "$shared")"
  exit 0
fi

cache="${XDG_CACHE_HOME:-$HOME/.cache}/rnnc"
target="$cache/aclImdb_v1.tar.gz"
if [ -f "$target" ]; then
  echo "$target"
  exit 0
fi

mkdir -p "$cache"
echo "fetch-imdb: downloading $url to $target" >&2
partial="$target.part.$$"
trap 'rm -f "$partial"' EXIT
if command -v curl >/dev/null; then
  fetch=(curl -fL --retry 3 --progress-bar -o "$partial" "$url")
elif command -v wget >/dev/null; then
  fetch=(wget -q --show-progress -O "$partial" "$url")
else
  echo "fetch-imdb: need curl or wget to download $url" >&2
  exit 1
fi
if ! "${fetch[@]}" >&2; then
  echo "fetch-imdb: could not download $url (offline? put the archive in ../shared/data or set RNNC_IMDB)" >&2
  exit 1
fi
got=$(md5sum "$partial" | cut -d' ' -f1)
if [ "$got" != "$md5" ]; then
  echo "fetch-imdb: $url: MD5 $got, expected $md5 (incomplete or changed download); not kept" >&2
  exit 1
fi
mv "$partial" "$target"
echo "$target"
