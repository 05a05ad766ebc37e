"""Drafts: filled from the season, in the season's timezone, and always lint-clean.

Every (action, program) of the demo season gets a draft with no block finding and no
length warning; the values come from the log; ``prematch draft`` refuses what the
rulebook blocks (exit 3) and lints what ``--edit`` leaves. In process: the library
directly, and the command line through :class:`prematch_script.Script`, each command test
on its own copy of one season recorded once.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from history import PROFILE, History
from prematch_script import Script, built

from prematch import engine
from prematch.engine import ACTIONS, Season, Store, fixtures_dir, import_lines
from prematch.policies import Rulebook, lint_message
from prematch.policies._drafts import draft_message, templates_dir

DEMO_NOW = "2027-01-15T09:00:00-05:00"
FILL = tomllib.loads((templates_dir() / "fill.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo() -> Iterator[Season]:
    """The demo season of fixtures/demo, as of a January morning."""
    import tempfile

    clock = engine.fixed_clock(engine.parse_instant(DEMO_NOW))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "demo.db")
        with (fixtures_dir() / "demo" / "season.jsonl").open("rb") as f:
            import_lines(store, f, rulebook=Rulebook(), clock=clock)
        yield Season.open(store, rulebook=Rulebook(), clock=clock)
        store.close()


def test_every_action_has_a_template() -> None:
    assert {p.stem for p in templates_dir().glob("*.txt")} == set(ACTIONS)


BLANK = re.compile(r"\[([^\]]*)\]")


def filled(text: str) -> str:
    """``text`` with each [blank] written by the applicant (here: its own words, unbracketed)."""
    return BLANK.sub(lambda m: m.group(1).rstrip("."), text)


@pytest.mark.parametrize("action", ACTIONS)
def test_every_draft_of_the_demo_season_passes_lint_but_for_its_blanks(
    demo: Season, action: str
) -> None:
    state = demo.state()
    assert len(state.programs) >= 20
    for pid in state.programs:
        draft = draft_message(state, action, pid)
        assert draft.blocking == (), (pid, [(f.rule, f.phrase) for f in draft.blocking])
        assert not [f for f in draft.findings if f.rule == "content.length"], (pid, action)
        assert "$" not in draft.text  # every template value was filled
        # Every blank left for the applicant is a block until it is written.
        blanks = [f"[{b}]" for b in BLANK.findall(draft.text)]
        assert [f.phrase for f in draft.blanks] == blanks, (pid, action)
        assert draft.blanks and all(f.severity == "block" for f in draft.blanks)


def test_drafts_the_rulebook_allows_now_are_clean_once_filled(demo: Season) -> None:
    state = demo.state()
    allowed = [v for v in demo.what_now().actions if v.outcome != "blocked" and v.action in ACTIONS]
    assert {v.action for v in allowed} >= {"thank_you", "update", "interest"}
    for v in allowed:
        draft = draft_message(state, v.action, v.program)
        assert {f.rule for f in draft.findings} == {"content.placeholder"}
        assert lint_message(filled(draft.text), v.action, state, v.program) == []


def words(text: str) -> int:
    from prematch.policies._content import _split, _words, load_phrases

    return len(_words(_split(text, load_phrases())))


@pytest.mark.parametrize("pid", ["marlow-im", "alderbay-im", "bramblewood-im", "glenmoor-im"])
def test_interest_letter_is_200_to_300_words(demo: Season, pid: str) -> None:
    assert 200 <= words(draft_message(demo.state(), "interest", pid).text) <= 300


def test_values_come_from_the_season(demo: Season) -> None:
    state = demo.state()
    text = draft_message(state, "thank_you", "kestrelpoint-im").text
    assert "Leila Haddad" in text
    assert "Kestrel Point University Hospital Internal Medicine" in text
    assert "January 14, 2027" in text  # interviewed 2027-01-14T08:00-05:00
    assert "AAMC ID 14738261" in text and "ECFMG ID 0-874-512-3" in text


def test_update_tells_the_oldest_untold_news(demo: Season) -> None:
    text = draft_message(demo.state(), "update", "bramblewood-im").text
    assert "Passed USMLE Step 3 (result released 9 December 2026)" in text


def test_inquiry_names_the_connection(demo: Season) -> None:
    state = demo.state()
    assert FILL["connection"]["observership"] in draft_message(state, "inquiry", "alderbay-im").text
    assert FILL["connection"]["research"] in draft_message(state, "inquiry", "kestrelpoint-im").text
    assert FILL["connection"]["none"] in draft_message(state, "inquiry", "fenwick-im").text


def test_interest_letter_mentions_news_since_that_interview(demo: Season) -> None:
    state = demo.state()
    before = draft_message(state, "interest", "marlow-im").text  # interviewed 22 Oct
    after = draft_message(state, "interest", "kestrelpoint-im").text  # interviewed 14 Jan
    assert "Passed USMLE Step 3" in before
    assert "Passed USMLE Step 3" not in after and FILL["interest"]["no_news"] in after


KOLKATA_EVENTS = [
    ("program_added", "mercy", "2026-09-21", {"name": "Mercy General IM"}),
    ("program_added", "oak", "2026-09-21", {"name": "Oak Valley IM"}),
    ("invited", "mercy", "2026-10-01", {"interview_on": "2026-11-12"}),
    ("invited", "oak", "2026-10-01", {"interview_on": "2027-01-28"}),
    ("interviewed", "mercy", "2026-11-12T23:30:00-05:00"),  # 10:00 on 13 Nov in Kolkata
    ("news_recorded", None, "2026-12-01", {"kind": "exam", "detail": "Passed Step 3."}),
    ("news_recorded", None, "2026-12-20", {"kind": "visa", "detail": "Green card approved"}),
    ("update_sent", "mercy", "2026-12-02"),
]


def test_interview_date_is_the_programs_day_not_the_applicants(clock: engine.Clock) -> None:
    kolkata = History(timezone="Asia/Kolkata", visa="none", started="2026-09-20T10:00:00+05:30")
    state = kolkata.then(KOLKATA_EVENTS).state(rulebook=engine.NoRules(), clock=clock)
    # 13 November in Kolkata, but the program said 12 November (interview_on).
    assert "November 12, 2026" in draft_message(state, "thank_you", "mercy").text
    # Not interviewed yet: the date of the invitation.
    assert "January 28, 2027" in draft_message(state, "thank_you", "oak").text
    # The first news was told: the update carries the second one, without a doubled period.
    update = draft_message(state, "update", "mercy").text
    assert "Green card approved." in update and "Passed Step 3" not in update
    # No visa, no ECFMG id: the signature asks only for the AAMC id.
    signature = update.rsplit("Sincerely,", 1)[1]
    assert FILL["placeholders"]["aamc_id"] in signature and "ECFMG" not in signature
    found = draft_message(state, "update", "mercy").findings
    assert [f.rule for f in found if f.rule != "content.placeholder"] == ["content.ids"]


def test_an_intent_draft_to_a_second_program_is_blocked_by_lint(clock: engine.Clock) -> None:
    season = History().then(
        [
            ("program_added", "mercy", "2026-09-21", {"name": "Mercy General IM"}),
            ("program_added", "oak", "2026-09-21", {"name": "Oak Valley IM"}),
            ("invited", "mercy", "2026-10-01"),
            ("invited", "oak", "2026-10-01"),
            ("interviewed", "mercy", "2026-11-02T09:00:00-05:00"),
            ("interviewed", "oak", "2026-11-09T09:00:00-05:00"),
            ("intent_sent", "mercy", "2027-01-05T10:00:00-05:00"),
        ]
    )
    draft = draft_message(season.state(rulebook=engine.NoRules(), clock=clock), "intent", "oak")
    assert {f.rule for f in draft.blocking} == {"content.first_choice"}


# -- prematch draft ------------------------------------------------------------------------

SEASON = (
    PROFILE.added_and_applied("mercy")
    .invite("mercy", at="2026-11-02T10:00:00-05:00", interview_on="2027-01-14")
    .interview("mercy", "2027-01-14T09:00:00-05:00")
    .argv()
)


@pytest.fixture(scope="module")
def season_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The season above, recorded once; each test runs on its own copy."""
    return built(tmp_path_factory.mktemp("drafts"), SEASON)


def test_draft_prints_the_letter(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    result = script.ok("draft", "thank_you", "mercy")
    assert result.stdout.startswith("Subject: Thank you for the interview on January 14, 2027")
    assert "Test Applicant\nAAMC ID 12345678 · ECFMG ID 0-123-456-7" in result.stdout


def test_draft_json(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    data = json.loads(script.ok("draft", "thank_you", "mercy", "--json").stdout)
    assert (data["action"], data["program"], data["verdict"]) == ("thank_you", "mercy", "allowed")
    assert engine.parse_instant(data["due_by"]) == engine.parse_instant("2027-01-16T09:00-05:00")
    assert "Mercy General IM" in data["text"]
    assert {f["rule"] for f in data["lint"]} == {"content.placeholder"}


def test_draft_refuses_a_blocked_action_with_the_findings(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    result = script("draft", "interest", "mercy")
    assert result.returncode == 3
    assert result.stdout == ""
    assert "interest.wait" in result.stderr and "block" in result.stderr
    state_invalid = script("draft", "inquiry", "mercy")
    assert state_invalid.returncode == 3 and "state.invalid" in state_invalid.stderr


def test_draft_at_a_later_instant(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    result = script("draft", "interest", "mercy", "--at", "2027-02-01T09:00:00-05:00")
    assert result.returncode == 0, result.stderr
    assert "Letter of interest" in result.stdout


def editor(tmp_path: Path, line: str, *, fill: bool = False) -> str:
    """An $EDITOR that appends ``line`` to the file it is given (and, with ``fill``, writes
    each [blank]: the words inside it, unbracketed)."""
    script = tmp_path / "editor.sh"
    blanks = "sed -i 's/\\[\\([^].]*\\)\\.\\{0,1\\}\\]/\\1/g' \"$1\"\n" if fill else ""
    script.write_text(f'#!/bin/sh\n{blanks}printf "%s\\n" "{line}" >> "$1"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_draft_edit_lints_what_you_wrote(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    env = {"EDITOR": editor(tmp_path, "PS: where do I stand on your list?")}
    result = script("draft", "thank_you", "mercy", "--edit", env=env, unset=["VISUAL"])
    assert result.returncode == 1
    assert "PS: where do I stand on your list?" in result.stdout
    assert "content.rank_question" in result.stderr
    assert 'offending phrase: "where do I stand"' in result.stderr


def test_a_fresh_draft_exits_0_and_lists_its_blanks(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    result = script.ok("draft", "thank_you", "mercy")
    assert "block content.placeholder" in result.stderr
    assert 'offending phrase: "[program director\'s last name]"' in result.stderr


def test_draft_edit_leaving_a_blank_exits_1(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    env = {"EDITOR": editor(tmp_path, "PS: the noon conference was a highlight.")}
    result = script("draft", "thank_you", "mercy", "--edit", env=env, unset=["VISUAL"])
    assert result.returncode == 1
    assert "content.placeholder" in result.stderr


def test_draft_edit_keeping_it_clean_exits_0(tmp_path: Path, season_db: Path) -> None:
    script = Script(tmp_path).copy_of(season_db)
    env = {"EDITOR": editor(tmp_path, "PS: the noon conference was a highlight.", fill=True)}
    result = script("draft", "thank_you", "mercy", "--edit", env=env, unset=["VISUAL"])
    assert result.returncode == 0, result.stderr
    assert "noon conference" in result.stdout


def test_templates_ship_in_the_fixtures_folder() -> None:
    assert templates_dir() == fixtures_dir() / "templates"
    assert os.access(templates_dir() / "fill.toml", os.R_OK)
