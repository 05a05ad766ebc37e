"""What if I sent this, then? ``Season.preview`` answers without writing anything.

    python examples/whatif.py --db season.db --season demo-2027 \\
        --event '{"type": "thanked", "program": "marlow-im", "at": "2027-02-01T18:00"}' \\
        --event '{"type": "interest_sent", "program": "kestrelpoint-im", "at": "2027-02-01T18:00"}'

(``season.db`` holding the demo season: ``prematch --db season.db import`` the file
``prematch.engine.fixtures_dir() / "demo" / "season.jsonl"``.) Each ``--event`` is one
object as an import line gives it (``type``, ``program``, ``at``, the payload fields),
in the order they would be sent; ``at`` may be in the future. Prints
what the rulebook says of each, then what would be due or allowed after them. Opens the
store read-only; only public names of ``prematch`` are used.
"""

from __future__ import annotations

import argparse
import json
import sys

from prematch.engine import PrematchError, Season, Store
from prematch.policies import Rulebook


def main() -> None:
    """Preview the events; print each one's findings and the what-now after them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="the prematch store (a SQLite file)")
    parser.add_argument("--season", help="the season id (default: the most recent)")
    parser.add_argument("--event", action="append", required=True, help="one event as JSON")
    args = parser.parse_args()
    with Store.open(args.db, readonly=True) as store:
        try:
            season = Season.open(store, args.season, rulebook=Rulebook())
            preview = season.preview([json.loads(text) for text in args.event])
        except (PrematchError, json.JSONDecodeError) as e:
            sys.exit(f"whatif: {e}")
    for text, findings in zip(args.event, preview.findings, strict=True):
        print(text)
        for f in findings or ():
            print(f"  {f.severity}: {f.rule}: {f.message}")
        if not findings:
            print("  fine: no rule has anything to say")
    now = preview.now.to_json()
    names = {p["program"]: p["name"] for p in now["programs"]}
    print(f"then, as of {now['as_of']}:")
    for item in now["actions"]:
        if item["status"] in ("due", "allowed", "warn"):
            due = f" (due by {item['due_by']})" if item["due_by"] else ""
            print(f"  {item['status']}: {item['action']} to {names[item['program']]}{due}")


if __name__ == "__main__":
    main()
