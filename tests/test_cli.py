"""The check and inspect commands: exit codes, the documented JSON keys, the hex view."""

from __future__ import annotations

import json

import pytest

from conftest import FIXTURES, corpus_params
from gainmap.cli.main import main
from gainmap.model.reader import read

VALID = FIXTURES / "valid" / "ultrahdr.jpg"
STALE = FIXTURES / "broken" / "stale_mpf_offset.jpg"
SIX = {"mpf", "container_xmp", "hdrgm", "iso_primary", "iso_gainmap", "icc"}
VIEWERS = {"chrome", "android", "apple", "libultrahdr", "libavif"}


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_check_json_has_the_documented_keys(capsys):
    assert main(["check", "--json", str(VALID)]) == 0
    (doc,) = _json_lines(capsys.readouterr().out)
    assert doc["file"] == str(VALID)
    assert set(doc["checks"]) == SIX and all(doc["checks"].values())
    assert VIEWERS <= set(doc["viewers"])
    for verdict in doc["viewers"].values():
        assert isinstance(verdict["hdr"], bool) and isinstance(verdict["because"], list)
    for f in doc["findings"]:
        assert {"id", "severity", "offset", "length", "message"} <= set(f)


def test_check_exit_codes(tmp_path, capsys):
    assert main(["check", str(VALID)]) == 0
    assert main(["check", str(STALE)]) == 1
    assert main(["check", str(tmp_path / "missing.jpg")]) == 2
    png = tmp_path / "x.jpg"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    assert main(["check", str(png)]) == 2
    assert "PNG" in capsys.readouterr().err
    assert main(["check"]) == 2
    assert main(["frobnicate"]) == 2


def test_check_stale_mpf_names_the_offset(capsys):
    assert main(["check", "--json", str(STALE)]) == 1
    (doc,) = _json_lines(capsys.readouterr().out)
    gmf = read(STALE)
    entry = gmf.primary.first("mpf").payload_offset + gmf.primary.mpf.entries_offset + 16
    ids = {f["id"]: f for f in doc["findings"]}
    assert "mpf.entry-offset" in ids
    assert entry <= ids["mpf.entry-offset"]["offset"] < entry + 16
    assert doc["viewers"]["libultrahdr"]["hdr"] is True  # it scans for SOI and ignores MPF


def test_check_json_lines_for_several_files(capsys):
    assert main(["check", "--json", str(VALID), str(STALE)]) == 1
    docs = _json_lines(capsys.readouterr().out)
    assert [d["file"] for d in docs] == [str(VALID), str(STALE)]


def test_check_verbose_text_lists_findings_with_offsets(capsys):
    main(["check", "-v", str(STALE)])
    out = capsys.readouterr().out
    assert "mpf.entry-offset" in out and "0x" in out


def test_inspect_tree_json_and_hex(capsys):
    assert main(["inspect", str(VALID)]) == 0
    out = capsys.readouterr().out
    assert "image: primary" in out and "image: gainmap" in out and "APP2" in out
    assert main(["inspect", "--json", str(VALID)]) == 0
    doc = json.loads(capsys.readouterr().out)
    gmf = read(VALID)
    assert [p["offset"] for p in doc["parts"]] == [p.offset for p in gmf.parts]
    seg = gmf.primary.first("mpf")
    assert main(["inspect", str(VALID), "--hex", hex(seg.payload_offset + gmf.primary.mpf.entries_offset + 16 + 8)]) == 0
    assert "MP entry 1 offset" in capsys.readouterr().out
    assert main(["inspect", str(VALID), "--hex", "zz"]) == 2


@pytest.mark.parametrize("path", corpus_params())
def test_check_and_inspect_never_traceback_on_the_corpus(path, capsys):
    assert main(["check", "-v", str(path)]) in (0, 1, 2)
    assert main(["inspect", "--json", str(path)]) in (0, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err
