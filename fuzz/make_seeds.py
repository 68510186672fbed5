#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from real, valid inputs (and the repository's own malformed cases).

    fuzz/make_seeds.py OUT [--rnnc build/bin/rnnc] [--seeds-tool build-fuzz/bin/rnnc-fuzz-seeds]

OUT/<target>/ gets, per fuzz target:
  fuzz_ir_parser     every zoo model printed by `rnnc ir` (small sizes, plain, bidirectional, after the
                     training and inference pipelines and after each pass), tests/lit's .rnnir files
                     and the files inside its split-file tests (malformed IR included)
  fuzz_onnx_proto    the ONNX backend node tests' model.onnx and tensor .pb files for RNN/LSTM/GRU
                     (libonnx-testdata), tests/onnx/data's, and the cases tests/onnx generates
                     (make_spec_cases.py, export_torch_cases.py: needs onnx and torch in
                     $RNNC_ONNX_PYTHON, default /usr/bin/python3)
  fuzz_onnx_importer the same model.onnx files
  fuzz_imdb_archive  tiny aclImdb archives: ustar, GNU (long names) and pax tar, and a .tar.gz
  fuzz_checkpoint, fuzz_vocab, fuzz_token_file
                     written by the real serialisers (rnnc-fuzz-seeds)
  plus fuzz/regressions/<target>/*: inputs that once found a bug.
Nothing here is committed: the corpora are rebuilt on every run of scripts/fuzz.sh.
"""
import argparse
import gzip
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONNX_NODE_TESTS = "/usr/share/libonnx-testdata/data/node"


def put(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def ir_seeds(out, rnnc):
    n = 0
    # tests/lit: whole files (their RUN/CHECK lines are // comments, which the IR allows) and the
    # files split-file would cut out of them.
    for dirpath, _, files in sorted(os.walk(os.path.join(ROOT, "tests", "lit"))):
        for f in sorted(files):
            if not f.endswith((".rnnir", ".test")):
                continue
            text = open(os.path.join(dirpath, f), encoding="utf-8").read()
            rel = os.path.relpath(os.path.join(dirpath, f), os.path.join(ROOT, "tests", "lit")).replace("/", "_")
            if f.endswith(".rnnir"):
                put(out, "fuzz_ir_parser", "lit_" + rel, text)
                n += 1
            parts = re.split(r"^//--- (\S+)\n", text, flags=re.M)
            for name, body in zip(parts[1::2], parts[2::2]):
                put(out, "fuzz_ir_parser", "lit_%s_%s" % (rel, name), body)
                n += 1
    if not rnnc or not os.access(rnnc, os.X_OK):
        print("make_seeds: no rnnc tool (%s): IR seeds from tests/lit only" % rnnc, file=sys.stderr)
        return n
    models = subprocess.run([rnnc, "models"], check=True, capture_output=True, text=True).stdout.split()
    small = {"imdb-classifier": ["--vocab", "11", "--embed", "4", "--hidden", "6"]}
    variants = [
        ("plain", []),
        ("bidir", ["--bidirectional", "--layers", "2"]),
        ("train", ["--pipeline=train"]),
        ("infer", ["--pipeline=infer"]),
    ]
    for model in models:
        size = small.get(model, ["--input", "3", "--hidden", "4"])
        for tag, flags in variants:
            r = subprocess.run([rnnc, "ir", model] + size + flags, capture_output=True, text=True)
            if r.returncode == 0:
                put(out, "fuzz_ir_parser", "zoo_%s_%s.rnnir" % (model, tag), r.stdout)
                n += 1
        # Every intermediate module of the training pipeline: fused ops, kernels, @backward, transposes.
        r = subprocess.run([rnnc, "ir", model] + size + ["--pipeline=train", "--print-after-all"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            for i, chunk in enumerate(re.split(r"^// IR after .*\n", r.stdout, flags=re.M)):
                if chunk.strip():
                    put(out, "fuzz_ir_parser", "zoo_%s_after_%02d.rnnir" % (model, i), chunk)
                    n += 1
    return n


def onnx_seeds(out):
    n = 0
    dirs = []
    if os.path.isdir(ONNX_NODE_TESTS):
        dirs += [os.path.join(ONNX_NODE_TESTS, d) for d in sorted(os.listdir(ONNX_NODE_TESTS))
                 if re.match(r"test_(lstm|gru|rnn|simple_rnn)", d)]
    else:
        print("make_seeds: %s missing (libonnx-testdata): no ONNX seeds" % ONNX_NODE_TESTS, file=sys.stderr)
    local = os.path.join(ROOT, "tests", "onnx", "data")
    if os.path.isdir(local):
        dirs += [os.path.join(local, d) for d in sorted(os.listdir(local))]
    # The cases the ONNX tests generate: every recurrent attribute, and what torch.onnx.export writes
    # around the recurrent nodes (Transpose, Shape, Gather, Unsqueeze, ...). They need onnx (and torch)
    # in $RNNC_ONNX_PYTHON; without them those seeds are left out.
    python = os.environ.get("RNNC_ONNX_PYTHON", "/usr/bin/python3")
    scratch = os.path.join(out, ".generated")
    for script in ("make_spec_cases.py", "export_torch_cases.py"):
        gen = os.path.join(scratch, script[:-3])
        r = subprocess.run([python, os.path.join(ROOT, "tests", "onnx", script), gen],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode == 0 and os.path.isdir(gen):
            dirs += [os.path.join(gen, d) for d in sorted(os.listdir(gen))]
        else:
            print("make_seeds: %s %s failed (exit %d): its ONNX seeds are left out" % (python, script, r.returncode),
                  file=sys.stderr)
    for d in dirs:
        base = os.path.basename(d)
        model = os.path.join(d, "model.onnx")
        if os.path.exists(model):
            data = open(model, "rb").read()
            put(out, "fuzz_onnx_proto", base + "_model.onnx", data)
            put(out, "fuzz_onnx_importer", base + "_model.onnx", data)
            n += 1
        for sub in sorted(os.listdir(d)):
            p = os.path.join(d, sub)
            if sub.startswith("test_data_set") and os.path.isdir(p):
                for pb in sorted(os.listdir(p)):
                    put(out, "fuzz_onnx_proto", "%s_%s_%s" % (base, sub, pb), open(os.path.join(p, pb), "rb").read())
                    n += 1
    shutil.rmtree(scratch, ignore_errors=True)
    return n


def tar_bytes(entries, fmt):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, data in entries:
            if data is None:
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1300000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def imdb_seeds(out):
    reviews = [
        ("aclImdb/train/pos/0_9.txt", "A wonderful film. I loved it!<br /><br />Great acting."),
        ("aclImdb/train/neg/1_2.txt", "Terrible; boring: I \"walked out\" (after an hour)?"),
        ("aclImdb/test/pos/2_8.txt", "Caf\u00e9 \u03a3\u03a3 scenes, \u0130stanbul \u0085 fine."),
        ("aclImdb/test/neg/3_1.txt", "No."),
    ]
    entries = [("aclImdb", None), ("aclImdb/README", "not a review")] + reviews
    entries = [(n, d if d is None else d.encode()) for n, d in entries]
    odd = [("aclImdb/train/pos/._0_9.txt", b"\x00\x05\x16\x07"),       # macOS metadata: ignored
           ("aclImdb/train/unsup/5_0.txt", b"unlabelled"),              # ignored
           ("aclImdb/train/neg/4_3.txt", b"   \n"),                    # no tokens: skipped
           ("aclImdb/train/pos/6_10.txt", b"bad \xff\xfe utf-8 \xc3(")]  # repaired
    long_dir = "aclImdb/train/neg/" + "x" * 120 + "_1.txt"               # > 100 bytes: GNU 'L' / pax path
    n = 0
    put(out, "fuzz_imdb_archive", "ustar.tar", tar_bytes(entries, tarfile.USTAR_FORMAT)); n += 1
    put(out, "fuzz_imdb_archive", "gnu_long.tar",
        tar_bytes(entries + odd + [(long_dir, b"long name review")], tarfile.GNU_FORMAT)); n += 1
    pax = tar_bytes(entries + odd + [(long_dir, b"long name review")], tarfile.PAX_FORMAT)
    put(out, "fuzz_imdb_archive", "pax.tar", pax); n += 1
    put(out, "fuzz_imdb_archive", "ustar.tar.gz", gzip.compress(tar_bytes(entries, tarfile.USTAR_FORMAT), mtime=0)); n += 1
    # Two gzip members, as `cat a.gz b.gz` makes.
    raw = tar_bytes(entries[:4], tarfile.USTAR_FORMAT)
    put(out, "fuzz_imdb_archive", "two_members.tar.gz",
        gzip.compress(raw[:700], mtime=0) + gzip.compress(raw[700:], mtime=0)); n += 1
    return n


def regression_seeds(out):
    n = 0
    base = os.path.join(ROOT, "fuzz", "regressions")
    if not os.path.isdir(base):
        return 0
    for target in sorted(os.listdir(base)):
        for f in sorted(os.listdir(os.path.join(base, target))):
            put(out, target, "regression_" + f, open(os.path.join(base, target, f), "rb").read())
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--rnnc", default=os.path.join(ROOT, "build", "bin", "rnnc"))
    ap.add_argument("--seeds-tool", default=os.path.join(ROOT, "build-fuzz", "bin", "rnnc-fuzz-seeds"))
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    counts = {
        "ir": ir_seeds(args.out, args.rnnc),
        "onnx": onnx_seeds(args.out),
        "imdb": imdb_seeds(args.out),
    }
    subprocess.run([args.seeds_tool, args.out], check=True)
    counts["regressions"] = regression_seeds(args.out)
    total = sum(len(os.listdir(os.path.join(args.out, t))) for t in os.listdir(args.out))
    print("make_seeds: %d seed files in %s (%s)" % (total, args.out, ", ".join("%s %d" % kv for kv in counts.items())))


if __name__ == "__main__":
    main()
