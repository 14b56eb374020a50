"""Helpers shared by the check-family tests: run the validator (or one family's checks) and pick findings."""

from __future__ import annotations

from collections.abc import Iterable

from conftest import FIXTURES
from gainmap.analysis.checks.registry import Finding, registered, run_checks
from gainmap.analysis.validate import CheckContext, check_bytes
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read


def valid(name: str = "ultrahdr.jpg") -> bytes:
    return (FIXTURES / "valid" / name).read_bytes()


def module_findings(data: bytes, modules: Iterable[str], gmf: GainMapFile | None = None) -> list[Finding]:
    """Findings of the checks defined in ``modules`` only; no check may fail internally."""
    names = set(modules)
    gmf = gmf if gmf is not None else read(data)
    out = run_checks(CheckContext(gmf, data), [rc for rc in registered() if rc.fn.__module__ in names])
    assert not [f for f in out if f.id == "internal.check-failed"], out
    return out


def report_findings(data: bytes, fid: str | None = None) -> list[Finding]:
    """Findings of the whole validator (optionally one id); no check may fail internally."""
    report = check_bytes(data, "variant.jpg")
    assert not [f for f in report.findings if f.id == "internal.check-failed"], report.findings
    return [f for f in report.findings if fid is None or f.id == fid]


def only(data: bytes, fid: str) -> list[Finding]:
    """The validator's findings with id ``fid``, which must be reported."""
    found = report_findings(data, fid)
    assert found, f"{fid} not reported; got {sorted({f.id for f in report_findings(data)})}"
    return found


def ids(found: list[Finding]) -> set[str]:
    return {f.id for f in found}


def get(found: list[Finding], fid: str) -> list[Finding]:
    hits = [f for f in found if f.id == fid]
    assert hits, (fid, found)
    return hits
