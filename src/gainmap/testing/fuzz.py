"""``gainmap fuzz``: feed an external decoder (or a Python callable) valid, targeted-broken and randomly damaged
gain-map files; report crashes, declared-abnormal exits, hangs and verdicts that disagree with our viewer
model; write a minimised reproducer per distinct failure.

The inputs come from :mod:`gainmap.testing`: valid files drawn across the parameter space, the same files
broken by a targeted mutator (which knows the finding ids it triggers), and untargeted byte damage.  With
``--from FILE`` the user's own file is mutated instead.  Everything is a function of ``--seed``: input ``i``
of a run is reproducible on its own.

Verdicts: the target *accepts* a file when it exits 0 (a callable: returns anything but ``False``) and
*rejects* it on any other exit code that was not declared abnormal (a callable: returns ``False`` or raises
one of ``rejects``).  Our verdict is whether the chosen viewer model (``--viewer``, default libultrahdr)
shows the file as HDR; a difference is a *disagreement*.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gainmap.errors import NotAJpegError

KINDS = ("crash", "abnormal-exit", "hang", "exception", "disagreement", "gainmap-crash")


# ---------------------------------------------------------------------------------------------- outcomes
@dataclass(frozen=True)
class Outcome:
    """What the target did with one input: ``status`` is "accepted", "rejected", or a failure kind
    ("crash", "abnormal-exit", "hang", "exception"); ``detail`` names the signal, code or exception."""

    status: str
    detail: str = ""
    output: str = ""

    @property
    def failed(self) -> bool:
        return self.status not in ("accepted", "rejected")


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


class CommandTarget:
    """Run ``template`` (``{file}`` replaced by the input's path, else appended) on each input."""

    def __init__(self, template: str, *, timeout: float = 10.0, abnormal: Iterable[int] = range(128, 256),
                 shell: bool = False, workdir: str | Path | None = None) -> None:
        self.template = template
        self.timeout = timeout
        self.abnormal = frozenset(abnormal)
        self.shell = shell
        self._tmp = tempfile.TemporaryDirectory(prefix="gainmap-fuzz-") if workdir is None else None
        self.workdir = Path(workdir or self._tmp.name)  # type: ignore[union-attr]
        self.path = self.workdir / "input.jpg"

    def argv(self, path: Path) -> list[str] | str:
        if self.shell:
            quoted = shlex.quote(str(path))
            return self.template.replace("{file}", quoted) if "{file}" in self.template \
                else f"{self.template} {quoted}"
        args = shlex.split(self.template)
        if not any("{file}" in a for a in args):
            return [*args, str(path)]
        return [a.replace("{file}", str(path)) for a in args]

    def __call__(self, data: bytes) -> Outcome:
        self.path.write_bytes(data)
        try:
            proc = subprocess.Popen(self.argv(self.path), shell=self.shell, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise ValueError(f"cannot run {self.template!r}: {exc.strerror or exc}") from None
        try:
            _, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return Outcome("hang", f"no exit within {self.timeout:g} s")
        tail = err[-2000:].decode("utf-8", "replace")
        code = proc.returncode
        if code < 0:
            return Outcome("crash", _signal_name(-code), tail)
        if code in self.abnormal:
            return Outcome("abnormal-exit", f"exit {code}", tail)
        return Outcome("accepted" if code == 0 else "rejected", f"exit {code}", tail)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the process group this target started (its own session), then reap the child."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()


class _Timeout(BaseException):
    """Raised in the main thread when an in-process call runs past its time."""


def _exception_detail(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def _quiet_child() -> None:
    """In a forked child: no fault handler dumps (a crash is the expected outcome) and no stray output."""
    import faulthandler

    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)


class CallableTarget:
    """Call ``fn(data)`` in this process (``isolate=False``) or in a forked child (``isolate=True``, POSIX),
    which also catches hard crashes (signals) of C extensions."""

    def __init__(self, fn: Callable[[bytes], object], *, timeout: float = 10.0,
                 rejects: tuple[type[BaseException], ...] = (), isolate: bool = False) -> None:
        self.fn = fn
        self.timeout = timeout
        self.rejects = rejects
        self.isolate = isolate

    def _verdict(self, data: bytes) -> Outcome:
        try:
            result = self.fn(data)
        except self.rejects as exc:  # type: ignore[misc]
            return Outcome("rejected", type(exc).__name__, str(exc)[:500])
        except _Timeout:
            raise
        except Exception as exc:
            return Outcome("exception", _exception_detail(exc), "".join(traceback.format_exception(exc))[-2000:])
        return Outcome("rejected" if result is False else "accepted")

    def __call__(self, data: bytes) -> Outcome:
        return self._forked(data) if self.isolate else self._inline(data)

    def _inline(self, data: bytes) -> Outcome:
        import threading

        timed = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
        if not timed:
            return self._verdict(data)

        def alarm(signum, frame):  # noqa: ARG001
            raise _Timeout()

        old = signal.signal(signal.SIGALRM, alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            return self._verdict(data)
        except _Timeout:
            return Outcome("hang", f"no return within {self.timeout:g} s")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def _forked(self, data: bytes) -> Outcome:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: report through the exit code and the pipe, never return
            os.close(read_fd)
            code = 70
            try:
                _quiet_child()
                out = self._verdict(data)
                os.write(write_fd, json.dumps([out.status, out.detail, out.output]).encode()[:60000])
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        deadline = time.monotonic() + self.timeout
        status = None
        while status is None:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                status = wait_status
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                os.close(read_fd)
                return Outcome("hang", f"no return within {self.timeout:g} s")
            time.sleep(0.001)
        with os.fdopen(read_fd, "rb") as fh:
            raw = fh.read()
        if os.WIFSIGNALED(status):
            return Outcome("crash", _signal_name(os.WTERMSIG(status)))
        try:
            st, detail, output = json.loads(raw)
            return Outcome(st, detail, output)
        except ValueError:
            return Outcome("crash", f"child exited {os.waitstatus_to_exitcode(status)} without a verdict")


# ---------------------------------------------------------------------------------------------- our verdict
class OurVerdict:
    """Whether our viewer model says ``viewer`` shows the file as HDR (None: we crashed; see ``error``)."""

    def __init__(self, viewer: str) -> None:
        from gainmap.analysis.checks.catalogue import catalogue

        if viewer not in catalogue().viewers:
            raise ValueError(f"unknown viewer {viewer!r}; one of {', '.join(catalogue().viewers)}")
        self.viewer = viewer
        self.error: str | None = None
        self.because: list[str] = []

    def __call__(self, data: bytes) -> bool | None:
        from gainmap.analysis.validate import check_bytes

        self.error = None
        self.because = []
        try:
            report = check_bytes(data, "<fuzz>")
        except NotAJpegError:
            self.because = ["not a JPEG"]
            return False
        except Exception as exc:  # our own bug: reported as a failure of its own
            self.error = _exception_detail(exc)
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
        from gainmap.testing.mutators import MUTATORS

        self.seed = seed
        self.base = base
        self.mutators = list(mutators) if mutators is not None else list(MUTATORS)
        unknown = [m for m in self.mutators if m not in MUTATORS]
        if unknown:
            raise ValueError(f"unknown mutator(s) {', '.join(unknown)}; see gainmap.testing.MUTATORS")
        self.mix = mix

    def __getitem__(self, index: int) -> FuzzInput:
        from gainmap.testing.generate import random_file
        from gainmap.testing.mutators import NotApplicable, havoc, mutate

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


# ---------------------------------------------------------------------------------------------- minimise
def minimise(data: bytes, still_fails: Callable[[bytes], bool], *, budget_s: float = 10.0,
             max_tests: int = 2000) -> bytes:
    """The smallest input found that still fails: first whole parts and segments are removed (delta
    debugging over the file's structure), then byte blocks of halving size.  Bounded by ``budget_s`` seconds
    and ``max_tests`` runs; the result always fails (it is ``data`` itself when nothing could go)."""
    deadline = time.monotonic() + budget_s
    cache: dict[bytes, bool] = {}
    tests = 0

    def fails(candidate: bytes) -> bool:
        nonlocal tests
        key = hashlib.sha1(candidate).digest()
        if key not in cache:
            if tests >= max_tests or time.monotonic() > deadline:
                return False
            tests += 1
            cache[key] = bool(candidate) and still_fails(candidate)
        return cache[key]

    def out_of_budget() -> bool:
        return tests >= max_tests or time.monotonic() > deadline

    pieces = _ddmin(_structure(data), fails, out_of_budget)
    best = b"".join(pieces)
    size = max(1, len(best) // 2)
    while size >= 1 and not out_of_budget():
        i = 0
        while i < len(best) and not out_of_budget():
            candidate = best[:i] + best[i + size:]
            if fails(candidate):
                best = candidate
            else:
                i += size
        size //= 2
    return best


def _structure(data: bytes) -> list[bytes]:
    """The file cut into parts: gaps whole, images into their segments (SOS with its scan data)."""
    from gainmap.model.container import JpegImage
    from gainmap.model.reader import read

    try:
        gmf = read(data)
    except Exception:  # not a JPEG (or our reader failed): bytes only
        return [data]
    pieces: list[bytes] = []
    for part in gmf.parts:
        if isinstance(part, JpegImage):
            pieces.extend(item.to_bytes() for item in part.items)
        else:
            pieces.append(part.to_bytes())
    return pieces if b"".join(pieces) == data else [data]


def _ddmin(pieces: list[bytes], fails: Callable[[bytes], bool], stop: Callable[[], bool]) -> list[bytes]:
    """Delta debugging (complements only): remove chunks of ``pieces`` while the joined rest still fails."""
    n = 2
    while len(pieces) >= 2 and not stop():
        chunk = -(-len(pieces) // n)
        for start in range(0, len(pieces), chunk):
            rest = pieces[:start] + pieces[start + chunk:]
            if rest and fails(b"".join(rest)):
                pieces = rest
                n = max(n - 1, 2)
                break
        else:
            if n >= len(pieces):
                break
            n = min(len(pieces), 2 * n)
    return pieces


# ---------------------------------------------------------------------------------------------- the loop
@dataclass
class FuzzFailure:
    """One distinct failure: its kind and detail, the input that first showed it, and the reproducer."""

    kind: str
    detail: str
    origin: str
    index: int
    data: bytes
    note: str = ""
    expected: frozenset[str] = frozenset()
    output: str = ""
    minimised: bytes | None = None
    path: Path | None = None
    hits: int = 1
    #: Other origins whose inputs minimised to the same reproducer.
    also: list[str] = field(default_factory=list)

    @property
    def signature(self) -> tuple[str, str, str]:
        return (self.kind, self.detail, self.origin)

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "detail": self.detail, "origin": self.origin, "input": self.index,
                "also": self.also, "note": self.note, "expected_ids": sorted(self.expected), "hits": self.hits,
                "size": len(self.data), "minimised_size": None if self.minimised is None else len(self.minimised),
                "file": None if self.path is None else self.path.name, "output": self.output[-1000:]}


@dataclass
class FuzzResult:
    """A fuzz run: inputs tried, time taken, target statuses, and the distinct failures."""

    runs: int = 0
    elapsed: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[FuzzFailure] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.runs / self.elapsed if self.elapsed > 0 else 0.0

    def by_kind(self) -> Counter[str]:
        return Counter(f.kind for f in self.failures)

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(self.by_kind().items())) or "none"
        accepted, rejected = self.statuses.get("accepted", 0), self.statuses.get("rejected", 0)
        return (f"{self.runs} inputs in {self.elapsed:.1f} s ({self.rate:.1f}/s); target accepted {accepted}, "
                f"rejected {rejected}; distinct failures: {kinds}")


class Progress:
    """A one-line progress display on a stream, redrawn with a carriage return at most 5 times a second."""

    def __init__(self, stream: TextIO | None, total: int | None) -> None:
        self.stream = stream
        self.total = total
        self.start = time.monotonic()
        self.last = 0.0
        self.width = 0

    def update(self, done: int, failures: Counter[str], *, force: bool = False) -> None:
        now = time.monotonic()
        if self.stream is None or (not force and now - self.last < 0.2):
            return
        self.last = now
        rate = done / (now - self.start) if now > self.start else 0.0
        total = f"/{self.total}" if self.total else ""
        kinds = " ".join(f"{k} {n}" for k, n in sorted(failures.items()))
        line = f"fuzz: {done}{total} inputs  {rate:.1f}/s  failures {sum(failures.values())}" + \
            (f" ({kinds})" if kinds else "")
        self.stream.write("\r" + line.ljust(self.width))
        self.width = len(line)
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None and self.width:
            self.stream.write("\n")
            self.stream.flush()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60] or "x"


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
        _write_index(out_dir, result, target if isinstance(target, str) else repr(target), seed, viewer)
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
        _write(out_dir, failure, len(result.failures))


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


def _write(out_dir: Path, failure: FuzzFailure, number: int) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{number:03d}-{failure.kind}-{_slug(failure.detail)}-{_slug(failure.origin)}"
    path = out_dir / f"{stem}.jpg"
    path.write_bytes(failure.minimised if failure.minimised is not None else failure.data)
    (out_dir / f"{stem}.orig.jpg").write_bytes(failure.data)
    failure.path = path


def _write_index(out_dir: Path, result: FuzzResult, target: str, seed: int, viewer: str | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    index = {"target": target, "seed": seed, "viewer": viewer, "runs": result.runs,
             "elapsed_s": round(result.elapsed, 3), "rate_per_s": round(result.rate, 2),
             "statuses": dict(result.statuses), "failures": [f.to_json() for f in result.failures]}
    (out_dir / "failures.json").write_text(json.dumps(index, indent=2) + "\n")


# ---------------------------------------------------------------------------------------------- CLI
def parse_codes(text: str) -> frozenset[int]:
    """Exit codes from "1,3,128-255" (an empty string: none)."""
    codes: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, _, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad exit code range {part!r}") from None
        if not 0 <= a <= b <= 255:
            raise argparse.ArgumentTypeError(f"exit codes must lie in 0..255: {part!r}")
        codes.update(range(a, b + 1))
    return frozenset(codes)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gainmap fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--cmd", required=True, metavar="TEMPLATE",
                   help='command to run per input, e.g. "decoder {file}" ({file}: the input path)')
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=1000, help="inputs to run (default 1000)")
    p.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS", help="per input (default 10)")
    p.add_argument("--from", dest="base", metavar="FILE", help="mutate this file instead of generated ones")
    p.add_argument("--out", default="fuzz-out", metavar="DIR", help="where reproducers go (default fuzz-out)")
    p.add_argument("--abnormal-exit", type=parse_codes, default=frozenset(range(128, 256)), metavar="CODES",
                   help='exit codes that count as failures, e.g. "1,3,128-255" (default 128-255)')
    p.add_argument("--viewer", default="libultrahdr", metavar="NAME",
                   help='our viewer model to compare verdicts with (default libultrahdr; "none" to skip)')
    p.add_argument("--mutators", default=None, metavar="NAMES", help="comma-separated mutator names")
    p.add_argument("--minimise-time", type=float, default=10.0, metavar="SECONDS",
                   help="per distinct failure (default 10; 0 keeps the original)")
    p.add_argument("--shell", action="store_true", help="run the command through the shell")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    return p


def cmd_fuzz(args: argparse.Namespace) -> int:
    """Entry point of ``gainmap fuzz``: 0 no failures, 1 failures found, 2 usage errors."""
    from gainmap.cli.main import UsageError

    parser = build_parser()
    try:
        rest = list(getattr(args, "rest", None) or [])
        opts = parser.parse_args(rest[1:] if rest[:1] == ["--"] else rest)
    except SystemExit as exc:
        return int(exc.code or 0)
    base = None
    if opts.base:
        try:
            base = Path(opts.base).read_bytes()
        except OSError as exc:
            raise UsageError(f"{opts.base}: cannot read: {exc.strerror or exc}") from None
    if opts.count is not None and opts.count < 0:
        raise UsageError("--count must be >= 0")
    viewer = None if opts.viewer.lower() == "none" else opts.viewer
    mutators = [m.strip() for m in opts.mutators.split(",") if m.strip()] if opts.mutators else None
    try:
        result = fuzz(opts.cmd, seed=opts.seed, count=opts.count, duration=opts.duration, timeout=opts.timeout,
                      base=base, out=opts.out, viewer=viewer, abnormal_exit=opts.abnormal_exit, shell=opts.shell,
                      mutators=mutators, minimise_time=opts.minimise_time,
                      progress=None if opts.quiet else sys.stderr)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    print(result.summary())
    for f in result.failures:
        size = f"{len(f.data)} -> {len(f.minimised)} bytes" if f.minimised is not None else f"{len(f.data)} bytes"
        where = f" {f.path}" if f.path else ""
        print(f"  {f.kind}: {f.detail} [{f.origin}, x{f.hits}, {size}]{where}")
    return 1 if result.failures else 0


def main(argv: list[str] | None = None) -> int:
    """``gainmap fuzz ARGS`` (the CLI passes the arguments after ``fuzz`` straight here)."""
    from gainmap.cli.main import EXIT_USAGE, UsageError

    try:
        return cmd_fuzz(argparse.Namespace(rest=list(sys.argv[1:] if argv is None else argv)))
    except UsageError as exc:
        print(f"gainmap fuzz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


__all__ = ["CallableTarget", "CommandTarget", "FuzzFailure", "FuzzInput", "FuzzResult", "InputStream", "Outcome",
           "OurVerdict", "cmd_fuzz", "fuzz", "main", "minimise", "parse_codes"]
