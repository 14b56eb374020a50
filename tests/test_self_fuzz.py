"""The self-fuzz harness: the regression corpus replays clean, a short run finds nothing, and the harness
does notice exceptions, crashed checks, broken invariants and hangs."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import FIXTURES
from gainmap.analysis.checks.registry import Finding
from gainmap.cli.main import main
from gainmap.testing import selffuzz
from gainmap.testing.selffuzz import SelfInputs, exercise, exercise_bounded, load_corpus

REGRESSIONS = Path(__file__).resolve().parent / "fuzz_regressions"
CORPUS = sorted(p for p in REGRESSIONS.iterdir() if p.suffix.lower() in selffuzz.CORPUS_SUFFIXES)


def test_regression_folder_is_documented():
    assert (REGRESSIONS / "README.md").is_file()


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_regression_input_no_longer_fails(path):
    assert exercise_bounded(path.read_bytes(), 20.0) == []


@pytest.mark.parametrize("path", sorted((FIXTURES / "valid").glob("*.jpg")) + sorted(
    (FIXTURES / "broken").glob("*.jpg")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixtures_exercise_clean(path):
    assert exercise(path.read_bytes()) == []


def test_a_short_run_finds_nothing(tmp_path):
    stats = selffuzz.run(0, 40, out=tmp_path, corpus_dirs=[FIXTURES / "valid"], minimise_time=2,
                         progress=False)
    assert stats.runs == 40
    assert stats.failures == {}, stats.failures
    assert not list(tmp_path.iterdir())


def test_inputs_are_reproducible_and_varied():
    corpus = load_corpus([FIXTURES / "valid"])
    a, b = SelfInputs(3, corpus, pool_size=4), SelfInputs(3, corpus, pool_size=4)
    assert [a[i] for i in range(20)] == [b[i] for i in range(20)]
    kinds = {selffuzz._family(a[i][0]) for i in range(200)}
    assert {"targeted", "havoc", "splice", "truncate"} <= kinds


def _report(*ids: str) -> SimpleNamespace:
    return SimpleNamespace(findings=[Finding(i, message="boom", detail={"check": "x.y"}) for i in ids])


def test_harness_reports_exceptions(monkeypatch):
    def broken(data):
        raise KeyError("planted")

    monkeypatch.setattr(selffuzz, "repair", broken)
    found = exercise((FIXTURES / "valid" / "ultrahdr.jpg").read_bytes())
    assert [f.kind for f in found] == ["exception"]
    assert found[0].detail.startswith("repair: KeyError")


def test_harness_reports_crashed_checks_and_idempotence(monkeypatch):
    data = (FIXTURES / "valid" / "ultrahdr.jpg").read_bytes()

    def fake_repair(source):
        return SimpleNamespace(before=_report("internal.check-failed"), after=_report(), changed=True,
                               data=data, plan=[SimpleNamespace(name="strip-junk")])

    monkeypatch.setattr(selffuzz, "repair", fake_repair)
    kinds = sorted(f.kind for f in exercise(data))
    assert kinds == ["check-failed", "idempotence"]


def test_harness_reports_roundtrip_breaks(monkeypatch):
    real = selffuzz.read

    def lossy(data):
        gmf = real(data)
        gmf.parts.pop()
        return gmf

    monkeypatch.setattr(selffuzz, "read", lossy)
    data = (FIXTURES / "broken" / "trailing_zeros.jpg").read_bytes()
    assert "roundtrip" in {f.kind for f in exercise(data)}


def test_harness_reports_hangs(monkeypatch):
    def slow(data):
        time.sleep(5)

    monkeypatch.setattr(selffuzz, "read", slow)
    start = time.monotonic()
    found = exercise_bounded(b"\xff\xd8", 0.2)
    assert [f.kind for f in found] == ["hang"]
    assert time.monotonic() - start < 2


def test_memory_limit_is_a_soft_limit():
    import resource

    before = resource.getrlimit(resource.RLIMIT_AS)
    try:
        selffuzz.limit_memory(4096)
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        assert hard == before[1]
        assert soft != resource.RLIM_INFINITY
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


def test_command_line(tmp_path, capsys):
    code = main(["selffuzz", "--count", "12", "--seed", "5", "--out", str(tmp_path / "o"), "--corpus",
                 str(FIXTURES / "valid"), "--minimise-time", "1", "--memory-mb", "0"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "12 inputs" in out and "no failures" in out


def test_known_failures_can_be_ignored():
    found = [selffuzz.SelfFailure("idempotence", "second repair changed the file (convert-apple...)"),
             selffuzz.SelfFailure("exception", "read: KeyError at x.py:1 (f)")]
    assert [f.kind for f in selffuzz._unignored(found, ["convert-apple"])] == ["exception"]
    assert selffuzz._unignored(found, ["idempotence", "exception"]) == []
    assert selffuzz._unignored(found, []) == found
