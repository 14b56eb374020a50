"""Fuzz targets: run an external command or a Python callable on one input and classify what it did.

The target *accepts* a file when it exits 0 (a callable: returns anything but ``False``) and *rejects* it on any
other exit code that was not declared abnormal (a callable: returns ``False`` or raises one of ``rejects``);
crashes (signals), declared-abnormal exits, hangs and unexpected exceptions are failures.
"""

from __future__ import annotations

import faulthandler
import json
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path


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


def exception_detail(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}{where}"


def _quiet_child() -> None:
    """In a forked child: no fault handler dumps (a crash is the expected outcome) and no stray output."""
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
        except self.rejects as exc:
            return Outcome("rejected", type(exc).__name__, str(exc)[:500])
        except _Timeout:
            raise
        except Exception as exc:
            return Outcome("exception", exception_detail(exc), "".join(traceback.format_exception(exc))[-2000:])
        return Outcome("rejected" if result is False else "accepted")

    def __call__(self, data: bytes) -> Outcome:
        return self._forked(data) if self.isolate else self._inline(data)

    def _inline(self, data: bytes) -> Outcome:
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
