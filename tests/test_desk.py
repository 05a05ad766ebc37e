"""The applicant's desk (issue 16): several programs in one ``log``, ``status``, the
short ``now`` and the text views at 80 and 150 columns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from history import History
from prematch_script import Script, built

SETUP = (
    History()
    .added_and_applied("mercy", "oak", "pine")
    .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-14")
    .interview("mercy", "2027-01-14T09:00:00-05:00")
    .invite("pine", at="2026-11-03T10:00:00-05:00", interview_on="2027-01-05")
    .interview("pine", "2027-01-05T10:00:00-05:00")
    .argv()
)
"""mercy: interviewed yesterday; pine: interviewed ten days ago; oak: applied only."""


@pytest.fixture(scope="module")
def desk_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built(tmp_path_factory.mktemp("desk"), SETUP)


@pytest.fixture
def desk(tmp_path: Path, desk_db: Path) -> Script:
    return Script(tmp_path).copy_of(desk_db)


def events(script: Script) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = script.json("history", "--json")["events"]
    return found


# -- several programs in one log ----------------------------------------------------------


def test_log_several_programs_records_one_event_each_in_one_transaction(desk: Script) -> None:
    desk.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10")
    before = len(events(desk))
    out = desk.ok("log", "update-sent", "mercy", "oak", "--at", "2027-01-15T08:00").stdout
    assert "Recorded 2 update_sent events in one transaction" in out
    added = events(desk)[before:]
    assert [(e["type"], e["program"]) for e in added] == [
        ("update_sent", "mercy"),
        ("update_sent", "oak"),
    ]
    assert {e["payload"]["news_seq"] for e in added} == {added[0]["payload"]["news_seq"]}


def test_log_several_programs_writes_nothing_when_one_is_refused(desk: Script) -> None:
    before = events(desk)
    proc = desk("log", "thanked", "mercy", "oak", code=3)  # oak never interviewed
    assert "oak" in proc.stderr
    assert events(desk) == before


def test_log_names_a_program_once(desk: Script) -> None:
    proc = desk("log", "thanked", "mercy", "mercy", code=2)
    assert "named twice: mercy" in proc.stderr


def test_all_interviewed_chooses_the_interviewed_programs_with_news_untold(desk: Script) -> None:
    desk.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10")
    desk.ok("log", "update-sent", "--all-interviewed")
    sent = [e["program"] for e in events(desk) if e["type"] == "update_sent"]
    assert sent == ["mercy", "pine"]  # not oak, which only applied
    proc = desk("log", "update-sent", "--all-interviewed", code=2)  # nothing left to tell
    assert "news untold" in proc.stderr


def test_all_interviewed_that_finds_one_program_records_it(desk: Script) -> None:
    desk.ok("news", "exam", "Passed USMLE Step 3", "--at", "2027-01-10")
    desk.ok("log", "update-sent", "pine", "--at", "2027-01-11")
    desk.ok("log", "update-sent", "--all-interviewed")  # only mercy has news untold
    sent = [e["program"] for e in events(desk) if e["type"] == "update_sent"]
    assert sent == ["pine", "mercy"]


def test_all_interviewed_with_named_programs_is_a_usage_error(desk: Script) -> None:
    proc = desk("log", "thanked", "mercy", "--all-interviewed", code=2)
    assert "--all-interviewed" in proc.stderr


# -- status -----------------------------------------------------------------------------


def test_status_has_a_row_per_program_most_urgent_first(desk: Script) -> None:
    doc = desk.json("status", "--json")
    rows = {r["program"]: r for r in doc["programs"]}
    assert doc["programs"][0]["program"] == "mercy"  # a thank-you is due
    assert set(rows) == {"mercy", "oak", "pine"}
    mercy = rows["mercy"]
    assert mercy["state"] == "interviewed"
    assert mercy["interview_on"] == "2027-01-14"
    assert mercy["interview_at"] == "2027-01-14T14:00:00.000000+00:00"
    assert mercy["next"] == {
        "action": "thank_you",
        "status": "due",
        "at": "2027-01-16T14:00:00.000000+00:00",
    }
    assert rows["oak"]["interview_on"] is None and rows["oak"]["last_message"] is None
    assert desk.json("program", "list", "--json") == doc


def test_status_shows_the_last_message_and_the_findings(desk: Script) -> None:
    desk.ok("log", "thanked", "pine", "--at", "2027-01-06T09:00")
    desk.ok("log", "interest-sent", "pine", "--at", "2027-01-08T09:00", "--override", "PD asked")
    rows = {r["program"]: r for r in desk.json("status", "--json")["programs"]}
    pine = rows["pine"]
    assert pine["last_message"] == {"action": "interest", "at": "2027-01-08T14:00:00.000000+00:00"}
    assert pine["findings"]["block"] == 1  # interest.wait, overridden
    assert rows["mercy"]["findings"] == {"block": 0, "warn": 0}


def test_status_shows_the_interview_in_the_programs_timezone(desk: Script) -> None:
    desk.ok("program", "add", "west", "--name", "West IM", "--timezone", "America/Los_Angeles")
    desk.ok("log", "applied", "west", "--at", "2026-10-01")
    desk.ok("log", "invited", "west", "--at", "2026-11-01", "--interview-on", "2027-01-13")
    desk.ok("log", "interviewed", "west", "--at", "2027-01-13 08:00")  # Los Angeles time
    out = desk.ok("status", env={"COLUMNS": "150"}).stdout
    west = next(line for line in out.splitlines() if line.startswith("West IM (west)"))
    assert "Wed 13 Jan 08:00 PST" in west
    mercy = next(line for line in out.splitlines() if line.startswith("Mercy General IM (mercy)"))
    assert "Thu 14 Jan 09:00 " in mercy and "EST" not in mercy  # the season's zone: said once


# -- now ----------------------------------------------------------------------------------


def test_now_starts_with_the_answer(desk: Script) -> None:
    lines = desk.ok("now").stdout.splitlines()
    assert lines[0] == "Season test-applicant-2027 as of Fri 15 Jan 2027 09:00 EST"
    assert lines[1].startswith("1 due (next: thank-you to Mercy General IM by Sat 16 Jan 09:00), ")
    assert "allowed, read" not in "\n".join(lines)


# -- every text view fits the terminal -------------------------------------------------------

VIEWS = {
    "now": (("now",), ("now", "--json")),
    "now --all": (("now", "--all"), ("now", "--json")),
    "status": (("status",), ("status", "--json")),
    "check": (("check", "interest", "oak"), ("check", "interest", "oak", "--json")),
    "audit": (("audit",), ("audit", "--json")),
    "history": (("history",), ("history", "--json")),
}


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.mark.parametrize("columns", [80, 150])
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_a_text_view_fits_the_terminal_and_breaks_no_word(
    desk: Script, view: str, columns: int
) -> None:
    from rich.cells import cell_len

    desk.ok("log", "interest-sent", "pine", "--at", "2027-01-08T09:00", "--override", "PD asked")
    text_args, json_args = VIEWS[view]
    ran = desk(*text_args, env={"COLUMNS": str(columns)})
    assert ran.returncode in (0, 1, 3), ran.shown()
    out = ran.stdout
    assert len(out.splitlines()) > 2
    for line in out.splitlines():
        assert cell_len(line) <= columns, f"{cell_len(line)} > {columns}: {line!r}"
    tokens = out.split()
    squeezed = "".join(tokens)
    words = {w for s in strings(desk.json(*json_args, code=None)) for w in s.split()}
    for word in (w for w in words if len(w) >= 8):
        if word in squeezed:  # shown: then whole, within one line
            assert any(word in t for t in tokens), f"{word!r} broken in:\n{out}"


WIDE_NAME = "東京大学 家庭医療 プログラム 🏥 附属病院 総合診療科 研修"
"""A program name of wide characters (two columns each) and spaces to break at."""


@pytest.mark.parametrize("view", ["now", "now --all", "history"])
def test_wide_characters_wrap_by_the_columns_they_take(desk: Script, view: str) -> None:
    from rich.cells import cell_len

    desk.ok("program", "add", "todai", "--name", WIDE_NAME, "--at", "2026-09-21")
    desk.ok("log", "applied", "todai", "--at", "2026-09-24")
    desk.ok("log", "invited", "todai", "--at", "2026-11-02", "--interview-on", "2027-01-14")
    desk.ok("log", "interviewed", "todai", "--at", "2027-01-14T08:00")
    out = desk(*VIEWS[view][0], env={"COLUMNS": "80"}).stdout
    assert "東京大学" in out and "研修" in out
    for line in out.splitlines():
        assert cell_len(line) <= 80, f"{cell_len(line)} > 80: {line!r}"


# -- help that teaches, one error prefix ---------------------------------------------------


def test_a_grid_aligns_wide_characters_by_the_columns_they_take() -> None:
    from rich.cells import cell_len

    from prematch.cli._render import grid

    lines = grid(("program", "when"), [("東京総合-im", "today"), ("oak", "later")], 80)
    assert lines is not None
    second = ("when", "today", "later")
    starts = {cell_len(line[: line.index(w)]) for line, w in zip(lines, second, strict=True)}
    assert starts == {2 * 4 + len("-im") + 2}  # four wide characters, "-im", two spaces


def test_log_help_lists_the_events_and_every_fixed_value(desk: Script) -> None:
    import typing

    from prematch.engine import EVENT_TYPES

    text = " ".join(desk.ok("log", "--help", env={"COLUMNS": "80"}).stdout.split())
    for name in EVENT_TYPES:
        if name != "season_started":
            assert name in text, name
    fixed = {
        ("applied", "via"),
        ("connection_recorded", "kind"),
        ("offer_received", "kind"),
        ("signal_sent", "tier"),
        ("call_held", "initiated_by"),
    }
    for event, field in fixed:
        annotation = EVENT_TYPES[event].model_fields[field].annotation
        candidates = (annotation, *typing.get_args(annotation))
        literal = next(a for a in candidates if typing.get_origin(a) is typing.Literal)
        for value in typing.get_args(literal):
            assert value in text, (event, field, value)
    assert "A time without an offset is read in the season's timezone" in text


def test_a_group_option_after_the_command_says_where_it_goes(desk: Script) -> None:
    proc = desk("log", "thanked", "mercy", "--db", "other.db", code=2)
    assert "error: --db is an option of prematch itself: put it before the command" in proc.stderr
    assert "prematch --db FILE log" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("log", "thanked", "mercy", "--tier", "bronze"),  # click: a bad choice
        ("nosuchcommand",),  # click: no such command
        ("--nosuchoption", "now"),  # click: the group's own options
        ("check", "thank_you", "nowhere"),  # the library: an unknown program
        ("log", "thanked", "oak"),  # the library: refused
    ],
)
def test_every_error_has_one_prefix(desk: Script, args: tuple[str, ...]) -> None:
    proc = desk(*args)
    assert proc.returncode in (2, 3), proc.shown()
    assert "\nerror: " in "\n" + proc.stderr
    assert "Error:" not in proc.stderr


# -- an advisor's page ----------------------------------------------------------------------

SECOND = History(name="Second Applicant", season_id="second-2027")


@pytest.fixture
def two(desk: Script) -> Script:
    """The desk season and a second applicant's, whose one thank-you was sent twice."""
    desk.setup(
        [
            SECOND.init_argv(),
            *(
                ("--season", "second-2027", *step)
                for step in (
                    SECOND.added_and_applied("oak")
                    .invite("oak", at="2026-11-02T10:00:00-05:00", interview_on="2026-12-01")
                    .interview("oak", "2026-12-01T09:00:00-05:00")
                    .argv()[1:]
                )
            ),
            ("--season", "second-2027", "log", "thanked", "oak", "--at", "2026-12-01T12:00"),
            (
                "--season",
                "second-2027",
                "log",
                "thanked",
                "oak",
                "--at",
                "2026-12-02T12:00",
                "--override",
                "sent again",
            ),
        ]
    )
    return desk


def test_audit_all_summary_has_a_row_per_season(two: Script) -> None:
    doc = two.json("audit", "--all", "--summary", "--json", code=1)  # the second has a block
    rows = {r["season"]: r for r in doc["seasons"]}
    assert set(rows) == {"test-applicant-2027", "second-2027"}
    first = rows["test-applicant-2027"]
    assert (first["applicant"], first["block"]) == ("Test Applicant", 0)
    assert first["next_deadline"] == {
        "program": "mercy",
        "action": "thank_you",
        "due_by": "2027-01-16T14:00:00.000000+00:00",
    }
    assert first["states"] == {"applied": 1, "interviewed": 2}
    # pine's thank-you (interview 5 Jan) is late: counted, beside mercy's still due.
    assert (first["late"], first["most_overdue"]) == (
        1,
        {"program": "pine", "action": "thank_you", "due_by": "2027-01-07T15:00:00.000000+00:00"},
    )
    second = rows["second-2027"]
    assert second["block"] == 1 and second["next_deadline"] is None
    assert (second["late"], second["most_overdue"]) == (0, None)  # thanked in time
    # A day later mercy's is late too: two, pine's the most overdue.
    later = two(
        "audit", "--all", "--summary", env={"PREMATCH_NOW": "2027-01-16T15:00-05:00"}, code=1
    )
    assert "2 (most overdue: thank-you to pine, was due 07 Jan 15:00 UTC)" in later.stdout
    text = two("audit", "--all", "--summary", env={"COLUMNS": "80"}, code=1).stdout
    assert "Second Applicant" in text and "Test Applicant" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_audit_all_html_is_one_page_with_a_row_per_applicant(two: Script) -> None:
    page = two("audit", "--all", "--format", "html", code=1).stdout
    assert page.count("<!DOCTYPE html>") == 1
    for season, name in (("test-applicant-2027", "Test"), ("second-2027", "Second")):
        assert f'<a href="#season-{season}">{name} Applicant</a>' in page
        assert f'<section id="season-{season}">' in page


def test_the_advisor_sees_a_thank_you_the_applicant_missed(tmp_path: Path) -> None:
    # Interviewed Mon 18 Jan 09:00, never thanked: the thank-you was due Wed 20 Jan 09:00
    # (14:00 UTC); six hours later ``now`` says it is late, and so must the advisor's views.
    steps = (
        History()
        .added_and_applied("mercy", "oak")
        .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-18")
        .interview("mercy", "2027-01-18T09:00:00-05:00")
        .argv()
    )
    script = Script(tmp_path, now="2027-01-20T15:00:00-05:00")
    script.setup(steps)
    now = script.ok("now").stdout
    assert "late: a thank-you is expected" in now
    assert now.splitlines()[1].startswith("nothing due, 1 allowed (1 late), ")  # the answer line
    (row,) = script.json("audit", "--all", "--summary", "--json")["seasons"]
    assert row["next_deadline"] is None  # nothing still due ahead
    assert row["late"] == 1
    assert row["most_overdue"] == {
        "program": "mercy",
        "action": "thank_you",
        "due_by": "2027-01-20T14:00:00.000000+00:00",
    }
    text = script.ok("audit", "--all", "--summary", env={"COLUMNS": "80"}).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "late: 1 (thank-you to mercy, was due 20 Jan 14:00 UTC)" in " ".join(text.split())
    wide = script.ok("audit", "--all", "--summary").stdout.splitlines()
    assert wide[0].split() == [
        *("applicant", "season", "block", "warn", "next", "deadline", "late", "programs")
    ]
    assert "1 (thank-you to mercy, was due 20 Jan 14:00 UTC)" in wide[1]
    page = script.ok("audit", "--all", "--format", "html").stdout
    assert '<td class="late">1 (thank_you to mercy, was due 20 Jan 2027 14:00 UTC)</td>' in page


def test_record_many_refuses_what_is_not_a_list_of_program_ids(desk_db: Path) -> None:
    from prematch.engine import InputError, Season, Store, fixed_clock, parse_instant
    from prematch.policies import Rulebook

    clock = fixed_clock(parse_instant("2027-01-15T09:00:00-05:00"))
    with Store.open(desk_db, readonly=True) as store:
        season = Season.open(store, rulebook=Rulebook(), clock=clock)
        for programs in ("mercy", [], ["mercy", 3], None):
            with pytest.raises(InputError) as caught:
                season.record_many("thanked", programs)  # type: ignore[arg-type]
            assert caught.value.field == "program"
