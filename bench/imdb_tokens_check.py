#!/usr/bin/python3
"""Checks what build/bin/imdb-tokens wrote against a pure-Python pipeline with torchtext's semantics.

  bench/imdb_tokens_check.py DATA TOKENS_DIR      (DATA: the archive or aclImdb folder imdb-tokens read)

Reads the reviews with Python's tarfile (or from the folder), tokenises them with torchtext's
basic_english code (copied below: torchtext is not a Debian package), builds the vocabulary from the
reviews listed in train.paths the way torchtext's build_vocab_from_iterator orders it (count descending,
then token), numericalises with truncation to max_len, and compares everything byte for byte with
vocab.txt, train.tokens and validation.tokens. Prints one JSON line; exit status 1 on any difference.
Slow (Python's tarfile needs ~20 s for the 25k reviews); a check, not part of the test suite.
"""
import collections
import json
import os
import re
import sys
import tarfile

import numpy as np

# torchtext/data/utils.py (torchtext 0.6 - 0.15): _patterns, _replacements, _basic_english_normalize.
_patterns = [r"\'", r"\"", r"\.", r"<br \/>", r",", r"\(", r"\)", r"\!", r"\?", r"\;", r"\:", r"\s+"]
_replacements = [" '  ", "", " . ", " ", " , ", " ( ", " ) ", " ! ", " ? ", " ", " ", " "]
_patterns_dict = list((re.compile(p), r) for p, r in zip(_patterns, _replacements))


def basic_english(line):
    line = line.lower()
    for pattern_re, replaced_str in _patterns_dict:
        line = pattern_re.sub(replaced_str, line)
    return line.split()


def review_key(path):
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if len(parts) < 3 or parts[-3] not in ("train", "test") or parts[-2] not in ("pos", "neg"):
        return None
    if parts[-1].startswith(".") or not parts[-1].endswith(".txt"):
        return None
    return "/".join(parts[-3:])


def read_reviews(data):
    texts = {}
    if os.path.isdir(data):
        root = data if os.path.isdir(os.path.join(data, "train")) else os.path.join(data, "aclImdb")
        for split in ("train", "test"):
            for label in ("pos", "neg"):
                folder = os.path.join(root, split, label)
                if not os.path.isdir(folder):
                    continue
                for name in os.listdir(folder):
                    key = review_key(f"{split}/{label}/{name}")
                    if key:
                        with open(os.path.join(folder, name), "rb") as f:
                            texts[key] = f.read().decode("utf-8", "replace")
    else:
        with tarfile.open(data) as tf:
            for member in tf:
                key = review_key(member.name) if member.isfile() else None
                if key:
                    texts[key] = tf.extractfile(member).read().decode("utf-8", "replace")
    return texts


def read_tokens(path):
    raw = open(path, "rb").read()
    assert raw[:8] == b"RNNCTOK1", path
    n, total = np.frombuffer(raw, "<i8", count=2, offset=8)
    a = np.frombuffer(raw, "<i4", offset=24)
    return a[:n], a[n:2 * n], a[2 * n:2 * n + total]


def main():
    data, out = sys.argv[1], sys.argv[2]
    meta = json.load(open(os.path.join(out, "meta.json")))
    max_len = meta["max_len"]
    texts = read_reviews(data)
    tokens = {k: basic_english(v) for k, v in texts.items()}
    train_paths = open(os.path.join(out, "train.paths")).read().split("\n")[:-1]
    validation_paths = open(os.path.join(out, "validation.paths")).read().split("\n")[:-1]

    specials = ["<unk>", "<pad>", "<bos>"]
    counter = collections.Counter()
    for p in train_paths:
        counter.update(tokens[p])
    for s in specials:
        counter.pop(s, None)
    ordered = sorted(counter.items(), key=lambda x: (-x[1], x[0]))
    ordered = [t for t, c in ordered if c >= meta["min_freq"]][: meta["vocab_size"] - len(specials)]
    itos = specials + ordered
    stoi = {t: i for i, t in enumerate(itos)}

    problems = []
    lines = open(os.path.join(out, "vocab.txt"), encoding="utf-8").read().split("\n")
    if lines[1:-1] != itos:
        first = next((i for i, (a, b) in enumerate(zip(lines[1:], itos)) if a != b), None)
        problems.append(f"vocab differs (first at id {first})")
    for name, paths in (("train", train_paths), ("validation", validation_paths)):
        labels, lengths, flat = read_tokens(os.path.join(out, f"{name}.tokens"))
        expect_ids, expect_lengths, expect_labels = [], [], []
        for p in paths:
            ids = [stoi.get(t, 0) for t in tokens[p]][: max_len if max_len > 0 else None]
            expect_ids.extend(ids)
            expect_lengths.append(len(ids))
            expect_labels.append(1 if p.split("/")[1] == "pos" else 0)
        if labels.tolist() != expect_labels:
            problems.append(f"{name}: labels differ")
        if lengths.tolist() != expect_lengths:
            problems.append(f"{name}: lengths differ")
        if flat.tolist() != expect_ids:
            problems.append(f"{name}: token ids differ")
    print(json.dumps({"reviews": len(texts), "train": len(train_paths), "validation": len(validation_paths),
                      "vocab": len(itos), "distinct_tokens": len(counter), "identical": not problems,
                      "problems": problems}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
