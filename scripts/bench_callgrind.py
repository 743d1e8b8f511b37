#!/usr/bin/env python3
"""Instructions per operation of shared/examples/bench_ops.rs under `valgrind --tool=callgrind`,
for `make bench`: a figure that does not move with the machine's load. Each operation runs
`--low` and `--high` times in two processes; (Ir(high) - Ir(low)) / (high - low) leaves out
start-up and the one-off checks. Prints one JSON object ({} when valgrind is missing).
"""
import argparse
import json
import re
import shutil
import subprocess
import sys


def instructions(valgrind, binary, op, iters):
    run = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", binary,
                          "--only", op, "--iters", str(iters)], capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        raise RuntimeError(f"callgrind {op}: exit {run.returncode}: {run.stderr[-400:]}")
    found = re.search(r"Collected\s*:\s*(\d+)", run.stderr)
    if not found:
        raise RuntimeError(f"callgrind {op}: no 'Collected' line")
    return int(found.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin", required=True, help="the release bench_ops example")
    parser.add_argument("--low", type=int, default=200)
    parser.add_argument("--high", type=int, default=1200)
    args = parser.parse_args()
    valgrind = shutil.which("valgrind")
    if not valgrind:
        print(json.dumps({"tool": "scripts/bench_callgrind.py", "available": False}))
        return 0
    version = subprocess.run([valgrind, "--version"], capture_output=True, text=True).stdout.strip()
    ops = subprocess.run([args.bin, "--list"], capture_output=True, text=True, check=True).stdout.split()
    out = {"tool": "scripts/bench_callgrind.py", "available": True, "valgrind": version, "ops": {}}
    for op in ops:
        low = instructions(valgrind, args.bin, op, args.low)
        high = instructions(valgrind, args.bin, op, args.high)
        out["ops"][op] = round((high - low) / (args.high - args.low))
        print(f"bench_callgrind: {op}: {out['ops'][op]} instructions/op", file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
