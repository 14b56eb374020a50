"""Fuzz an external decoder (or a Python callable): feed it valid, targeted-broken and randomly damaged gain-map
files; report crashes, declared-abnormal exits, hangs and verdicts that disagree with our viewer model; write a
minimised reproducer per distinct failure.  The command line is ``gainmap fuzz`` (:mod:`gainmap.cli.fuzz`).

The inputs come from :mod:`gainmap.testing`: valid files drawn across the parameter space, the same files
broken by a targeted mutator (which knows the finding ids it triggers), and untargeted byte damage.  With
``base`` the user's own file is mutated instead.  Everything is a function of ``seed``: input ``i`` of a run is
reproducible on its own.

Verdicts (:mod:`gainmap.testing.targets`): the target accepts or rejects each file.  Our verdict is whether the
chosen viewer model (default libultrahdr) shows the file as HDR; a difference is a *disagreement*.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.validate import check_bytes
from gainmap.errors import NotAJpegError
from gainmap.testing.fuzz_report import FuzzFailure, FuzzResult, Progress, write_failure, write_index
from gainmap.testing.generate import random_file
from gainmap.testing.minimise import minimise
from gainmap.testing.mutators import MUTATORS, NotApplicable, havoc, mutate
from gainmap.testing.targets import CallableTarget, CommandTarget, Outcome, exception_detail

KINDS = ("crash", "abnormal-exit", "hang", "exception", "disagreement", "gainmap-crash")


# ---------------------------------------------------------------------------------------------- our verdict
class OurVerdict:
    """Whether our viewer model says ``viewer`` shows the file as HDR (None: we crashed; see ``error``)."""

    def __init__(self, viewer: str) -> None:
        if viewer not in catalogue().viewers:
            raise ValueError(f"unknown viewer {viewer!r}; one of {', '.join(catalogue().viewers)}")
        self.viewer = viewer
        self.error: str | None = None
        self.because: list[str] = []

    def __call__(self, data: bytes) -> bool | None:
        self.error = None
        self.because = []
        try:
            report = check_bytes(data, "<fuzz>")
        except NotAJpegError:
            self.because = ["not a JPEG"]
            return False
        except Exception as exc:  # our own bug: reported as a failure of its own
            self.error = exception_detail(exc)
            return None
        verdict = report.viewers[self.viewer]
        self.because = list(verdict.because)
        return verdict.hdr


# ---------------------------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class FuzzInput:
    """One input: its bytes, where it came from ("valid", "mutator:NAME", "havoc", "from-file"), a note,
    and the finding ids a targeted mutator advertised."""

    index: int
    data: bytes
    origin: str
    note: str = ""
    expected: frozenset[str] = frozenset()


class InputStream:
    """Input ``i`` is a function of (seed, i): a valid generated file, a targeted mutation of one, or
    untargeted damage; with ``base``, mutations of that file instead."""

    def __init__(self, seed: int = 0, base: bytes | None = None, mutators: Iterable[str] | None = None,
                 mix: tuple[float, float, float] = (0.15, 0.55, 0.30)) -> None:
        self.seed = seed
        self.base = base
        self.mutators = list(mutators) if mutators is not None else list(MUTATORS)
        unknown = [m for m in self.mutators if m not in MUTATORS]
        if unknown:
            raise ValueError(f"unknown mutator(s) {', '.join(unknown)}; see gainmap.testing.MUTATORS")
        self.mix = mix

    def __getitem__(self, index: int) -> FuzzInput:
        rng = random.Random(f"gainmap-fuzz/{self.seed}/{index}")
        if self.base is not None:
            source, origin = self.base, "from-file"
            if index == 0:
                return FuzzInput(index, source, origin, "the file as given")
        else:
            spec, source = random_file(rng)
            origin = "valid"
        roll = rng.random()
        valid_share, targeted_share, _ = self.mix
        if self.base is None and roll < valid_share:
            return FuzzInput(index, source, origin, spec.describe())
        if roll < valid_share + targeted_share:
            try:
                m = mutate(source, rng, self.mutators)
            except (NotApplicable, NotAJpegError):
                pass
            else:
                return FuzzInput(index, m.data, f"mutator:{m.name}", m.note, m.expected)
        if rng.random() < 0.3:
            try:
                source = mutate(source, rng, self.mutators).data
            except (NotApplicable, NotAJpegError):
                pass
        return FuzzInput(index, havoc(source, rng), "havoc", "random byte damage")


# ---------------------------------------------------------------------------------------------- the loop
def fuzz(target: Callable[[bytes], object] | str, *, seed: int = 0, count: int | None = 1000,
         duration: float | None = None, timeout: float = 10.0, base: bytes | None = None,
         out: str | Path | None = None, viewer: str | None = "libultrahdr",
         abnormal_exit: Iterable[int] = range(128, 256), rejects: tuple[type[BaseException], ...] = (),
         isolate: bool = False, shell: bool = False, mutators: Iterable[str] | None = None,
         minimise_time: float = 10.0, progress: TextIO | None = None) -> FuzzResult:
    """Fuzz ``target``: a command template (``"decoder {file}"``) or a callable taking the file's bytes.

    Runs ``count`` inputs (or until ``duration`` seconds pass, whichever comes first), classifies each
    target outcome, compares verdicts with our model of ``viewer`` (None: no comparison), and keeps one
    :class:`FuzzFailure` per distinct (kind, detail, origin), minimised for up to ``minimise_time`` seconds
    (0: not minimised) and written to ``out`` when given (``NNN-kind-detail.jpg``, the original as
    ``.orig.jpg``, and ``failures.json``).
    """
    if count is None and duration is None:
        raise ValueError("fuzz needs a count or a duration")
    run: Callable[[bytes], Outcome]
    if isinstance(target, str):
        run = CommandTarget(target, timeout=timeout, abnormal=abnormal_exit, shell=shell)
    else:
        run = CallableTarget(target, timeout=timeout, rejects=rejects, isolate=isolate)
    ours = OurVerdict(viewer) if viewer else None
    stream = InputStream(seed, base, mutators)
    out_dir = Path(out) if out is not None else None
    result = FuzzResult()
    seen: dict[tuple[str, str, str], FuzzFailure] = {}
    bar = Progress(progress, count)
    start = time.monotonic()
    try:
        index = 0
        while (count is None or index < count) and (duration is None or time.monotonic() - start < duration):
            item = stream[index]
            index += 1
            outcome = run(item.data)
            result.statuses[outcome.status] += 1
            failure = _classify(item, outcome, ours)
            result.runs = index
            if failure is not None:
                _record(failure, seen, result, run, ours, minimise_time, out_dir)
            bar.update(index, result.by_kind())
        result.elapsed = time.monotonic() - start
        bar.update(result.runs, result.by_kind(), force=True)
    finally:
        bar.finish()
        if isinstance(run, CommandTarget):
            run.close()
    if out_dir is not None:
        write_index(out_dir, result, target if isinstance(target, str) else repr(target), seed, viewer)
    return result


def _record(failure: FuzzFailure, seen: dict[tuple[str, str, str], FuzzFailure], result: FuzzResult,
            run: Callable[[bytes], Outcome], ours: OurVerdict | None, minimise_time: float,
            out_dir: Path | None) -> None:
    """Count a repeat, or minimise, de-duplicate (same reproducer from another origin) and write a new one."""
    known = seen.get(failure.signature)
    if known is not None:
        known.hits += 1
        return
    if minimise_time > 0:
        failure.minimised = minimise(failure.data, _same_failure(failure, run, ours), budget_s=minimise_time)
        twin = next((f for f in result.failures if f.minimised == failure.minimised
                     and (f.kind, f.detail) == (failure.kind, failure.detail)), None)
        if twin is not None:  # the same bug reached from another origin
            twin.hits += 1
            twin.also.append(failure.origin)
            seen[failure.signature] = twin
            return
    seen[failure.signature] = failure
    result.failures.append(failure)
    if out_dir is not None:
        write_failure(out_dir, failure, len(result.failures))


def _classify(item: FuzzInput, outcome: Outcome, ours: OurVerdict | None) -> FuzzFailure | None:
    if outcome.failed:
        return FuzzFailure(outcome.status, outcome.detail, item.origin, item.index, item.data, item.note,
                           item.expected, outcome.output)
    if ours is None:
        return None
    hdr = ours(item.data)
    if hdr is None:
        return FuzzFailure("gainmap-crash", f"gainmap check raised {ours.error}", item.origin, item.index,
                           item.data, item.note, item.expected)
    accepted = outcome.status == "accepted"
    if accepted == hdr:
        return None
    detail = _disagreement(accepted, ours)
    return FuzzFailure("disagreement", detail, item.origin, item.index, item.data, item.note, item.expected,
                       outcome.output)


def _disagreement(accepted: bool, ours: OurVerdict) -> str:
    if accepted:
        why = f" because {', '.join(ours.because[:2])}" if ours.because else ""
        return f"target decodes; our {ours.viewer} model says no HDR{why}"
    return f"target rejects; our {ours.viewer} model says HDR"


def _same_failure(failure: FuzzFailure, run: Callable[[bytes], Outcome], ours: OurVerdict | None
                  ) -> Callable[[bytes], bool]:
    """The predicate a reproducer must keep satisfying while it is minimised: same kind and detail."""
    def still_fails(data: bytes) -> bool:
        outcome = run(data)
        if failure.kind in ("crash", "abnormal-exit", "hang", "exception"):
            return outcome.status == failure.kind and outcome.detail == failure.detail
        if failure.kind == "gainmap-crash":
            return ours is not None and ours(data) is None and f"gainmap check raised {ours.error}" == failure.detail
        if outcome.failed or ours is None:
            return False
        hdr = ours(data)
        return hdr is not None and (outcome.status == "accepted") != hdr and \
            _disagreement(outcome.status == "accepted", ours) == failure.detail
    return still_fails


__all__ = ["KINDS", "CallableTarget", "CommandTarget", "FuzzFailure", "FuzzInput", "FuzzResult", "InputStream",
           "Outcome", "OurVerdict", "fuzz", "minimise"]
