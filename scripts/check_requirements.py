#!/usr/bin/env python3
"""Checks that this Python's environment has every `name==version` pin of a requirements
file at exactly that version (scripts/setup.sh runs it with the project venv's python).

Prints one line per package that is missing or at another version and exits 1 if there is
any; exits 0 silently when all pins hold. Only the standard library, so that it runs in a
bare venv and in well under a second.
"""
import importlib.metadata
import re
import sys

PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")


def pins(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = PIN.match(line)
            if not m:
                # setup.sh compares versions only: every line must be an exact pin.
                raise SystemExit(f"{path}: not a `name==version` pin: {line!r}")
            yield m.group(1), m.group(2)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "requirements-dev.txt"
    wrong = []
    for name, want in pins(path):
        try:
            have = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed (want {want})")
            continue
        if have != want:
            wrong.append(f"{name}: {have} installed, want {want}")
    for line in wrong:
        print(line)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
