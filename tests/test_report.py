"""The Report and its text and JSON renderers."""

from __future__ import annotations

import io
import json
import random
import re

import pytest

from gainmap.analysis.checks.catalogue import SIX, VIEWERS, catalogue
from gainmap.analysis.checks.gendocs import example_report
from gainmap.analysis.checks.registry import Finding
from gainmap.analysis.report import ImageInfo, Report, dumps, render_json, render_text

ANSI = re.compile(r"\x1b\[[0-9;]*m")

#: Exactly the keys docs/json-output.md documents; adding one means documenting it (and updating this test).
TOP_KEYS = ["schema_version", "file", "kind", "checks", "viewers", "findings", "summary", "primary", "gainmap"]
VIEWER_KEYS = ["hdr", "because", "route", "evidence", "note"]
FINDING_KEYS = ["id", "severity", "offset", "length", "message", "image", "title", "fix", "repair", "detail"]
IMAGE_KEYS = ["offset", "length", "width", "height", "components"]


class FakeTTY(io.StringIO):
    def __init__(self, tty: bool, encoding: str = "utf-8") -> None:
        super().__init__()
        self._tty = tty
        self._encoding = encoding

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def _report(findings=None, **info) -> Report:
    if findings is None:
        findings = [
            Finding("sync.iso-missing", image=1, message="no ISO in the gain map"),
            Finding("mpf.entry-offset", offset=76, length=4, image=0, message="entry 1 points inside the primary"),
            Finding("mpf.entry-size", offset=72, length=4, image=0, message="primary size is stale"),
            Finding("layout.trailing-data", offset=900000, length=12, message="12 bytes of zeros"),
        ]
    six = {"mpf": True, "container_xmp": True, "hdrgm": True, "icc": True}
    return Report.build("photo.jpg", six, findings, **info)


# ---------------------------------------------------------------------------------------------- Report
def test_build_fills_every_presence_check_and_sorts_findings():
    r = _report()
    assert list(r.six) == list(SIX) and r.six["iso_primary"] is False
    assert [f.offset for f in r.findings] == [72, 76, 900000, None]
    assert r.has_errors and r.count("warning") == 2 and r.count("info") == 1
    assert list(r.viewers) == list(VIEWERS)
    clean = Report.build("ok.jpg", dict.fromkeys(SIX, True), [])
    assert not clean.has_errors and all(v.hdr for v in clean.viewers.values())


# ---------------------------------------------------------------------------------------------- JSON
def test_json_has_exactly_the_documented_keys():
    r = _report(primary=ImageInfo(0, 708622, 3033, 2268, 3), gainmap=ImageInfo(708622, 21010, 758, 566, 1),
                located_by="scan", metadata=("hdrgm",))
    out = render_json(r)
    assert list(out) == TOP_KEYS
    assert out["file"] == "photo.jpg" and out["schema_version"] == 1
    assert list(out["checks"]) == ["mpf", "container_xmp", "hdrgm", "iso_primary", "iso_gainmap", "icc"]
    assert all(isinstance(v, bool) for v in out["checks"].values())
    assert {"chrome", "android", "apple", "libultrahdr", "libavif"} <= set(out["viewers"])
    for v in out["viewers"].values():
        assert list(v) == VIEWER_KEYS
        assert isinstance(v["hdr"], bool) and all(isinstance(i, str) for i in v["because"])
    for f in out["findings"]:
        assert list(f) == FINDING_KEYS
        assert f["title"] == catalogue()[f["id"]].title
    assert list(out["primary"]) == IMAGE_KEYS
    assert list(out["gainmap"]) == [*IMAGE_KEYS, "located_by", "metadata"]
    assert out["gainmap"]["metadata"] == ["hdrgm"]
    assert out["summary"] == {"errors": 1, "warnings": 2, "infos": 1}


def test_json_matches_the_verdicts_and_findings():
    r = _report()
    out = render_json(r)
    assert out["viewers"]["libavif"] == {"hdr": False, "because": ["mpf.entry-offset"], "route": None,
                                         "evidence": "code", "note": r.viewers["libavif"].note}
    assert out["viewers"]["chrome"]["hdr"] is True and out["viewers"]["chrome"]["route"] == "gcontainer"
    first = out["findings"][0]
    assert (first["id"], first["severity"], first["offset"], first["length"]) == ("mpf.entry-size", "warning", 72, 4)
    assert first["repair"] == "recompute-mpf"
    assert out["findings"][-1]["offset"] is None and out["findings"][-1]["repair"] == "iso-from-hdrgm"
    assert out["primary"] is None and out["gainmap"] is None


def test_json_is_serialisable_with_odd_details():
    f = Finding("mpf.entry-offset", offset=1, length=4,
                detail={"raw": b"\x01\xff", "pair": (1, 2), "nan": float("nan"), "set": {3, 1}, "obj": object()})
    out = json.loads(dumps(_report([f])))
    detail = out["findings"][0]["detail"]
    assert detail["raw"] == "01ff" and detail["pair"] == [1, 2] and detail["nan"] == "nan"
    assert detail["set"] == [1, 3] and isinstance(detail["obj"], str)


def test_json_is_stable_whatever_the_order_of_findings():
    findings = _report().findings
    shuffled = findings[:]
    random.Random(4).shuffle(shuffled)
    assert dumps(_report(shuffled)) == dumps(_report(findings))
    assert "\n" not in dumps(_report())  # one line per file


def test_json_docs_example_is_real_output():
    from gainmap.analysis.checks.gendocs import json_markdown

    example = dumps(example_report(), indent=2)
    assert example in json_markdown()
    assert json.loads(example)["viewers"]["libavif"]["because"] == ["mpf.entry-offset"]


# ---------------------------------------------------------------------------------------------- text
def test_text_shows_the_six_checks_and_a_line_per_viewer():
    text = render_text(_report(), colour=False)
    lines = text.splitlines()
    assert lines[0] == "photo.jpg: 1 error, 2 warnings"
    assert "✓ MPF" in lines[1] and "✗ ISO primary" in lines[1] and "✓ ICC" in lines[1]
    labels = [spec.label for spec in catalogue().viewers.values()]
    viewer_lines = [line for line in lines if line.split() and line.split()[0] in labels]
    assert [line.split()[0] for line in viewer_lines] == labels
    by_label = {line.split()[0]: line for line in viewer_lines}
    assert "HDR" in by_label["Chrome"] and "via gcontainer" in by_label["Chrome"]
    assert "SDR" in by_label["libavif"] and "mpf.entry-offset" in by_label["libavif"]
    assert "[reported]" in by_label["Apple"] and "[reported]" not in by_label["Chrome"]
    assert "0x4c" not in text  # offsets only with -v
    assert not ANSI.search(text)


def test_text_explains_missing_checks_in_words():
    text = render_text(Report.build("plain.jpg", {}, []), colour=False)
    assert "no problems" in text.splitlines()[0]
    assert "SDR  no MPF" in text
    assert "no ISO gain map" in text


def test_verbose_text_lists_every_finding_with_offsets_and_fixes():
    r = _report(primary=ImageInfo(0, 708622, 3033, 2268, 3), gainmap=ImageInfo(708622, 21010, 758, 566, 1))
    text = render_text(r, verbose=True, colour=False)
    assert "mpf.entry-offset  at 0x4c (76), 4 bytes, image 0" in text
    assert "entry 1 points inside the primary" in text
    assert "fix: Recompute the offsets" in text
    assert "sync.iso-missing  whole file" in text
    assert "gain map: 758x566, 1 channel, 21010 bytes at 0xad00e (708622)" in text
    listing = text[text.index("findings:"):]
    assert listing.index("mpf.entry-size") < listing.index("mpf.entry-offset") < listing.index("layout.trailing")
    assert "Apple: Reported" in text
    assert max(len(line) for line in text.splitlines()) <= 110


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    r = _report()
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ANSI.search(render_text(r, stream=FakeTTY(True)))
    assert not ANSI.search(render_text(r, stream=FakeTTY(False)))
    assert ANSI.search(render_text(r, colour=True, stream=FakeTTY(False)))
    monkeypatch.setenv("NO_COLOR", "1")
    assert not ANSI.search(render_text(r, stream=FakeTTY(True)))
    coloured = render_text(r, colour=True)
    assert ANSI.sub("", coloured) == render_text(r, colour=False)


def test_ascii_terminal_gets_ascii_marks():
    text = render_text(_report(), colour=False, stream=FakeTTY(False, encoding="ascii"))
    text.encode("ascii")
    assert "+ MPF" in text and "x ISO primary" in text


@pytest.mark.parametrize("verbose", [False, True])
def test_text_is_stable(verbose):
    findings = _report().findings
    shuffled = list(reversed(findings))
    assert render_text(_report(shuffled), verbose, False) == render_text(_report(findings), verbose, False)
