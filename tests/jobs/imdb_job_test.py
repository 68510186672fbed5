#!/usr/bin/env python3
"""imdb-sentiment end to end on a small synthetic aclImdb tree (made here, in a temporary directory):

  * train -> eval -> predict work and learn the task (words that carry the label);
  * the embedding starts from word vectors learnt on the training text by default, or from N(0, 1);
  * SIGKILL in the middle of epoch 2, then --resume: the run loses only the unfinished epoch, and ends
    with exactly the parameters of an uninterrupted run (checkpoints hold optimizer state, batches and
    dropout seeds are functions of (seed, epoch, step));
  * a truncated checkpoint, a missing data folder: a clear message, a non-zero exit, no crash.

usage: imdb_job_test.py BUILD_BIN_DIR
"""
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile

BIN = os.path.join(sys.argv[1], "imdb-sentiment")
SMALL = ["--vocab", "300", "--max-len", "24", "--embed", "8", "--hidden", "8", "--batch", "16",
         "--validation", "64", "--lr", "0.01", "--seed", "3"]


def make_data(root):
    rng = random.Random(7)
    good = ["great", "wonderful", "superb", "loved", "brilliant", "moving"]
    bad = ["awful", "boring", "terrible", "hated", "dull", "waste"]
    neutral = ["the", "movie", "plot", "actor", "scene", "film", "story", "music", "ending", "character",
               "director", "camera", "it", "was", "a", "and", "of", "with", "this", "that"]
    for label, words in (("pos", good), ("neg", bad)):
        folder = os.path.join(root, "aclImdb", "train", label)
        os.makedirs(folder)
        for i in range(320):
            text = [rng.choice(neutral) for _ in range(rng.randint(8, 30))]
            for _ in range(2):
                text.insert(rng.randrange(len(text)), rng.choice(words))
            with open(os.path.join(folder, "%d_%d.txt" % (i, 8 if label == "pos" else 2)), "w") as f:
                f.write(" ".join(text).capitalize() + ".<br /><br />The end!")
    return os.path.join(root, "aclImdb")


def run(args, **kw):
    return subprocess.run([BIN] + args, capture_output=True, text=True, **kw)


def params_of(path):
    """The param/ tensors of a checkpoint (see runtime/train/checkpoint.h for the layout)."""
    data = open(path, "rb").read()
    assert data[:8] == b"RNNCCKPT", path
    pos = 12
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    out = {}
    for _ in range(count):
        kind, name_len = struct.unpack_from("<BI", data, pos)
        pos += 5
        name = data[pos:pos + name_len].decode()
        pos += name_len
        if kind == 0:
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8 + n
        else:
            (rank,) = struct.unpack_from("<I", data, pos)
            dims = struct.unpack_from("<%dq" % rank, data, pos + 4)
            pos += 4 + 8 * rank
            size = 4
            for d in dims:
                size *= d
            if name.startswith("param/"):
                out[name] = data[pos:pos + size]
            pos += size
    return out


def check(cond, message, output=""):
    if not cond:
        print("FAIL:", message)
        print(output)
        sys.exit(1)


def main():
    tmp = tempfile.mkdtemp(prefix="rnnc_imdb_job_")
    data = make_data(tmp)
    whole = os.path.join(tmp, "whole.ckpt")

    r = run(["train", "--data", data, "--epochs", "3", "--checkpoint", whole] + SMALL)
    check(r.returncode == 0, "uninterrupted training failed", r.stdout + r.stderr)
    open(os.path.join(tmp, "whole.log"), "w").write(r.stdout)
    check("epoch 3/3 done" in r.stdout and os.path.exists(whole[:-5] + ".svg"), "no 3 epochs or no curve", r.stdout)
    acc = float(r.stdout.strip().splitlines()[-1].split()[2].rstrip("%"))
    check(acc >= 80, "the synthetic task was not learned: %.2f%%" % acc, r.stdout)

    r = run(["eval", "--data", data, "--checkpoint", whole])
    check(r.returncode == 0 and r.stdout.strip().splitlines()[-1].startswith("validation accuracy: "),
          "eval's last line", r.stdout + r.stderr)
    r = run(["predict", "--checkpoint", whole, "a wonderful and brilliant film", "boring awful waste"])
    check(r.returncode == 0, "predict failed", r.stdout + r.stderr)
    lines = [l.strip() for l in r.stdout.splitlines() if "confidence" in l]
    check(len(lines) == 2 and lines[0].startswith("positive (confidence: ") and lines[1].startswith("negative"),
          "predictions", r.stdout)

    # Killed in the middle of epoch 2, after epoch 1's checkpoint was written.
    killed = os.path.join(tmp, "killed.ckpt")
    p = subprocess.Popen([BIN, "train", "--data", data, "--epochs", "3", "--checkpoint", killed,
                          "--progress-seconds", "0"] + SMALL, stdout=subprocess.PIPE, text=True)
    seen = []
    for line in p.stdout:
        seen.append(line)
        if line.startswith("epoch 2/3 [    3/"):
            p.send_signal(signal.SIGKILL)
            break
    p.wait()
    check(p.returncode == -signal.SIGKILL, "the run was not killed mid-epoch 2", "".join(seen))
    leftovers = [f for f in os.listdir(tmp) if ".tmp." in f]
    check(not leftovers, "temporary checkpoint files left behind: %s" % leftovers)
    r = run(["train", "--data", data, "--epochs", "3", "--checkpoint", killed, "--resume"] + SMALL)
    check(r.returncode == 0 and "resumed from %s after epoch 1" % killed in r.stdout, "resume", r.stdout + r.stderr)
    check("epoch 1/3" not in r.stdout and "epoch 3/3 done" in r.stdout, "resume re-ran or skipped epochs", r.stdout)
    resumed = r.stdout
    a, b = params_of(whole), params_of(killed)
    check(a.keys() == b.keys() and all(a[k] == b[k] for k in a),
          "the resumed run's parameters differ from the uninterrupted run's")

    # By default the embedding starts from word vectors learnt on the training text (so the resumed run
    # above, equal to the uninterrupted one, learnt the same vectors); a resumed run does not learn them
    # again; --word-vectors 0 starts from N(0, 1) and learns the task too.
    # (This corpus is small: imdb-sentiment runs more than the default 5 skip-gram epochs over it.)
    check("skip-gram epochs over 576 reviews" in open(os.path.join(tmp, "whole.log")).read(),
          "no word vectors in the default run")
    check("word vectors:" not in resumed, "the resumed run learnt word vectors again", resumed)
    plain = os.path.join(tmp, "plain.ckpt")
    r = run(["train", "--data", data, "--epochs", "3", "--checkpoint", plain, "--word-vectors", "0"] + SMALL)
    check(r.returncode == 0 and "word vectors:" not in r.stdout, "--word-vectors 0", r.stdout + r.stderr)
    acc = float(r.stdout.strip().splitlines()[-1].split()[2].rstrip("%"))
    check(acc >= 80, "the synthetic task was not learned from N(0, 1): %.2f%%" % acc, r.stdout)
    check(params_of(plain)["param/embedding.weight"] != params_of(whole)["param/embedding.weight"],
          "--word-vectors 0 changed nothing")
    r = run(["train", "--data", data, "--word-vectors", "-1"] + SMALL)
    check(r.returncode == 2 and "--word-vectors" in r.stderr, "--word-vectors -1 is a usage error", r.stderr)
    # A resumed run with the same command line is fine (above); a setting it would ignore is refused.
    r = run(["train", "--data", data, "--epochs", "4", "--checkpoint", killed, "--resume"] + SMALL + ["--hidden", "9"])
    check(r.returncode == 2 and "only --epochs may change: asked for hidden_size 9 (the checkpoint's: 8)" in r.stderr,
          "--resume with another --hidden is a usage error", r.stderr)
    for flag, value, says in [("--vocab", "0", "--vocab must be positive"), ("--limit", "-5", "--limit must be"),
                              ("--clip", "-1", "--clip must be"), ("--lr", "nan", "option '--lr' needs a positive number")]:
        r = run(["train", "--data", data] + SMALL + [flag, value])
        check(r.returncode == 2 and says in r.stderr, "%s %s is a usage error" % (flag, value), r.stderr)

    # Bad input: clear messages, exit status 1.
    truncated = os.path.join(tmp, "truncated.ckpt")
    with open(whole, "rb") as f, open(truncated, "wb") as g:
        g.write(f.read()[:-100])
    r = run(["predict", "--checkpoint", truncated, "great"])
    check(r.returncode == 1 and "checkpoint " + truncated in r.stderr and "Traceback" not in r.stderr,
          "a truncated checkpoint", r.stderr)
    r = run(["eval", "--data", os.path.join(tmp, "missing"), "--checkpoint", whole])
    check(r.returncode == 1 and "missing" in r.stderr, "a missing data folder", r.stderr)
    r = run(["train", "--data", data, "--epochs", "0"])
    check(r.returncode == 2, "--epochs 0 is a usage error", r.stderr)
    r = run(["train", "--data", data, "--truncate", "middle", "--checkpoint", os.path.join(tmp, "never.ckpt")] + SMALL)
    check(r.returncode == 1 and "--truncate must be head or tail, not 'middle'" in r.stderr, "a bad --truncate", r.stderr)
    print("PASS: train/eval/predict, SIGKILL + --resume equals an uninterrupted run, bad input handled")


if __name__ == "__main__":
    main()
