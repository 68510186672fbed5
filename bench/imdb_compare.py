#!/usr/bin/python3
"""The IMDB job in rnnc and in PyTorch, side by side, on the same data and machine, in one run.

  /usr/bin/python3 bench/imdb_compare.py [--data PATH] [--epochs 1] [--limit N] [--torch padded,packed]

Both train the seed's LSTMClassifier with the seed's settings (embedding 100, 2 x LSTM 128, dropout 0.3,
max_len 200, vocab 25k, Adam 1e-3, clip 1.0, batch 64) on the very same training reviews and ids, the
embedding of both starting from the same word vectors (--word-vectors, imdb-sentiment's default):
build/bin/imdb-tokens writes the split rnnc trains on (same vocabulary, same validation carve, same
--limit subset) for bench/imdb_torch.py to read. PyTorch runs as the seed does (--torch packed:
pack_padded_sequence) and/or on the padded batch (--torch padded: the same function, much faster
backward in torch 1.13 on CPU). Prints each framework's per-epoch training time (evaluation excluded)
and validation accuracy, then the ratios rnnc / PyTorch (below 1: rnnc is faster).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, **kw):
    print("$ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"imdb_compare: {cmd[0]} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def rnnc_epochs(stdout):
    """Epoch summaries of imdb-sentiment train: 'epoch 1/5 done in 1m02s: ... validation loss L, accuracy A%'."""
    out = []
    for line in stdout.splitlines():
        m = re.match(r"epoch (\d+)/\d+ done in (\S+): train loss ([\d.]+).*?examples/s(?:; validation loss ([\d.]+), "
                     r"accuracy ([\d.]+)%)?", line)
        if m:
            out.append({"epoch": int(m.group(1)), "train_seconds": seconds(m.group(2)),
                        "train_loss": float(m.group(3)),
                        "validation_accuracy": float(m.group(5)) / 100 if m.group(5) else None})
    return out


def seconds(text):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", text)
    h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return 3600 * h + 60 * mi + s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=None, help="aclImdb folder or archive (default: scripts/fetch-imdb.sh)")
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "bin"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="train on a seeded subset of N reviews (0: all 20000)")
    ap.add_argument("--torch", default="padded,packed", help="PyTorch modes to run: padded, packed or both")
    ap.add_argument("--word-vectors", type=int, default=5,
                    help="skip-gram epochs of the embedding start (imdb-sentiment's default 5; 0: N(0,1)); "
                         "PyTorch starts from the same values")
    ap.add_argument("--json", default=None, help="also write the results here")
    args = ap.parse_args()
    data = args.data or run([os.path.join(REPO, "scripts", "fetch-imdb.sh")]).stdout.strip()
    work = tempfile.mkdtemp(prefix="rnnc_imdb_compare_")
    limit = ["--limit", str(args.limit)] if args.limit else []

    vectors = ["--word-vectors", str(args.word_vectors)]
    run([os.path.join(args.bin, "imdb-tokens"), data, "--out", os.path.join(work, "tokens"), "--carve"] + limit + vectors)
    r = run([os.path.join(args.bin, "imdb-sentiment"), "train", "--data", data, "--epochs", str(args.epochs),
             "--checkpoint", os.path.join(work, "rnnc.ckpt")] + limit + vectors)
    start = ["--embedding-start", os.path.join(work, "tokens", "word_vectors.f32")] if args.word_vectors else []
    results = {"rnnc": rnnc_epochs(r.stdout)}
    for mode in [m for m in args.torch.split(",") if m]:
        t = run(["/usr/bin/python3", os.path.join(REPO, "bench", "imdb_torch.py"), os.path.join(work, "tokens"),
                 "--epochs", str(args.epochs), "--rnn", mode] + start)
        results["pytorch-" + mode] = json.loads(t.stdout.strip().splitlines()[-1])["epochs"]

    print(f"\nIMDB LSTMClassifier, seed settings, {args.limit or 20000} training reviews, {args.epochs} epoch(s)")
    print(f"{'framework':<18} {'epoch':>5} {'train s':>9} {'valid acc':>10}")
    for name, epochs in results.items():
        for e in epochs:
            acc = e.get("validation_accuracy")
            print(f"{name:<18} {e['epoch']:>5} {e['train_seconds']:>9.1f} {100 * acc if acc is not None else float('nan'):>9.2f}%")
    mean = {name: sum(e["train_seconds"] for e in ep) / len(ep) for name, ep in results.items() if ep}
    ratios = " ".join(f"epoch_vs_{name.replace('pytorch-', 'torch_')}={mean['rnnc'] / mean[name]:.2f}"
                      for name in mean if name != "rnnc")
    print(f"rnnc epoch {mean['rnnc']:.1f} s; {ratios}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "mean_epoch_seconds": mean}, f, indent=1)


if __name__ == "__main__":
    main()
