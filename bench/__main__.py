"""Run every benchmark module in this folder and print its figures.

``python -m bench`` runs all of them; ``python -m bench routing relay`` runs the modules whose
names contain one of the words. Each module prints ratios measured side by side in one run;
the latest figures are recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(p.stem for p in here.glob("bench_*.py"))
    if argv:
        names = [n for n in names if any(word in n for word in argv)]
    if not names:
        print("no benchmarks selected")
        return 1
    failures = 0
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").run()
        except Exception as err:  # report and go on: one broken bench must not hide the others
            failures += 1
            print(f"FAILED: {type(err).__name__}: {err}")
        print(f"--- {name}: {time.perf_counter() - started:.1f}s", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
