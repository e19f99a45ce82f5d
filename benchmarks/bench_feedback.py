"""How well the checks name mistakes they were not written for: the corpus under tests/corpus.

For every topic of the corpus (wrong implementations written the way students write them, and correct
alternatives, independent of the mistake catalogue) prints how many wrong ones are rejected, named
correctly (the diagnosis is one of the names the entry lists), named wrongly (a diagnosis outside
them), left unnamed, or accepted; and how many correct ones are falsely rejected.

    python benchmarks/bench_feedback.py             # the table
    python benchmarks/bench_feedback.py --list      # and every entry that is not named correctly
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from corpus import TOPIC_MODULES, evaluate, load, named_correctly

COLUMNS = ("wrong", "rejected", "named", "named wrongly", "unnamed", "accepted", "correct", "falsely rejected")


def measure(topic: str, listing: list[str]) -> dict[str, int]:
    wrong, correct = load(topic)
    counts = dict.fromkeys(COLUMNS, 0)
    counts["wrong"], counts["correct"] = len(wrong), len(correct)
    for entry in wrong:
        outcome = evaluate(entry.functions, entry.target)
        name = f"{entry.target}:{entry.functions[0].__name__}"
        if not outcome.rejected:
            counts["accepted"] += 1
            listing.append(f"ACCEPTED        {name}  ({entry.what})")
            continue
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
            listing.append(f"FALSE REJECTION {entry.target}:{entry.functions[0].__name__}\n{outcome.message}")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list every entry not named correctly")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # students' code overflows on purpose
    listing: list[str] = []
    start = time.perf_counter()
    rows = {topic: measure(topic, listing) for topic in TOPIC_MODULES}
    seconds = time.perf_counter() - start
    total = {column: sum(row[column] for row in rows.values()) for column in COLUMNS}
    print(f"{'topic':<15}" + "".join(f"{c:>17}" for c in COLUMNS) + f"{'named / wrong':>15}")
    for topic, row in [*rows.items(), ("total", total)]:
        share = row["named"] / row["wrong"] if row["wrong"] else 0.0
        print(f"{topic:<15}" + "".join(f"{row[c]:>17}" for c in COLUMNS) + f"{share:>15.1%}")
    print(f"\n{total['wrong']} wrong and {total['correct']} correct implementations checked in {seconds:.1f} s")
    if args.list and listing:
        print("\n" + "\n".join(listing))


if __name__ == "__main__":
    main()
