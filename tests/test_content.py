"""The content rules (``content.*``) on a corpus of good and bad messages, and ``prematch lint``.

The corpus is ``tests/corpus/messages``: one message per file, what lint must say about
each in ``expected.toml`` (issue 15: over 300 labelled messages; ``make lint-eval`` prints
the measure, :func:`test_the_goals_of_issue_15_hold_on_the_corpus` holds the goals). The
first-choice rule also reads the log: a letter that calls a program "first choice" is
blocked once another program had the letter of intent. In process: the library directly,
``prematch lint`` through :class:`prematch_script.Script`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from history import PROFILE, History
from lint_eval import GOAL_RULES, evaluate, report
from prematch_script import Script

from prematch import engine, policies
from prematch.engine import fixtures_dir
from prematch.policies import CONTENT_RULES, LintFinding, lint_message
from prematch.policies._content import load_phrases
from prematch.policies._roles import load_roles

CORPUS = Path(__file__).parent / "corpus" / "messages"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text())


def corpus(name: str) -> str:
    return (CORPUS / f"{name}.txt").read_text(encoding="utf-8")


def rules(findings: list[LintFinding]) -> set[str]:
    return {f.rule for f in findings}


def expected_rules(case: dict[str, Any]) -> list[str]:
    return [e.split()[1] for e in case["expect"]]


# -- the corpus --------------------------------------------------------------------------


def test_every_corpus_file_has_an_expectation() -> None:
    assert {p.stem for p in CORPUS.glob("*.txt")} == set(EXPECTED)


def test_the_corpus_covers_every_content_rule() -> None:
    covered = {rule for case in EXPECTED.values() for rule in expected_rules(case)}
    assert covered == set(CONTENT_RULES)


def test_labels_name_each_rule_with_its_severity() -> None:
    for name, case in EXPECTED.items():
        assert case["action"] in engine.ACTIONS, name
        for label in case["expect"]:
            severity, rule = label.split()
            assert CONTENT_RULES[rule][0] == severity, (name, label)


def test_the_corpus_is_large_and_mostly_written_for_issue_15() -> None:
    """At least 250 messages; the block-level rules each on 25 or more, and clean ones that
    use the trigger words innocently."""
    assert len(EXPECTED) >= 250
    for rule in GOAL_RULES:
        assert sum(rule in expected_rules(c) for c in EXPECTED.values()) >= 25, rule
    assert sum(not c["expect"] for c in EXPECTED.values()) >= 120


def test_the_goals_of_issue_15_hold_on_the_corpus() -> None:
    """Recall >= 95 % for each block-level rule, no block on a clean message."""
    ev = evaluate()
    text = report(ev)
    for rule in GOAL_RULES:
        assert ev.recall(rule) >= 0.95, text
    assert ev.clean_blocked() == [], text


@pytest.mark.parametrize("name", sorted(n for n, c in EXPECTED.items() if "line" in c))
def test_corpus_message(name: str) -> None:
    case = EXPECTED[name]
    findings = lint_message(corpus(name), case["action"], None, None)
    wanted = expected_rules(case)
    assert rules(findings) == set(wanted), [(f.rule, f.line, f.phrase) for f in findings]
    if not wanted:
        assert findings == []
        return
    first = next(f for f in findings if f.rule == wanted[0])
    assert first.line == case["line"]
    if "phrase" in case:
        assert first.phrase is not None and case["phrase"] in first.phrase
    for f in findings:
        assert (f.severity, f.source) == CONTENT_RULES[f.rule]


def test_every_block_names_its_sentence_and_phrase() -> None:
    """Each block finding on the corpus quotes the words that met the rule, inside the
    sentence it also quotes, both as typed."""
    for name, case in EXPECTED.items():
        text = " ".join(corpus(name).split())
        for f in lint_message(corpus(name), case["action"], None, None):
            if f.severity == "block":
                assert f.phrase and f.sentence, (name, f)
                assert f.phrase in f.sentence and f.sentence in text, (name, f)


def test_severities_are_the_contract() -> None:
    assert {r: s for r, (s, _) in CONTENT_RULES.items()} == {
        "content.rank_question": "block",
        "content.negotiation": "block",
        "content.first_choice": "block",
        "content.commitment": "block",
        "content.placeholder": "block",
        "content.flattery": "warn",
        "content.length": "warn",
        "content.ids": "info",
    }
    assert CONTENT_RULES["content.rank_question"][1] == policies.NRMP
    assert CONTENT_RULES["content.commitment"][1] == policies.NRMP
    assert CONTENT_RULES["content.flattery"][1] == policies.GUIDE


# -- phrases -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Please let me know how you will rank me.", "content.rank_question"),
        ("What are my chances of matching with you?", "content.rank_question"),
        ("Am I on your rank list?", "content.rank_question"),
        ("If I put you at #1, would you place me high too?", "content.negotiation"),
        ("I'll rank your program first as long as you rank me to match.", "content.negotiation"),
        ("In exchange for a high ranking I can commit now.", "content.negotiation"),
        ("You are my top choice.", "content.first_choice"),
        ("I will be ranking your program #1.", "content.first_choice"),
        ("It will be at the top of my rank list.", "content.first_choice"),
        ("Your program is second to none.", "content.flattery"),
        ("It is my dream program.", "content.flattery"),
    ],
)
def test_phrase_variants(text: str, rule: str) -> None:
    assert rule in rules(lint_message(text, "update", None, None))


@pytest.mark.parametrize(
    "text",
    [
        "Your program is one of my top choices.",
        "My number one priority is patient safety.",
        "I hope to stand out in your program's research track.",
        "Thank you for ranking applicants with such care.",
        "I was the first in my family to study medicine.",
    ],
)
def test_honest_wording_is_not_flagged(text: str) -> None:
    found = rules(lint_message(text, "update", None, None))
    assert not found & {"content.first_choice", "content.rank_question", "content.negotiation"}


def test_phrase_wrapped_over_two_lines_is_found_on_its_first_line() -> None:
    text = "Dear Dr. Marsh,\n\nI am glad to say that you are my first\nchoice this year.\n"
    (finding,) = [f for f in lint_message(text, "thank_you", None, None) if f.rule.endswith("ce")]
    assert finding.rule == "content.first_choice"
    assert (finding.line, finding.phrase) == (3, "first choice")


def test_phrase_lists_and_roles_live_in_data() -> None:
    """Every phrase and role comes from phrases.toml or roles.toml; none of their patterns is
    written into the code."""
    folder = fixtures_dir() / "rulebook"
    code = "".join(
        (Path(policies.__file__).parent / f"_{m}.py").read_text()
        for m in ("content", "roles", "sentences")
    )
    patterns = [
        p
        for name in ("phrases.toml", "roles.toml")
        for table in tomllib.loads((folder / name).read_text()).values()
        for value in table.values()
        if isinstance(value, list)
        for p in value
    ]
    assert len(patterns) >= 80
    for pattern in patterns:
        assert len(pattern) < 12 or pattern not in code
    assert load_phrases().flattery.patterns
    assert {family for family, _ in load_roles().patterns} == {
        "rank_question",
        "negotiation",
        "first_choice",
        "commitment",
        "placeholder",
    }


# -- numbers come from the season's policy -----------------------------------------------


def test_limits_are_season_parameters(clock: engine.Clock) -> None:
    text = corpus("bad_length_paragraphs")
    plain = History(visa="none", name="A").state(rulebook=engine.NoRules(), clock=clock)
    roomy = History(visa="none", name="B", policy={"content.max_paragraphs": 6}).state(
        rulebook=engine.NoRules(), clock=clock
    )
    assert "content.length" in rules(lint_message(text, "update", plain, None))
    assert "content.length" not in rules(lint_message(text, "update", roomy, None))


# -- ids: AAMC always, ECFMG for IMGs -----------------------------------------------------

SIGNED_AAMC_ONLY = "Dear Dr. Marsh,\n\nThank you.\n\nSincerely,\nA. Applicant\nAAMC ID 12345678\n"


@pytest.mark.parametrize(
    ("visa", "ecfmg_id", "flagged"),
    [("none", None, False), ("j1", None, True), ("h1b", None, True), ("none", "0-1", True)],
)
def test_ecfmg_id_is_asked_of_imgs_only(
    clock: engine.Clock, visa: str, ecfmg_id: str | None, flagged: bool
) -> None:
    season = History(visa=visa, name="A. Applicant", ecfmg_id=ecfmg_id)
    found = lint_message(
        SIGNED_AAMC_ONLY, "thank_you", season.state(rulebook=engine.NoRules(), clock=clock), None
    )
    ids = [f for f in found if f.rule == "content.ids"]
    assert bool(ids) is flagged
    if flagged:
        assert "ECFMG" in ids[0].message and "AAMC" not in ids[0].message
        assert ids[0].severity == "info"


def test_the_seasons_own_ids_count_in_any_format(clock: engine.Clock) -> None:
    season = History(name="A", aamc_id="AB-77", ecfmg_id="EC-88")
    text = "Dear Dr. Marsh,\n\nThank you.\n\nBest,\nA\nAAMC: AB-77 / ECFMG: EC-88\n"
    assert (
        lint_message(text, "thank_you", season.state(rulebook=engine.NoRules(), clock=clock), None)
        == []
    )


# -- first choice: the one letter of intent, to one program (the log check) ----------------

TWO_INTERVIEWS = History().then(
    [
        ("program_added", "mercy", "2026-09-21", {"name": "Mercy General IM"}),
        ("program_added", "oak", "2026-09-21T11:00:00-04:00", {"name": "Oak Valley IM"}),
        ("invited", "mercy", "2026-10-01", {"interview_on": "2026-11-02"}),
        ("invited", "oak", "2026-10-02", {"interview_on": "2026-11-09"}),
        ("interviewed", "mercy", "2026-11-02T09:00:00-05:00"),
        ("interviewed", "oak", "2026-11-09T09:00:00-05:00"),
    ]
)
MERCY_GOT_THE_INTENT = TWO_INTERVIEWS.event("intent_sent", "mercy", "2027-01-05T10:00:00-05:00")


def first_choice(findings: list[LintFinding]) -> list[LintFinding]:
    return [f for f in findings if f.rule == "content.first_choice"]


def test_first_choice_allowed_in_the_one_letter_of_intent(clock: engine.Clock) -> None:
    season = TWO_INTERVIEWS.season(rulebook=engine.NoRules(), clock=clock)
    text = corpus("good_intent_1")
    assert first_choice(lint_message(text, "intent", season.state(), "oak")) == []
    assert first_choice(lint_message(text, "intent", None, None)) == []


def test_a_second_program_told_first_choice_is_blocked(clock: engine.Clock) -> None:
    season = MERCY_GOT_THE_INTENT.season(rulebook=engine.NoRules(), clock=clock)
    text = corpus("good_intent_1")
    (finding, *more) = first_choice(lint_message(text, "intent", season.state(), "oak"))
    assert finding.severity == "block"
    assert "Mercy General IM" in finding.message and "Oak Valley IM" in finding.message
    assert finding.line == 5 and finding.phrase == "first choice"
    assert [f.phrase for f in more] == ["will rank your program first on my rank order list"]


def test_the_program_that_has_the_intent_may_hear_it_again(clock: engine.Clock) -> None:
    season = MERCY_GOT_THE_INTENT.season(rulebook=engine.NoRules(), clock=clock)
    text = corpus("good_intent_1")
    assert first_choice(lint_message(text, "intent", season.state(), "mercy")) == []


def test_a_retracted_intent_frees_first_choice(clock: engine.Clock) -> None:
    season = MERCY_GOT_THE_INTENT.season(rulebook=engine.NoRules(), clock=clock)
    intent_seq = season.records()[-1].seq
    season.retract(intent_seq, "logged by mistake", at="2027-01-06T10:00:00-05:00")
    text = corpus("good_intent_1")
    assert first_choice(lint_message(text, "intent", season.state(), "oak")) == []


def test_without_a_program_an_existing_intent_still_counts(clock: engine.Clock) -> None:
    season = MERCY_GOT_THE_INTENT.season(rulebook=engine.NoRules(), clock=clock)
    (finding, *_) = first_choice(
        lint_message(corpus("good_intent_1"), "intent", season.state(), None)
    )
    assert finding.severity == "block" and "--program" in finding.message


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_numbers_hold_for_other_line_endings(newline: str) -> None:
    text = corpus("bad_rank_question_1").replace("\n", newline)
    (finding,) = [f for f in lint_message(text, "update", None, None) if f.severity == "block"]
    assert finding.line == 4


@pytest.mark.parametrize("action", ["inquiry", "thank_you", "update", "interest"])
def test_first_choice_outside_a_letter_of_intent_is_blocked(
    clock: engine.Clock, action: str
) -> None:
    season = TWO_INTERVIEWS.season(rulebook=engine.NoRules(), clock=clock)
    (finding, *_) = first_choice(
        lint_message(corpus("good_intent_1"), action, season.state(), "oak")
    )
    assert finding.severity == "block"


def test_unknown_action_and_program_are_input_errors(clock: engine.Clock) -> None:
    season = TWO_INTERVIEWS.season(rulebook=engine.NoRules(), clock=clock)
    with pytest.raises(engine.InputError, match="unknown action"):
        lint_message("hello", "postcard", None, None)
    with pytest.raises(engine.UnknownProgramError):
        lint_message("hello", "update", season.state(), "nowhere")


# -- prematch lint -------------------------------------------------------------------------

SEASON = (
    PROFILE.added_and_applied("mercy", "oak")
    .invite("mercy", at="2026-10-01T10:00:00-04:00", interview_on="2026-11-02")
    .invite("oak", at="2026-10-02T10:00:00-04:00", interview_on="2026-11-09")
    .interview("mercy", "2026-11-02T09:00:00-05:00")
    .interview("oak", "2026-11-09T09:00:00-05:00")
    .argv()
)


def test_lint_shows_phrase_and_line_and_exits_1(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("lint", str(CORPUS / "bad_rank_question_1.txt"), "--action", "interest")
    assert result.returncode == 1
    assert "bad_rank_question_1.txt:4: block content.rank_question" in result.stdout
    assert 'offending phrase: "where I stand on your"' in result.stdout
    assert "1 block, 1 warn, 0 info" in result.stdout


def test_lint_of_a_good_message_exits_0(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("lint", str(CORPUS / "good_interest_1.txt"), "--action", "interest")
    assert result.returncode == 0, result.stdout
    assert "0 block, 0 warn, 0 info" in result.stdout


def test_lint_warnings_alone_exit_0(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("lint", str(CORPUS / "bad_flattery_1.txt"), "--action", "thank_you")
    assert result.returncode == 0
    assert "warn content.flattery" in result.stdout


def test_lint_reads_standard_input_and_prints_json(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script("lint", "-", "--action", "update", "--json", stdin=corpus("bad_negotiation_3"))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["file"] == "-" and data["action"] == "update" and data["season"] is None
    assert data["summary"] == {"block": 1, "warn": 0, "info": 0}
    (finding,) = data["findings"]
    assert set(finding) == {"rule", "severity", "message", "source", "line", "phrase", "sentence"}
    assert finding["sentence"] == "Can you guarantee me a position if I decide to commit?"
    assert (finding["rule"], finding["line"]) == ("content.negotiation", 3)


def test_lint_checks_the_log_for_a_second_first_choice(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.setup(SEASON)
    letter = str(CORPUS / "good_intent_1.txt")
    assert script("lint", letter, "--action", "intent", "--program", "oak").returncode == 0
    script.ok("log", "intent-sent", "mercy", "--at", "2027-01-05T10:00:00-05:00")
    result = script("lint", letter, "--action", "intent", "--program", "oak", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["season"] == "test-applicant-2027"
    (first, *_) = [f for f in data["findings"] if f["rule"] == "content.first_choice"]
    assert "Mercy General IM" in first["message"]
    assert script("lint", letter, "--action", "intent", "--program", "mercy").returncode == 0
    # As of before that letter, the log did not hold it yet.
    before = script("lint", letter, "--action", "intent", "--program", "oak", "--at", "2027-01-04")
    assert before.returncode == 0


def test_lint_with_a_program_needs_a_season(tmp_path: Path) -> None:
    script = Script(tmp_path)
    result = script(
        "lint", str(CORPUS / "good_intent_1.txt"), "--action", "intent", "--program", "x"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error:")
    assert not script.db.exists()


def test_lint_of_an_unknown_program_is_an_input_error(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.setup(SEASON[:1])
    result = script(
        "lint", str(CORPUS / "good_intent_1.txt"), "--action", "intent", "--program", "x"
    )
    assert result.returncode == 2
    assert "no program 'x'" in result.stderr


# -- issue 15: what a sentence does --------------------------------------------------------

ISSUE_15 = [
    (
        "Would it be possible to let me know whether I am likely to be ranked high enough to "
        "match at your program?",
        "content.rank_question",
    ),
    (
        "I would appreciate any indication of how my application now compares with the other "
        "candidates on your rank list.",
        "content.rank_question",
    ),
    (
        "Could you tell me whether your program intends to rank me this year?",
        "content.rank_question",
    ),
    ("Is there anything I can do to move up on your rank list?", "content.rank_question"),
    (
        "I would be thrilled to rank you highly should you feel the same way about me.",
        "content.negotiation",
    ),
    (
        "Should your program see me as a strong fit for your list, I would gladly reciprocate.",
        "content.negotiation",
    ),
    ("I am ready to sign a contract with you before the Match.", "content.commitment"),
    ("I will commit if you offer me a position.", "content.commitment"),
]


@pytest.mark.parametrize(("text", "rule"), ISSUE_15)
def test_the_sentences_of_issue_15_are_blocked(text: str, rule: str) -> None:
    blocks = [f for f in lint_message(text, "update", None, None) if f.severity == "block"]
    assert [f.rule for f in blocks] == [rule]
    assert blocks[0].sentence == text and blocks[0].phrase and blocks[0].phrase in text


def test_a_sentence_that_only_contains_the_words_is_not_blocked() -> None:
    text = "If I had to rank the highlights of the day, the morning report would come first."
    assert [f.rule for f in lint_message(text, "thank_you", None, None)] == ["content.ids"]


def test_a_template_with_its_blanks_left_is_blocked() -> None:
    text = (
        "Dear Dr. [program director's last name],\n\nThank you for the interview. "
        "[One sentence on why it fits you.]\n\nSincerely,\nA. Applicant\nAAMC ID 12345678\n"
    )
    found = lint_message(text, "thank_you", None, None)
    assert [(f.rule, f.line, f.phrase) for f in found] == [
        ("content.placeholder", 1, "[program director's last name]"),
        ("content.placeholder", 3, "[One sentence on why it fits you.]"),
    ]
    assert found[1].sentence == "[One sentence on why it fits you.]"
    filled = text.replace("[program director's last name]", "Lee").replace(
        "[One sentence on why it fits you.]", "The clinic fits the work I want to do."
    )
    assert lint_message(filled, "thank_you", None, None) == []


@pytest.mark.parametrize(
    "blank", ["<program name>", "XX", "XXX", "___", "{{last_name}}", "$last_name", "[date]"]
)
def test_every_kind_of_blank_is_found(blank: str) -> None:
    found = lint_message(f"Thank you for the interview on {blank}.", "update", None, None)
    assert [(f.rule, f.phrase) for f in found if f.severity == "block"] == [
        ("content.placeholder", blank)
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Write to me at <leila.h@example.org> any time.",
        "The paper [1] is in press.",
        "He wrote 'teh' [sic] in the chart.",
        "My passport expires in 2030.",
    ],
)
def test_text_that_is_not_a_blank(text: str) -> None:
    assert not [f for f in lint_message(text, "update", None, None) if f.severity == "block"]


def test_lint_of_a_file_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    script = Script(tmp_path)
    letter = tmp_path / "letter.txt"
    letter.write_bytes("Dear Dr. Lee,\n\nThank you for the café.\n".encode("latin-1"))
    result = script("lint", str(letter), "--action", "thank_you")
    assert result.returncode == 2
    assert "not UTF-8: byte 0xe9 at offset 36" in result.stderr
    assert result.stderr.startswith("error: line 3")
    assert "save the message as UTF-8" in result.stderr


def test_lint_prints_the_sentence_and_the_phrase(tmp_path: Path) -> None:
    script = Script(tmp_path)
    text = "Dear Dr. Lee,\n\nI am ready to sign a contract with you before the Match.\n"
    data = json.loads(script("lint", "-", "--action", "update", "--json", stdin=text).stdout)
    (block,) = [f for f in data["findings"] if f["severity"] == "block"]
    assert block["rule"] == "content.commitment"
    assert block["sentence"] == "I am ready to sign a contract with you before the Match."
    assert block["phrase"] == "sign a contract with you before the Match"


def test_now_does_not_load_the_lint_machinery(tmp_path: Path) -> None:
    """The lemmas load with lint and draft only: ``prematch now`` imports none of it."""
    script = Script(tmp_path)
    script.setup(SEASON)
    probe = (
        "import sys\n"
        "from prematch.cli import main\n"
        "main(['now'], standalone_mode=False)\n"
        "lint = ('simplemma', 'prematch.policies._roles', 'prematch.policies._sentences',\n"
        "        'prematch.policies._content')\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith(lint)))\n"
    )
    env = {**os.environ, "PREMATCH_DB": str(script.db), "PREMATCH_NOW": "2027-01-15T09:00:00-05:00"}
    ran = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "LOADED []"
