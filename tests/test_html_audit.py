"""``prematch audit --format html``: one self-contained page, and what a browser shows of it.

The structure is checked by parsing the page; the picture by rendering it in headless
Chromium and decoding the screenshot (PNG, read here with zlib and struct only): it must
not be blank, and the marks of the events with findings must show in red and orange.
The fixture installs Chromium when it is missing (``apt-get install chromium`` as root)
and skips, saying why, only when that is impossible. The commands run in process
(:class:`prematch_script.Script`); Chromium, the one subprocess, is the browser itself.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from history import PROFILE
from prematch_script import NOW, Script

from prematch.cli._html import COLORS, Band, verdict_bands
from prematch.engine import Season, Store, fixed_clock, parse_instant
from prematch.policies import Rulebook

SEASON = (
    *PROFILE.added_and_applied("mercy", "oak", "pine").argv(),
    (
        "log",
        "invited",
        "mercy",
        "--interview-on",
        "2026-11-02",
        "--at",
        "2026-10-01T10:00:00-04:00",
    ),
    ("log", "invited", "oak", "--interview-on", "2026-11-09", "--at", "2026-10-02T10:00:00-04:00"),
    ("log", "interviewed", "mercy", "--at", "2026-11-02T09:00:00-05:00"),
    ("log", "thanked", "mercy", "--at", "2026-11-03T08:00:00-05:00"),
    ("log", "interviewed", "oak", "--at", "2026-11-09T09:00:00-05:00"),
    # Late (more than 48 h): a warn finding.
    ("log", "thanked", "oak", "--at", "2026-11-13T09:00:00-05:00"),
    # A second thank-you: blocked by thanks.once, recorded with an override.
    ("log", "thanked", "mercy", "--at", "2026-11-20T09:00:00-05:00", "--override", "asked to"),
    ("news", "exam", "Passed USMLE Step 3", "--at", "2026-12-10T19:00:00-05:00"),
    ("log", "update-sent", "mercy", "--at", "2026-12-14T10:00:00-05:00"),
    ("log", "interest-sent", "oak", "--at", "2027-01-05T09:30:00-05:00"),
)


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Script:
    """The season above, built once (the tests only read it)."""
    script = Script(tmp_path_factory.mktemp("html-audit"))
    script.setup(SEASON)
    return script


def page(script: Script) -> tuple[Path, dict[str, object]]:
    out = script.tmp / "audit.html"
    result = script("audit", "--format", "html", "--out", str(out))
    assert result.returncode == 1, result.stderr  # the overridden block is still a block
    assert result.stdout == ""
    report = json.loads(script("audit", "--json").stdout)
    return out, report


class Elements(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def marks(self) -> list[dict[str, str]]:
        """The timeline's marks (whatever their shape), each with its ``tag``."""
        return [{**a, "tag": t} for t, a in self.tags if "mark" in a.get("class", "").split()]

    def all(self, tag: str, cls: str = "") -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and (not cls or cls in a.get("class", "").split())
        ]


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


# -- structure -----------------------------------------------------------------------------


def test_page_structure(season: Script) -> None:
    out, report = page(season)
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    doc = parse(html)
    assert len(doc.all("svg", "timeline")) == 1
    rows = doc.all("text", "row")
    assert [r["data-program"] for r in rows] == ["", "mercy", "oak", "pine"]
    history = json.loads(season.ok("history", "--json").stdout)["events"]
    marks = doc.marks()
    assert sorted(int(m["data-seq"]) for m in marks) == sorted(e["seq"] for e in history)
    kinds = {e["seq"]: e["type"] for e in history}
    for m in marks:  # the kind of event by its shape (and class): a thank-you a circle, ...
        tag, classes = m["tag"], m["class"].split()
        if kinds[int(m["data-seq"])] == "thanked":
            assert (tag, "message") == ("circle", classes[1])
        if kinds[int(m["data-seq"])] == "interviewed":
            assert (tag, "interview") == ("rect", classes[1])
        if kinds[int(m["data-seq"])] == "invited":
            assert (tag, "invitation") == ("polygon", classes[1])
    findings = report["findings"]  # type: ignore[index]
    block_seqs = {f["seq"] for f in findings if f["severity"] == "block"}
    warn_seqs = {f["seq"] for f in findings if f["severity"] == "warn"} - block_seqs
    assert block_seqs and warn_seqs
    marks_of = {sev: [m for m in marks if sev in m["class"].split()] for sev in ("block", "warn")}
    assert {int(m["data-seq"]) for m in marks_of["block"]} == block_seqs
    assert {int(m["data-seq"]) for m in marks_of["warn"]} == warn_seqs
    assert all(m["fill"] == COLORS["block"] for m in marks_of["block"])
    legend = " ".join(doc.text)
    for shape_label in ("message sent", "interview", "invitation", "block finding"):
        assert shape_label in legend
    names = [t for t in doc.text if "IM" in t]
    assert "Mercy General IM" in names and not any("…" in t for t in doc.text)  # never clipped
    bands = doc.all("rect", "band")
    assert len(bands) == 1  # mercy's letter of interest: the one window still open
    table = [a for t, a in doc.tags if t == "tr" and "data-seq" in a]
    assert len(table) == len(findings)
    assert Counter(a["class"] for a in table) == Counter(f["severity"] for f in findings)
    text = " ".join(doc.text)
    assert "thanks.once" in text and "asked to" in text  # the rule and the override reason


def test_a_name_too_long_for_the_timeline_is_cut_not_drawn_over_the_chart(
    season: Script, tmp_path: Path
) -> None:
    """A 150-character program name ran into the chart's markers; it is cut with "…" to
    the labels' column and stays whole in its tooltip (wide characters count two)."""
    long = Script(tmp_path).copy_of(season.db)
    name = "Université de Montréal — 東京大学 Internal Medicine Residency Program " * 3
    long.ok("program", "add", "longname", "--name", name.strip(), "--at", "2026-09-21")
    out, _ = page(long)
    doc = parse(out.read_text(encoding="utf-8"))
    shown = [t for t in doc.text if t.startswith("Université")]
    assert shown[0].rstrip().endswith("…") and name.strip() in shown  # cut, whole tooltip
    assert len(shown[0]) < len(name.strip())


def test_bands_are_the_windows_that_can_still_be_used(season: Script) -> None:
    """A band only where the action can still happen (DESIGN §4), as the engine's verdicts
    give it as of the page: mercy's letter of interest (14 days after its last message, the
    second thank-you, until the rank list deadline); no thank-you band, both were sent, and
    nothing for oak, whose letter went out too."""
    with Store.open(season.db, create=False) as store:
        opened = Season.open(store, rulebook=Rulebook(), clock=fixed_clock(parse_instant(NOW)))
        state = opened.state()
        bands = verdict_bands(opened, state)
        interest = opened.check("interest", "mercy", parse_instant(NOW))
    deadline = state.calendar.rank_list_deadline
    assert bands == {
        "mercy": [Band(datetime(2026, 12, 4, 14, tzinfo=UTC), deadline, "letter_band")],
        "oak": [],
    }
    assert (interest.opens_at, interest.closes_at) == (bands["mercy"][0].start, deadline)


def test_page_is_self_contained(season: Script) -> None:
    out, _ = page(season)
    html = out.read_text(encoding="utf-8")
    doc = parse(html)
    assert not [t for t, _ in doc.tags if t in ("script", "link", "img", "iframe", "object")]
    assert not [a for _, a in doc.tags if "src" in a or "href" in a]
    for needle in ("url(", "@import", "http://", "https://"):
        assert needle not in html


def test_page_goes_to_standard_output_without_out(season: Script) -> None:
    result = season("audit", "--format", "html")
    assert result.returncode == 1
    assert result.stdout.startswith("<!DOCTYPE html>") and result.stdout.rstrip().endswith(
        "</html>"
    )


def test_a_season_without_findings_says_so(tmp_path: Path) -> None:
    script = Script(tmp_path)
    script.setup(SEASON[:4])
    result = script("audit", "--format", "html")
    assert result.returncode == 0
    assert "No rule was broken." in result.stdout


def test_html_of_every_season_is_one_page_linking_to_each_report(season: Script) -> None:
    result = season("audit", "--format", "html", "--all")
    assert result.returncode == 1, result.stderr  # the season's overridden block
    elements = Elements()
    elements.feed(result.stdout)
    links = [a["href"] for tag, a in elements.tags if tag == "a"]
    sections = {a["id"] for tag, a in elements.tags if tag == "section"}
    assert links == [f"#{section}" for section in sorted(sections)] and len(links) == 1


# -- what a browser shows -------------------------------------------------------------------

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def install_chromium() -> str:
    """Try ``apt-get install chromium``; return why it failed (empty when it worked)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "not running as root, so `apt-get install -y chromium` cannot be tried here"
    apt = shutil.which("apt-get")
    if apt is None:
        return "there is no apt-get on this machine to install it with"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    why = ""
    for command in ([apt, "install", "-y", "-q", "chromium"], [apt, "update", "-q"]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"{' '.join(command)} failed: {e}"
        if command[1] == "install" and done.returncode == 0:
            return ""
        why = f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-300:]}"
    done = subprocess.run(
        [apt, "install", "-y", "-q", "chromium"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if done.returncode == 0:
        return ""
    return why + f"; then apt-get install exited {done.returncode}: {done.stderr.strip()[-300:]}"


@pytest.fixture(scope="module")
def chromium() -> str:
    """A headless Chromium, installed if missing; the test skips only if that is impossible."""
    found = find_chromium()
    if found is None:
        why = install_chromium()
        found = find_chromium()
        if found is None:
            pytest.skip(
                "headless Chromium is not installed and could not be installed "
                f"({why or 'apt-get reported success but no chromium binary appeared'})"
            )
    return found


def screenshot(
    browser: str, html: Path, png: Path, width: int = 1200, *, dark: bool = False
) -> None:
    profile = png.parent / "chromium-profile"
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={width},900",
        *(["--force-dark-mode", "--blink-settings=preferredColorScheme=0"] if dark else []),
        f"file://{html}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert png.exists() and png.stat().st_size > 0, (done.returncode, done.stderr[-2000:])


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Width, height and every pixel of an 8-bit, non-interlaced RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = depth = colour = interlace = 0
    while pos < len(data):
        (length, kind) = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert depth == 8 and interlace == 0 and colour in (2, 6), (depth, colour, interlace)
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    raw = zlib.decompress(bytes(idat))
    prev = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        pixels.extend(tuple(line[i : i + 3]) for i in range(0, stride, bpp))
        prev = line
    return width, height, pixels


def near(pixel: tuple[int, ...], hex_colour: str, tolerance: int = 40) -> bool:
    target = bytes.fromhex(hex_colour.lstrip("#"))
    return sum(abs(p - t) for p, t in zip(pixel, target, strict=False)) <= tolerance


@pytest.mark.parametrize("width", [1400, 800])
def test_screenshot_is_not_blank_and_shows_the_findings(
    season: Script, chromium: str, width: int
) -> None:
    out, _ = page(season)
    png = season.tmp / f"audit-{width}.png"
    screenshot(chromium, out, png, width)
    got_width, height, pixels = png_pixels(png.read_bytes())
    assert (got_width, height) == (width, 900)
    counts = Counter(pixels)
    _, most = counts.most_common(1)[0]
    assert len(counts) >= 32, f"only {len(counts)} colours: the page looks blank"
    assert len(pixels) - most >= 0.03 * len(pixels), "almost every pixel is the background"
    red = sum(n for colour, n in counts.items() if near(colour, COLORS["block"]))
    orange = sum(n for colour, n in counts.items() if near(colour, COLORS["warn"]))
    assert red >= 30, f"{red} pixels of the block colour"
    assert orange >= 30, f"{orange} pixels of the warn colour"
    for kind in ("message", "interview", "invitation"):  # the kinds told apart by colour too
        shown = sum(n for colour, n in counts.items() if near(colour, COLORS[kind], 20))
        assert shown >= 20, f"{shown} pixels of the {kind} colour"


def test_screenshot_in_dark_mode_is_dark(season: Script, chromium: str) -> None:
    out, _ = page(season)
    png = season.tmp / "audit-dark.png"
    screenshot(chromium, out, png, 1400, dark=True)
    _, _, pixels = png_pixels(png.read_bytes())
    background, _ = Counter(pixels).most_common(1)[0]
    assert sum(background) < 3 * 60, f"the background {background} is not dark"
