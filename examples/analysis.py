"""An analysis of every season in a prematch store: rows for a table, with the standard
library alone (each row is a plain dict: ``pandas.DataFrame(rows)`` takes them as they are).

    python examples/analysis.py --db season.db

Prints one row per season (events, programs per state, audit findings per severity) and
the rules found most often over all seasons. Opens the store read-only; only public names
of ``prematch`` are used.
"""

from __future__ import annotations

import argparse
import collections
from typing import Any

from prematch.engine import Season, Store, audit_store
from prematch.policies import Rulebook


def season_rows(store: Store) -> list[dict[str, Any]]:
    """One row per season: its summary, how many programs are in each state, and how many
    audit findings of each severity."""
    rulebook = Rulebook()
    audits = {report.season: report for report in audit_store(store, rulebook)}
    rows = []
    for summary in store.season_summaries():
        state = Season.open(store, summary.id, rulebook=rulebook).state().to_json()
        states = collections.Counter(p["state"] for p in state["programs"])
        rows.append(
            {
                **summary.to_json(),
                "programs": len(state["programs"]),
                **{f"in_{name}": count for name, count in sorted(states.items())},
                **audits[summary.id].to_json()["summary"],
            }
        )
    return rows


def rule_counts(store: Store) -> collections.Counter[str]:
    """How often each rule was found, over every season's audit."""
    counts: collections.Counter[str] = collections.Counter()
    for report in audit_store(store, Rulebook()):
        counts.update(f["rule"] for f in report.to_json()["findings"])
    return counts


def main() -> None:
    """Print the season rows and the ten rules found most often."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the prematch store (a SQLite file)")
    args = parser.parse_args()
    with Store.open(args.db, readonly=True) as store:
        for row in season_rows(store):
            print("  ".join(f"{key}={value}" for key, value in row.items()))
        print("most found rules:")
        for rule, count in rule_counts(store).most_common(10):
            print(f"  {count:4d}  {rule}")


if __name__ == "__main__":
    main()
