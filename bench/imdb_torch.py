#!/usr/bin/python3
"""The seed's IMDB sentiment classifier in PyTorch, on exactly the inputs rnnc trains on.

  build/bin/imdb-tokens "$(scripts/fetch-imdb.sh)" --out /tmp/imdb-tokens --carve [--word-vectors 5]
  /usr/bin/python3 bench/imdb_torch.py /tmp/imdb-tokens [--epochs 5] [--limit N] [--threads 1]
      [--embedding-start /tmp/imdb-tokens/word_vectors.f32]
(--carve: the validation split imdb-sentiment train carves; --word-vectors 5: the embedding start it
learns by default.)

Reads the folder imdb-tokens wrote (vocab.txt, train.tokens, validation.tokens, meta.json; the token
file format is in data/token_file.h) and trains the model of frontend/zoo.cpp's imdb-classifier:
  Embedding(V=25003, 100, padding_idx=1) -> Dropout(0.3) -> LSTM(100, 128, num_layers=2, dropout=0.3)
  -> the last layer's hidden state at each sequence's own last step (pack_padded_sequence)
  -> Dropout(0.3) -> Linear(128, 2);  cross-entropy, Adam(lr 1e-3), clip_grad_norm 1.0, batch 64.
--rnn padded computes the same function without packing (each sequence's LSTM output at its own last
step; the padded steps after it get zero gradient); in torch 1.13 on CPU the packed backward is many
times slower than the padded one, so the two modes time very differently for the same mathematics.
Inputs are time-major [T, B] with T the longest length in the batch, as rnnc's batches are; each epoch
visits the training set in a new seeded order. Prints one line per epoch (time, train loss, validation
accuracy) on stderr and one JSON line on stdout at the end.

Threads: torch 1.13 here defaults to 1 intra-op thread while its BLAS may use both cores; more torch
threads oversubscribe a 2-core machine and run several times slower (../shared/FIELD-NOTES.md).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


def read_tokens(path):
    raw = open(path, "rb").read()
    if raw[:8] != b"RNNCTOK1":
        sys.exit(f"{path}: not an rnnc token file (run build/bin/imdb-tokens)")
    n, total = (int(v) for v in np.frombuffer(raw, "<i8", count=2, offset=8))
    if len(raw) != 24 + 4 * (2 * n + total):
        sys.exit(f"{path}: truncated or corrupt token file")
    a = np.frombuffer(raw, "<i4", offset=24)
    labels, lengths, flat = a[:n], a[n:2 * n], a[2 * n:]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return labels.astype(np.int64), lengths.astype(np.int64), flat, offsets


def read_word_vectors(path, rows, dim):
    """The [rows, dim] float32 matrix of an RNNCVEC1 file (imdb-tokens --word-vectors; data/word_vectors.h)."""
    try:
        raw = open(path, "rb").read()
    except OSError as e:
        sys.exit(f"{path}: cannot read word vectors: {e.strerror}")
    if raw[:8] != b"RNNCVEC1" or len(raw) < 24:
        sys.exit(f"{path}: not an rnnc word-vector file (run build/bin/imdb-tokens --word-vectors N)")
    r, d = (int(v) for v in np.frombuffer(raw, "<i8", count=2, offset=8))
    if (r, d) != (rows, dim) or len(raw) != 24 + 4 * r * d:
        sys.exit(f"{path}: {r} x {d} vectors in {len(raw)} bytes; the embedding needs {rows} x {dim}")
    values = np.frombuffer(raw, "<f4", offset=24).reshape(r, d).copy()
    if not np.isfinite(values).all():
        sys.exit(f"{path}: word vectors with NaN or infinite values")
    return values


class Split:
    def __init__(self, path, limit=0, seed=0):
        self.labels, self.lengths, self.flat, self.offsets = read_tokens(path)
        self.index = np.arange(len(self.labels))
        if 0 < limit < len(self.index):
            self.index = np.sort(np.random.RandomState(seed).permutation(len(self.index))[:limit])

    def __len__(self):
        return len(self.index)

    def batch(self, rows, pad_id):
        """tokens [T, B] int64 padded with pad_id, lengths [B], labels [B] for the given example rows."""
        ex = self.index[rows]
        lengths = self.lengths[ex]
        tokens = np.full((int(lengths.max()), len(ex)), pad_id, dtype=np.int64)
        for b, e in enumerate(ex):
            tokens[: lengths[b], b] = self.flat[self.offsets[e]:self.offsets[e + 1]]
        return torch.from_numpy(tokens), torch.from_numpy(lengths), torch.from_numpy(self.labels[ex])


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim=100, hidden_dim=128, num_layers=2, dropout=0.3, pad_id=1,
                 rnn="packed"):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=num_layers, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_dim, 2)
        self.rnn = rnn

    def forward(self, tokens, lengths):
        embedded = self.dropout(self.embedding(tokens))  # [T, B, E]
        if self.rnn == "packed":
            packed = pack_padded_sequence(embedded, lengths, enforce_sorted=False)
            _, (hidden, _) = self.lstm(packed)  # hidden [layers, B, H]: each row at its own last step
            last = hidden[-1]
        else:
            # The same function: a unidirectional LSTM's output at step length-1 is that sequence's final
            # state, and the padded steps after it do not reach the loss (their gradients are zero).
            outputs, _ = self.lstm(embedded)  # [T, B, H]
            last = outputs[lengths - 1, torch.arange(tokens.shape[1])]
        return self.fc(self.dropout(last))


def evaluate(model, split, pad_id, batch_size=256):
    model.eval()
    correct, loss_sum = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            tokens, lengths, labels = split.batch(np.arange(start, min(start + batch_size, len(split))), pad_id)
            logits = model(tokens, lengths)
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            correct += (logits.argmax(1) == labels).sum().item()
    return correct / len(split), loss_sum / len(split)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tokens_dir", help="the folder build/bin/imdb-tokens wrote")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--limit", type=int, default=0, help="train on a seeded subset of N examples (0: all)")
    ap.add_argument("--validation-limit", type=int, default=0, help="validate on a seeded subset of N examples")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 is the fast setting here)")
    ap.add_argument("--embedding-start", default=None,
                    help="start the embedding from this word_vectors.f32 (imdb-tokens --carve --word-vectors N: "
                         "the values imdb-sentiment train starts from) instead of N(0, 1)")
    ap.add_argument("--rnn", choices=["packed", "padded"], default="packed",
                    help="packed: the seed's pack_padded_sequence (default); padded: the same function computed "
                         "over the padded batch, taking each sequence's output at its last step (much faster "
                         "backward in torch 1.13 on CPU)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.tokens_dir, "meta.json")))
    pad_id, vocab_size = meta["pad_id"], meta["vocab_size"]
    train = Split(os.path.join(args.tokens_dir, "train.tokens"), args.limit, args.seed)
    valid = Split(os.path.join(args.tokens_dir, "validation.tokens"), args.validation_limit, args.seed + 1)

    model = LSTMClassifier(vocab_size, pad_id=pad_id, rnn=args.rnn)
    if args.embedding_start:
        here = os.path.abspath(os.path.join(args.tokens_dir, "word_vectors.f32"))
        if os.path.abspath(args.embedding_start) == here and not meta.get("word_vectors"):
            sys.exit(f"{here}: meta.json says imdb-tokens wrote no word vectors into this folder")
        with torch.no_grad():
            model.embedding.weight.copy_(torch.from_numpy(read_word_vectors(args.embedding_start, vocab_size, model.embedding.embedding_dim)))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    order_rng = np.random.RandomState(args.seed)
    epochs = []
    print(f"imdb_torch: torch {torch.__version__}, {torch.get_num_threads()} thread(s); train {len(train)}, "
          f"validation {len(valid)} ({meta['validation_source']}), vocab {vocab_size}, batch {args.batch_size}, "
          f"rnn {args.rnn}",
          file=sys.stderr)
    for epoch in range(args.epochs):
        model.train()
        order = order_rng.permutation(len(train))
        loss_sum, seen, steps = 0.0, 0, 0
        start = time.perf_counter()
        for b in range(0, len(order), args.batch_size):
            tokens, lengths, labels = train.batch(order[b:b + args.batch_size], pad_id)
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(tokens, lengths), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            seen += len(labels)
            steps += 1
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        accuracy, valid_loss = evaluate(model, valid, pad_id)
        eval_s = time.perf_counter() - start
        e = {"epoch": epoch + 1, "train_seconds": round(train_s, 3), "eval_seconds": round(eval_s, 3),
             "train_loss": round(loss_sum / seen, 5), "validation_loss": round(valid_loss, 5),
             "validation_accuracy": round(accuracy, 5), "steps": steps,
             "ms_per_step": round(1000 * train_s / steps, 2)}
        epochs.append(e)
        print(f"epoch {e['epoch']}: {train_s:.1f} s train ({e['ms_per_step']} ms/step) + {eval_s:.1f} s eval, "
              f"train loss {e['train_loss']:.4f}, validation loss {valid_loss:.4f}, accuracy {accuracy:.4f}",
              file=sys.stderr)

    total = sum(e["train_seconds"] for e in epochs)
    print(json.dumps({
        "framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "tokens_dir": args.tokens_dir, "train_examples": len(train), "validation_examples": len(valid),
        "validation_source": meta["validation_source"], "vocab_size": vocab_size, "max_len": meta["max_len"],
        "rnn": args.rnn, "embedding_start": args.embedding_start, "batch_size": args.batch_size, "lr": args.lr, "clip": args.clip, "seed": args.seed,
        "epochs": epochs, "total_train_seconds": round(total, 3),
        "final_validation_accuracy": epochs[-1]["validation_accuracy"] if epochs else None,
        "final_train_loss": epochs[-1]["train_loss"] if epochs else None,
    }))


if __name__ == "__main__":
    main()
