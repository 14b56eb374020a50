"""The command line: check and inspect (exit codes, the documented JSON keys, the hex view), and the cli package
itself (one module per command, one exception mapping, lazy imports)."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, corpus_params
from gainmap.cli import check as check_command
from gainmap.cli.common import UsageError, exit_code
from gainmap.cli.main import COMMANDS, build_parser, main
from gainmap.errors import GainMapError, NotAJpegError
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


# ---------------------------------------------------------------------- the cli package itself
SRC = Path(__file__).resolve().parents[1] / "src" / "gainmap"


def test_every_command_has_one_module_with_configure_and_run():
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert list(sub.choices) == list(COMMANDS)  # each registered once, in the table's order
    for name in COMMANDS:
        module = importlib.import_module(f"gainmap.cli.{name}")
        assert callable(module.configure) and callable(module.run), name
    assert {p.stem for p in (SRC / "cli").glob("*.py")} == {*COMMANDS, "__init__", "__main__", "main", "common"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name, capsys):
    assert main([name, "--help"]) == 0
    assert f"usage: gainmap {name}" in capsys.readouterr().out


def test_check_imports_only_its_own_command_module():
    script = ("import sys; from gainmap.cli.main import main; main(['check', sys.argv[1]]); "
              "print(sorted(m for m in sys.modules if m.startswith('gainmap.cli.')))")
    proc = subprocess.run([sys.executable, "-c", script, str(VALID)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    loaded = proc.stdout.strip().splitlines()[-1]
    assert loaded == str(["gainmap.cli.check", "gainmap.cli.common", "gainmap.cli.main"])


def test_python_dash_m_gainmap_cli():
    proc = subprocess.run([sys.executable, "-m", "gainmap.cli", "check", str(VALID)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "no problems" in proc.stdout, proc.stderr


@pytest.mark.parametrize(("exc", "code", "message"), [
    (UsageError("x.jpg: cannot read: No such file"), 2, "x.jpg: cannot read: No such file"),
    (NotAJpegError("x.png", "a PNG, not a JPEG"), 2, "x.png: a PNG, not a JPEG"),
    (GainMapError("x.jpg: has no gain map"), 1, "x.jpg: has no gain map"),
    (PermissionError(13, "Permission denied", "out.jpg"), 2, "out.jpg: Permission denied"),
    (KeyboardInterrupt(), 130, None),
    (BrokenPipeError(32, "Broken pipe"), 0, None),
])
def test_one_mapping_from_exceptions_to_exit_codes(exc, code, message, monkeypatch, capsys):
    assert exit_code(exc) == (code, message)

    def raising(data, name):
        raise exc

    monkeypatch.setattr(check_command, "check_bytes", raising)
    assert main(["check", str(VALID)]) == code
    err = capsys.readouterr().err
    assert err == ("" if message is None else f"gainmap: {message}\n")


def test_a_command_keeps_its_own_message_prefix(tmp_path, capsys):
    assert main(["eval", "--corpus", str(tmp_path / "absent")]) == 2
    assert capsys.readouterr().err.startswith("gainmap eval: corpus folder ")
    assert main(["fuzz", "--cmd", "true", "--from", str(tmp_path / "absent.jpg"), "--count", "1"]) == 2
    assert capsys.readouterr().err.startswith(f"gainmap fuzz: {tmp_path / 'absent.jpg'}: cannot read: ")


def test_unknown_options_are_usage_errors(capsys):
    assert main(["check", "--bogus", str(VALID)]) == 2
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
    assert main(["selffuzz", "--count", "1", "--bogus"]) == 2  # only --atheris passes options on
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err
