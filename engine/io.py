"""Seasons in and out of the store: JSONL export and import, and the applicant's tracking
sheet (``.csv`` or ``.xlsx``, one reader: ``import`` takes it in once, ``sync`` again and
again, and :func:`sheet_table` writes a season out as one). Import is all-or-nothing and names
the line and field of a bad input.

Loaded on first use: ``prematch now`` never imports it.
"""

from prematch.engine._files import write_file
from prematch.engine._intake import MAX_LINE_BYTES, season_slug
from prematch.engine._sheet import csv_text, sheet_columns, write_sheet
from prematch.engine._sync import (
    Change,
    SheetProblems,
    SyncResult,
    Unshown,
    sheet_table,
    sync_sheet,
)
from prematch.engine._tracker import import_tracker, program_id
from prematch.engine._transfer import ImportResult, export_lines, import_lines

__all__ = [
    "MAX_LINE_BYTES",
    "Change",
    "ImportResult",
    "SheetProblems",
    "SyncResult",
    "Unshown",
    "csv_text",
    "export_lines",
    "import_lines",
    "import_tracker",
    "program_id",
    "season_slug",
    "sheet_columns",
    "sheet_table",
    "sync_sheet",
    "write_file",
    "write_sheet",
]
