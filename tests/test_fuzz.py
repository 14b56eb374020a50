"""``gainmap fuzz``: finds the bug planted in a small faulty decoder, minimises the reproducer, reports hangs,
abnormal exits, exceptions and verdict disagreements, and is reproducible from its seed."""

from __future__ import annotations

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import textwrap

import pytest

from gainmap.cli.common import UsageError
from gainmap.cli.fuzz import parse_codes
from gainmap.cli.fuzz import run as run_fuzz
from gainmap.cli.main import build_parser, main
from gainmap.testing import FileSpec, build_file
from gainmap.testing.fuzz import CallableTarget, CommandTarget, InputStream, fuzz, minimise


def fuzz_command(argv: list[str]) -> int:
    """``gainmap fuzz ARGV`` without the error mapping of the command line: a usage error raises."""
    return run_fuzz(build_parser(["fuzz"]).parse_args(["fuzz", *argv]))


MPF_MUTATORS = ["mpf-count", "mpf-extra-entry", "mpf-offset", "mpf-size", "mpf-byte-order", "mpf-version"]

#: A decoder with a planted bug: it aborts when the MPF NumberOfImages is 3, rejects files without MPF.
FAULTY = textwrap.dedent("""\
    import os, struct, sys
    data = open(sys.argv[1], "rb").read()
    i = data.find(b"MPF\\x00")
    if i < 0:
        sys.exit(1)
    t = i + 4
    e = ">" if data[t:t + 2] == b"MM" else "<"
    try:
        ifd = t + struct.unpack_from(e + "I", data, t + 4)[0]
        n = struct.unpack_from(e + "H", data, ifd)[0]
        for k in range(min(n, 32)):
            tag, typ, cnt, val = struct.unpack_from(e + "HHI4s", data, ifd + 2 + 12 * k)
            if tag == 0xB001 and struct.unpack(e + "I", val)[0] == 3:
                os.abort()
    except struct.error:
        sys.exit(1)
    sys.exit(0)
    """)


def number_of_images(data: bytes) -> int | None:
    """The same MPF walk in-process (for the callable tests)."""
    i = data.find(b"MPF\x00")
    if i < 0:
        return None
    t = i + 4
    e = ">" if data[t:t + 2] == b"MM" else "<"
    try:
        ifd = t + struct.unpack_from(e + "I", data, t + 4)[0]
        n = struct.unpack_from(e + "H", data, ifd)[0]
        for k in range(min(n, 32)):
            tag, _typ, _cnt, val = struct.unpack_from(e + "HHI4s", data, ifd + 2 + 12 * k)
            if tag == 0xB001:
                return struct.unpack(e + "I", val)[0]
    except struct.error:
        return None
    return None


@pytest.fixture
def faulty(tmp_path):
    path = tmp_path / "faulty_decoder.py"
    path.write_text(FAULTY)
    return f"{sys.executable} {path} {{file}}"


def test_cli_finds_the_planted_crash_and_minimises_it(tmp_path, faulty, capsys):
    out = tmp_path / "out"
    code = fuzz_command([
        "--cmd", faulty, "--seed", "1", "--count", "30", "--viewer", "none", "--out", str(out),
        "--mutators", "mpf-count,mpf-extra-entry,mpf-offset", "--minimise-time", "15", "--quiet"])
    # the minimiser stops when it converges (about 1 s on an idle machine); the budget only matters under load
    assert code == 1
    printed = capsys.readouterr().out
    assert "crash: SIGABRT" in printed
    index = json.loads((out / "failures.json").read_text())
    crashes = [f for f in index["failures"] if f["kind"] == "crash"]
    assert crashes and all(f["detail"] == "SIGABRT" for f in crashes)
    first = crashes[0]
    repro = (out / first["file"]).read_bytes()
    original = (out / first["file"].replace(".jpg", ".orig.jpg")).read_bytes()
    assert len(repro) < len(original) / 4
    assert number_of_images(repro) == 3
    for data in (repro, original):
        (tmp_path / "r.jpg").write_bytes(data)
        argv = faulty.replace("{file}", str(tmp_path / "r.jpg")).split()
        assert subprocess.run(argv).returncode == -6  # still aborts


def test_command_target_outcomes(tmp_path):
    script = tmp_path / "t.py"
    script.write_text("import sys, time\nd = open(sys.argv[1], 'rb').read()\n"
                      "if d == b'hang': time.sleep(30)\nsys.exit(d[0] if d else 0)\n")
    target = CommandTarget(f"{sys.executable} {script}", timeout=1.0, abnormal=parse_codes("3,128-255"))
    try:
        assert target(b"\x00").status == "accepted"
        assert target(b"\x01").status == "rejected"
        assert (target(b"\x03").status, target(b"\x03").detail) == ("abnormal-exit", "exit 3")
        assert target(bytes([139])).status == "abnormal-exit"
        hang = target(b"hang")
        assert hang.status == "hang"
    finally:
        target.close()


def test_shell_mode_and_default_file_argument(tmp_path):
    target = CommandTarget("test -s", shell=True)
    try:
        assert target(b"x").status == "accepted"
        assert target(b"").status == "rejected"
    finally:
        target.close()


def test_hangs_are_reported(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(30)\n")
    result = fuzz(f"{sys.executable} {script} {{file}}", count=2, timeout=0.5, viewer=None, minimise_time=0)
    assert result.statuses["hang"] == 2
    assert [f.kind for f in result.failures] and all(f.kind == "hang" for f in result.failures)


def _planted(data: bytes) -> bool:
    n = number_of_images(data)
    if n is None:
        return False
    return [0, 1, 2][n]  # IndexError when NumberOfImages >= 3: the planted bug


def test_callable_exception_is_found_and_minimised():
    result = fuzz(_planted, rejects=(), count=80, seed=2, viewer=None, mutators=MPF_MUTATORS, minimise_time=3)
    found = [f for f in result.failures if f.kind == "exception"]
    assert found, result.summary()
    f = found[0]
    assert f.detail.startswith("IndexError at test_fuzz.py")
    assert f.minimised is not None and len(f.minimised) < len(f.data) / 4
    with pytest.raises(IndexError):
        _planted(f.minimised)


def _abort_on_three(data: bytes) -> bool:
    if number_of_images(data) == 3:
        os.abort()
    return True


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_isolated_callable_catches_hard_crashes():
    target = CallableTarget(_abort_on_three, isolate=True, timeout=5)
    spec = build_file(FileSpec())
    assert target(spec).status == "accepted"
    from gainmap.testing import MUTATORS

    three = MUTATORS["mpf-extra-entry"](spec, 0).data
    outcome = target(three)
    assert (outcome.status, outcome.detail) == ("crash", "SIGABRT")


def test_disagreements_with_our_model_are_reported():
    # A "decoder" that accepts everything disagrees with our libultrahdr model on every broken file.
    result = fuzz(lambda data: True, count=25, seed=3, viewer="libultrahdr", minimise_time=0)
    dis = [f for f in result.failures if f.kind == "disagreement"]
    assert dis
    assert all(f.detail.startswith("target decodes; our libultrahdr model says no HDR") for f in dis)
    # ... and one that rejects everything disagrees wherever our model expects HDR.
    result = fuzz(lambda data: False, count=25, seed=3, viewer="libultrahdr", minimise_time=0)
    assert result.failures
    assert all(f.detail == "target rejects; our libultrahdr model says HDR" for f in result.failures)


def test_unknown_viewer_and_mutator_are_usage_errors():
    with pytest.raises(UsageError):
        fuzz_command(["--cmd", "true", "--viewer", "netscape", "--count", "1"])
    with pytest.raises(UsageError):
        fuzz_command(["--cmd", "true", "--mutators", "nope", "--count", "1"])
    with pytest.raises(UsageError, match="cannot run"):
        fuzz_command(["--cmd", "/no/such/decoder {file}", "--count", "1", "--quiet"])
    assert main(["fuzz", "--count", "1"]) == 2  # --cmd is required


def test_input_stream_is_a_function_of_seed_and_index():
    a, b = InputStream(4), InputStream(4)
    assert [a[i].data for i in (0, 5, 9)] == [b[i].data for i in (0, 5, 9)]
    assert a[5].data != InputStream(5)[5].data
    origins = {InputStream(4)[i].origin.split(":")[0] for i in range(40)}
    assert origins == {"valid", "mutator", "havoc"}


def test_from_file_mutates_the_users_file(tmp_path, faulty):
    base = build_file(FileSpec(seed=11))
    stream = InputStream(0, base=base)
    assert stream[0].data == base and stream[0].origin == "from-file"
    assert all(stream[i].data != base for i in range(1, 10))
    path = tmp_path / "mine.jpg"
    path.write_bytes(base)
    code = fuzz_command(["--cmd", faulty, "--from", str(path), "--count", "5", "--viewer", "none",
                         "--out", str(tmp_path / "o"), "--quiet", "--mutators", "mpf-offset"])
    assert code in (0, 1)
    assert json.loads((tmp_path / "o" / "failures.json").read_text())["runs"] == 5


def test_minimise_structure_then_bytes():
    data = build_file(FileSpec(extended_xmp=300))

    def fails(candidate: bytes) -> bool:
        return b"MPF\x00" in candidate and b"ICC_PROFILE" in candidate

    small = minimise(data, fails, budget_s=20)
    assert fails(small)
    assert len(small) <= len(b"MPF\x00") + len(b"ICC_PROFILE")
    assert minimise(b"abc", lambda d: False, budget_s=1) == b"abc"


def test_minimise_respects_its_budget():
    import time

    data = bytes(range(256)) * 8
    start = time.monotonic()

    def slow(candidate: bytes) -> bool:
        time.sleep(0.01)
        return b"\x10\x11" in candidate

    out = minimise(data, slow, budget_s=0.3)
    assert time.monotonic() - start < 2
    assert slow(out)


def test_parse_codes():
    assert parse_codes("1,3,128-130") == {1, 3, 128, 129, 130}
    assert parse_codes("") == frozenset()
    with pytest.raises(argparse.ArgumentTypeError):
        parse_codes("5-300")


def test_progress_line_shows_rate_and_failures():
    stream = io.StringIO()
    fuzz(lambda data: True, count=3, seed=0, viewer="libultrahdr", minimise_time=0, progress=stream)
    text = stream.getvalue()
    assert "\r" in text and "/s" in text and "failures" in text and text.endswith("\n")


def test_gainmap_fuzz_command_line(tmp_path, faulty, capsys):
    code = main(["fuzz", "--cmd", faulty, "--count", "3", "--viewer", "none", "--out", str(tmp_path / "o"),
                 "--mutators", "mpf-offset", "--quiet"])
    assert code in (0, 1)
    assert "3 inputs" in capsys.readouterr().out
    assert main(["fuzz", "--cmd", "/no/such/decoder", "--count", "1", "--quiet"]) == 2
    assert "cannot run" in capsys.readouterr().err
