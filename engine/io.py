"""Seasons in and out of the store: JSONL export and import, and the applicant's tracking
sheet (CSV). Import is all-or-nothing and names the line and field of a bad input.

Loaded on first use: ``prematch now`` never imports it.
"""

from prematch.engine._intake import MAX_LINE_BYTES, season_slug
from prematch.engine._tracker import COLUMNS, import_tracker, program_id, tracker_lines
from prematch.engine._transfer import ImportResult, export_lines, import_lines

__all__ = [
    "COLUMNS",
    "MAX_LINE_BYTES",
    "ImportResult",
    "export_lines",
    "import_lines",
    "import_tracker",
    "program_id",
    "season_slug",
    "tracker_lines",
]
