#!/usr/bin/env python3
"""imdb-sentiment --device: a GPU the machine cannot use is not an error.

On a machine without the CUDA driver (CI), `train` and `predict` with `--device cuda` must print one
line on stderr naming the reason and "running on the CPU instead", then do their work and exit 0. On a
machine with a usable GPU they print "device: cuda" instead. Bad values are usage errors (exit 2).

usage: imdb_device_test.py BUILD_BIN_DIR
"""
import ctypes
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imdb_job_test  # noqa: E402  (its data and model settings: the JIT kernels it caches serve both)

BIN = imdb_job_test.BIN
SMALL = imdb_job_test.SMALL + ["--epochs", "1", "--max-steps", "2", "--no-eval", "--progress-seconds", "0"]
FALLBACK = "running on the CPU instead"


def cuda_driver_present():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def run(args):
    r = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=900)
    return r.returncode, r.stdout, r.stderr


def check_device_line(what, rc, out, err):
    """Exit 0 and either the fallback note (one line, naming the reason) or the GPU in use."""
    assert rc == 0, "%s: exit %d\nstdout:\n%s\nstderr:\n%s" % (what, rc, out, err)
    notes = [l for l in err.splitlines() if FALLBACK in l]
    if not cuda_driver_present():
        assert len(notes) == 1, "%s: expected one fallback line on stderr, got:\n%s" % (what, err)
        note = notes[0]
        assert note.startswith("imdb-sentiment: --device cuda: no CUDA driver on this machine ("), note
        assert note.endswith("; " + FALLBACK), note
        assert "device: cuda" not in out, out
        print("%s: %s" % (what, note))
    else:
        assert len(notes) == 1 or "device: cuda" in out, "%s: neither the GPU nor a fallback note:\n%s\n%s" % (what, out, err)
        if notes:
            assert notes[0].startswith("imdb-sentiment: --device cuda: "), notes[0]
        print("%s: %s" % (what, notes[0] if notes else "ran on the GPU"))


def opencl_present():
    """An OpenCL loader with a driver behind it (pocl here); CI has neither."""
    try:
        ctypes.CDLL("libOpenCL.so.1")
    except OSError:
        return False
    return os.path.isdir("/etc/OpenCL/vendors") and bool(os.listdir("/etc/OpenCL/vendors"))


def verdicts(out):
    """The verdicts of a predict run ("negative (confidence: 55.30%)"), in order, as (word, percent)."""
    found = []
    for line in out.splitlines():
        m = re.match(r"\s*(positive|negative) \(confidence: ([0-9.]+)%\)$", line)
        if m:
            found.append((m.group(1), float(m.group(2))))
    return found


def same_verdicts(a, b):
    """The same words, and confidences within 0.05 points: the device's kernels sum in another order."""
    return len(a) == len(b) and all(x[0] == y[0] and abs(x[1] - y[1]) <= 0.05 for x, y in zip(a, b))


def step_losses(out):
    """The loss after each step of a train run's progress lines ("epoch 1/1 [    2/3] loss 0.7373 …")."""
    return [float(m.group(1)) for m in re.finditer(r"\] loss ([0-9.]+) ", out)]


def train_on(device, data, checkpoint):
    """A few steps of 7 rows (steps of 7 x 8 floats, not at pocl's 128-byte view alignment): exit 0,
    the step losses."""
    rc, out, err = run(["train", "--data", data, "--checkpoint", checkpoint, "--device", device] + SMALL +
                       ["--batch", "7", "--max-steps", "3"])
    assert rc == 0, "train --device %s: exit %d\n%s\n%s" % (device, rc, out, err)
    losses = step_losses(out)
    assert len(losses) == 3, out
    return losses


def main():
    with tempfile.TemporaryDirectory() as tmp:
        data = imdb_job_test.make_data(tmp)
        ckpt = os.path.join(tmp, "m.ckpt")
        rc, out, err = run(["train", "--data", data, "--checkpoint", ckpt, "--device", "cuda"] + SMALL)
        check_device_line("train --device cuda", rc, out, err)
        assert os.path.exists(ckpt), "train wrote no checkpoint"

        rc, out, err = run(["predict", "--checkpoint", ckpt, "--device", "cuda", "a great film"])
        check_device_line("predict --device cuda", rc, out, err)
        assert "confidence" in out, out

        # The CPU needs no note.
        sentences = ["a great film", "a dull and boring film that never ends"]
        rc, out, err = run(["predict", "--checkpoint", ckpt, "--device", "cpu"] + sentences)
        assert rc == 0 and FALLBACK not in err and "confidence" in out, (rc, out, err)
        on_cpu = verdicts(out)
        assert len(on_cpu) == len(sentences), out

        # Through OpenCL, the same verdicts. The steps of the layers' outputs (2 rows of 8 floats) are not
        # at the 128-byte multiples pocl starts a view at: the scans write them through copies with
        # padded time strides (the compiled executor's steps_viewable).
        if opencl_present():
            rc, out, err = run(["predict", "--checkpoint", ckpt, "--device", "opencl"] + sentences)
            if "incompatible with sanitizer runtime" in err:
                # ASan refuses pocl's RTLD_DEEPBIND dlopen: the sanitized suite cannot run OpenCL at all.
                print("imdb_device_test: pocl cannot be loaded under the sanitizers; predict --device opencl not run")
            else:
                assert rc == 0 and "device: opencl" in out, (rc, out, err)
                assert same_verdicts(verdicts(out), on_cpu), (on_cpu, out)
                print("imdb_device_test: predict --device opencl: %s" % " / ".join("%s %.2f%%" % v for v in on_cpu))
                # Training too: @forward's saved activations kept on the device for @backward, whose
                # scans run backwards over them; the same losses as the CPU's, step for step.
                cpu = train_on("cpu", data, os.path.join(tmp, "cpu.ckpt"))
                opencl = train_on("opencl", data, os.path.join(tmp, "opencl.ckpt"))
                assert all(abs(a - b) <= 1e-3 for a, b in zip(cpu, opencl)), (cpu, opencl)
                print("imdb_device_test: train --device opencl: losses %s, as on the CPU" % opencl)
        else:
            print("imdb_device_test: no OpenCL driver here; predict --device opencl not run")

        # Bad values: usage errors that say what is wrong.
        rc, out, err = run(["predict", "--checkpoint", ckpt, "--device", "tpu", "x"])
        assert rc == 2 and "--device must be cpu, cuda or opencl, got 'tpu'" in err, (rc, err)
        rc, out, err = run(["predict", "--checkpoint", ckpt, "--device", "cuda", "--target", "host", "x"])
        assert rc == 2 and "cannot be combined with --device cuda" in err, (rc, err)
    print("imdb_device_test: ok")


if __name__ == "__main__":
    main()
