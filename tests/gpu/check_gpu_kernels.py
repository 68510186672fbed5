#!/usr/bin/env python3
"""Checks GPU kernels compiled ahead of time, from the lowered code rnnc compile --emit stmt writes.

For every kernel (a Halide pipeline) of every .stmt file given:
  - nothing is copied back to the host (no halide_copy_to_host), and only the kernel's own arguments are
    copied to the device (an internal buffer copied there would mean part of the kernel ran on the CPU);
  - a scan step launches at most MAX_STEP_LAUNCHES GPU kernels (it runs once per time step), or
    MAX_MATERIALISED_STEP_LAUNCHES for the files given after --materialised;
  - no kernel keeps per-thread storage in a heap in global memory (Halide allocates one, `custom_new`,
    when a Func computed inside a GPU thread has no constant size; it cost a backward step 5-10x).
With --ptxas, every embedded PTX module must assemble for the target's compute capability (the CUDA
toolkit's ptxas checks what a driver's JIT would see), and no kernel's per-thread stack frame (local
memory) may pass MAX_STACK_BYTES (none). Prints launches per step kernel; exits 1 on failure.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

# A step in row mode is one launch (its output groups fused at the block); a tiled step whose product
# reads values computed in the step (an LSTM's backward past H ~180) materialises them first, then
# launches each output group: three (tests/lit/codegen/gpu-step-launches.test checks the single ones).
MAX_STEP_LAUNCHES = 4
# A step whose row statistics are materialised (rnnc compile --gpu-row-statistics materialised; by
# default a layer-norm step too wide for a block): a launch per statistic and per output group. The
# layer-norm LSTM with lengths, whose layer norms are two passes (mean, then variance): 10 launches a
# forward step, 15 a backward step.
MAX_MATERIALISED_STEP_LAUNCHES = 16
# A thread's own arrays (a step's values for its 4 rows, a GEMM's register tile) have constant indices
# (unrolled) and live in registers: no stack at all. A stack frame is local memory, read through L1 at
# every use (the peephole LSTM's backward step kept 336 bytes per thread there until 2026-12-07).
MAX_STACK_BYTES = 0


def functions(text):
    """(name, parameters, body) of each lowered function."""
    parts = re.split(r'\n(?=\w* ?func \w+ \()', text)
    for part in parts[1:]:
        m = re.match(r'\w* ?func (\w+) \(([^)]*)\)', part)
        if not m or m.group(1).endswith('_argv') or m.group(1).endswith('_metadata'):
            continue
        params = {p.strip().split('$')[0] for p in m.group(2).split(',')}
        yield m.group(1), params, part


def ptx_modules(text):
    key = 'cuda_gpu_source_kernels = {'
    pos = 0
    while True:
        i = text.find(key, pos)
        if i < 0:
            return
        start = i + len(key)
        m = re.search(r'\n}\n\n(buffer |\w* ?func |external)', text[start:])
        yield text[start:start + m.start()].lstrip('\n').replace('\x00', '')
        pos = start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--ptxas')
    p.add_argument('--materialised', nargs='*', default=[],
                   help='more .stmt files, of models whose steps materialise their row statistics')
    p.add_argument('stmt', nargs='+')
    a = p.parse_args()
    failures = []
    for path in a.stmt + a.materialised:
        max_launches = MAX_MATERIALISED_STEP_LAUNCHES if path in a.materialised else MAX_STEP_LAUNCHES
        text = open(path, 'rb').read().decode('latin1')
        target = re.search(r'target=(\S+)', text).group(1)
        api = 'cuda' if '-cuda' in target else 'opencl' if '-opencl' in target else None
        if api is None:
            failures.append(f'{path}: not a GPU target ({target})')
            continue
        steps = []
        for name, params, body in functions(text):
            if 'halide_copy_to_host(' in body:
                failures.append(f'{path}: {name} copies data back to the host')
            for buf in re.findall(r'halide_copy_to_device\(\(halide_buffer_t \*\)([\w.]+?)\.buffer', body):
                if buf.split('$')[0] not in params:
                    failures.append(f'{path}: {name} copies its internal buffer {buf} to the device (computed on the CPU)')
            if 'custom_new' in body:
                failures.append(f'{path}: {name} keeps per-thread storage in a heap in global memory (custom_new)')
            launches = body.count(f'halide_{api}_run(')
            if launches == 0:
                failures.append(f'{path}: {name} launches no GPU kernel')
            if name.split('_t')[0].endswith('_step') or '_step_t' in name:
                steps.append((name, launches))
                if launches > max_launches:
                    failures.append(f'{path}: {name} launches {launches} kernels per time step (at most {max_launches})')
        print(f'{os.path.basename(path)} ({target}): ' +
              ', '.join(f'{n} {l} launch{"es" if l != 1 else ""}/step' for n, l in steps))
        if a.ptxas and api == 'cuda':
            cap = re.search(r'cuda_capability_(\d+)', target)
            arch = 'sm_' + (cap.group(1) if cap else '80')
            spills = 0
            max_stack = 0
            with tempfile.TemporaryDirectory() as tmp:
                for k, ptx in enumerate(ptx_modules(text)):
                    f = os.path.join(tmp, f'{k}.ptx')
                    open(f, 'w').write(ptx)
                    r = subprocess.run([a.ptxas, '-arch=' + arch, '-v', f, '-o', os.devnull],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        failures.append(f'{path}: PTX module {k} does not assemble for {arch}:\n{r.stderr[:2000]}')
                    spills += sum(int(s) for s in re.findall(r'(\d+) bytes spill stores', r.stderr))
                    for kernel, stack in re.findall(r'Function properties for (\w+)\n\s*(\d+) bytes stack frame', r.stderr):
                        max_stack = max(max_stack, int(stack))
                        if int(stack) > MAX_STACK_BYTES:
                            failures.append(f'{path}: {kernel} uses {stack} bytes of stack per thread (at most {MAX_STACK_BYTES})')
            print(f'  ptxas {arch}: {k + 1} modules assemble, {spills} bytes of register spills, '
                  f'largest stack frame {max_stack} bytes')
    for f in failures:
        print('FAIL ' + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
