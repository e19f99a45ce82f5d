"""How well the checks name mistakes they were not written for: the corpus under tests/corpus.

For every topic of the corpus (wrong implementations written the way students write them, and correct
alternatives, independent of the mistake catalogue) prints how many wrong ones are rejected, named
correctly (the diagnosis is one of the names the entry lists), named wrongly (a diagnosis outside
them), left unnamed, or accepted; how many correct ones are falsely rejected; and the median and
largest time a wrong one takes to be rejected (the check with its diagnosis, without drawing a figure:
``bench_feedback_figure.py`` prices the figure).

    python benchmarks/bench_feedback.py                          # the table
    python benchmarks/bench_feedback.py --list                   # and every entry not named correctly
    python benchmarks/bench_feedback.py --baseline-rev b2c9678   # and the same corpus against that revision

With ``--baseline-rev`` the package as it was at that revision judges the same corpus in a subprocess
(its ``dlcourse/`` extracted to a temporary folder put first on PYTHONPATH), so the table shows both.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from _revision import extract_revision

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus import TOPIC_MODULES, evaluate, load, named_correctly

COUNTS = ("wrong", "rejected", "named", "named wrongly", "unnamed", "accepted", "correct", "falsely rejected")


def measure(topic: str, listing: list[str]) -> dict[str, float]:
    """The counts of one topic, and the median and largest time (ms) of a rejection."""
    wrong, correct = load(topic)
    counts: dict[str, float] = dict.fromkeys(COUNTS, 0)
    counts["wrong"], counts["correct"] = len(wrong), len(correct)
    seconds = []
    for entry in wrong:
        start = time.perf_counter()
        outcome = evaluate(entry.functions, entry.target)
        name = f"{entry.target}:{entry.functions[-1].__name__}"
        if not outcome.rejected:
            counts["accepted"] += 1
            listing.append(f"ACCEPTED        {name}  ({entry.what})")
            continue
        seconds.append(time.perf_counter() - start)
        counts["rejected"] += 1
        if named_correctly(entry, outcome):
            counts["named"] += 1
        elif outcome.diagnosis is None:
            counts["unnamed"] += 1
            listing.append(f"unnamed         {name}  names={sorted(entry.names)}  ({entry.what})")
        else:
            counts["named wrongly"] += 1
            listing.append(f"NAMED WRONGLY   {name}  as {outcome.diagnosis}, names={sorted(entry.names)}")
    for entry in correct:
        outcome = evaluate(entry.functions, entry.target)
        if outcome.rejected:
            counts["falsely rejected"] += 1
            listing.append(f"FALSE REJECTION {entry.target}:{entry.functions[-1].__name__}\n{outcome.message}")
    counts["median ms"] = 1000 * statistics.median(seconds) if seconds else 0.0
    counts["max ms"] = 1000 * max(seconds, default=0.0)
    return counts


def measure_all(listing: list[str]) -> dict[str, dict[str, float]]:
    warnings.simplefilter("ignore")  # students' code overflows on purpose
    return {topic: measure(topic, listing) for topic in TOPIC_MODULES}


def measure_at(revision: str) -> dict[str, dict[str, float]]:
    """The same measurement with the package as it was at ``revision``, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-baseline-") as folder:
        extract_revision(revision, Path(folder))
        env = dict(os.environ, PYTHONPATH=folder)
        done = subprocess.run([sys.executable, __file__, "--json"], env=env, capture_output=True, text=True,
                              check=True, cwd=folder)
    return json.loads(done.stdout.splitlines()[-1])


def print_table(title: str, rows: dict[str, dict[str, float]]) -> None:
    total = {column: sum(row[column] for row in rows.values()) for column in COUNTS}
    total["median ms"] = statistics.median(row["median ms"] for row in rows.values())
    total["max ms"] = max(row["max ms"] for row in rows.values())
    print(title)
    columns = (*COUNTS, "named share", "median ms", "max ms")
    print(f"{'topic':<15}" + "".join(f"{c:>{max(len(c), 8) + 2}}" for c in columns))
    for topic, row in [*rows.items(), ("total", total)]:
        share = f"{row['named'] / row['wrong']:.1%}" if row["wrong"] else "-"
        cells = [f"{int(row[c])}" for c in COUNTS] + [share, f"{row['median ms']:.1f}", f"{row['max ms']:.0f}"]
        print(f"{topic:<15}" + "".join(f"{cell:>{max(len(c), 8) + 2}}" for c, cell in zip(columns, cells, strict=True)))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every entry not named correctly")
    parser.add_argument("--baseline-rev", help="also judge the corpus with the package at this git revision")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the baseline's subprocess
    args = parser.parse_args()
    listing: list[str] = []
    if args.json:
        print(json.dumps(measure_all(listing)))
        return
    start = time.perf_counter()
    rows = measure_all(listing)
    seconds = time.perf_counter() - start
    wrong = sum(row["wrong"] for row in rows.values())
    correct = sum(row["correct"] for row in rows.values())
    if args.baseline_rev:
        print_table(f"old: dlcourse at {args.baseline_rev}", measure_at(args.baseline_rev))
    print_table("new: this checkout" if args.baseline_rev else "this checkout", rows)
    print(f"{int(wrong)} wrong and {int(correct)} correct implementations checked in {seconds:.1f} s (this checkout)")
    if args.list and listing:
        print("\n" + "\n".join(listing))


if __name__ == "__main__":
    main()
