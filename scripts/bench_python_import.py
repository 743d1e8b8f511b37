#!/usr/bin/env python3
"""What a Python Lambda handler pays before its first line of work, for `make bench`: the
reference a user would otherwise pick. Wall-clock of fresh interpreters (spawn to exit),
interleaved so that drift hits each variant alike:

* `python3 -c pass`                                  (the interpreter alone)
* `python3 -c "import boto3"`                         (minus the above: the import)
* `python3 -c "import boto3; boto3.client('dynamodb')"` (what a handler's init does)

plus `python3 -X importtime -c "import boto3"`'s own figure (cumulative µs of boto3).
Prints one JSON object.
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

VARIANTS = {
    "pass": "pass",
    "import_boto3": "import boto3",
    "import_boto3_client": "import boto3; boto3.client('dynamodb', region_name='us-east-1')",
}


def pct(values, p):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               PYTHONDONTWRITEBYTECODE="1")
    for code in VARIANTS.values():  # warm the page cache and the .pyc files
        subprocess.run([args.python, "-c", code], env=env, check=True)
    times = {name: [] for name in VARIANTS}
    for _ in range(args.runs):
        for name, code in VARIANTS.items():
            t = time.perf_counter_ns()
            subprocess.run([args.python, "-c", code], env=env, check=True)
            times[name].append((time.perf_counter_ns() - t) / 1e6)
    importtime = []
    for _ in range(5):
        err = subprocess.run([args.python, "-X", "importtime", "-c", "import boto3"], env=env, check=True,
                             capture_output=True, text=True).stderr
        for line in err.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == "boto3":
                importtime.append(int(parts[1]) / 1000)
    version = subprocess.run([args.python, "-c", "import boto3, botocore, sys, platform; "
                              "print(platform.python_version(), boto3.__version__, botocore.__version__)"],
                             env=env, check=True, capture_output=True, text=True).stdout.split()
    out = {"tool": "scripts/bench_python_import.py", "python": version[0], "boto3": version[1],
           "botocore": version[2], "runs": args.runs, "machine": platform.machine()}
    for name, values in times.items():
        out[name] = {"p50": statistics.median(values), "p90": pct(values, 90), "min": min(values)}
    base = out["pass"]["p50"]
    out["boto3_import_ms_minus_pass"] = out["import_boto3"]["p50"] - base
    out["boto3_import_and_client_ms_minus_pass"] = out["import_boto3_client"]["p50"] - base
    out["importtime_boto3_cumulative_ms"] = statistics.median(importtime) if importtime else None
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
