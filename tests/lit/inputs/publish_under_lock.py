#!/usr/bin/env python3
"""Runs an `rnnc compile` into DIR while holding DIR's lock, and reports what the folder held when.

usage: publish_under_lock.py DIR NAME -- rnnc compile … -o DIR

The compile makes its files in a staging folder inside DIR, then publishes them under an advisory lock
on DIR (flock). Held here, the compile must stage NAME.h and then wait, not publish; released, it must
publish. Prints one line per finding; exits 1 at the first wrong one.
"""
import fcntl
import glob
import os
import subprocess
import sys
import time


def main():
    folder, name = sys.argv[1], sys.argv[2]
    command = sys.argv[sys.argv.index("--") + 1:]
    os.makedirs(folder, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    compile_ = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # its list of files: not ours to print
    deadline = time.monotonic() + 600
    while not glob.glob(os.path.join(folder, ".rnnc-compile.*", name + ".h")):
        if compile_.poll() is not None:
            print("the compile exited (%d) before staging %s.h" % (compile_.returncode, name))
            return 1
        if time.monotonic() > deadline:
            compile_.kill()
            print("the compile staged nothing in 600 s")
            return 1
        time.sleep(0.02)
    print("staged: %s.h" % name)
    time.sleep(1.0)  # a compile that did not wait would have published by now
    if os.path.exists(os.path.join(folder, name + ".h")) or compile_.poll() is not None:
        print("published while the folder was locked")
        return 1
    print("waiting: nothing published while the folder is locked")
    fcntl.flock(fd, fcntl.LOCK_UN)
    rc = compile_.wait()
    print("exit %d, %s" % (rc, "published" if os.path.exists(os.path.join(folder, name + ".h")) else "nothing published"))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
