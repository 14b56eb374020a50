"""What every command shares: exit codes, the usage error, reading inputs, checking outputs, printing JSON, the
progress bar of library walks, and the one place that turns an exception into a one-line message and an exit
code.

Exit codes (a stable interface): 0 clean, 1 error-level findings or a failed operation, 2 usage errors or an
unreadable input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gainmap.errors import GainMapError, NotAJpegError

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: The ``--colour-space`` choices of decode, measure and build.
COLOUR_SPACES = ("srgb", "display-p3", "bt2020")

#: A command's entry point: the parsed arguments in, the exit code out.
Run = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A problem with how the command was called, or an input it cannot read (exit 2)."""


def exit_code(exc: BaseException) -> tuple[int, str | None]:
    """The exit code for an exception the command line expects, and the one-line message to print (None: print
    nothing).  Anything else is a bug and is re-raised by :func:`run_guarded`."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, None
    if isinstance(exc, BrokenPipeError):  # the reader of our output went away (e.g. `| head`): not an error
        return EXIT_OK, None
    if isinstance(exc, (UsageError, NotAJpegError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, GainMapError):
        return EXIT_FINDINGS, str(exc)
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return EXIT_USAGE, f"{where}{exc.strerror or exc}"
    raise TypeError(f"not an exception the command line maps: {type(exc).__name__}")


#: The exceptions :func:`exit_code` maps.
EXPECTED: tuple[type[BaseException], ...] = (UsageError, GainMapError, OSError, KeyboardInterrupt)


def report_error(exc: BaseException, prog: str = "gainmap") -> int:
    """Print ``PROG: message`` for an expected exception on stderr; its exit code."""
    code, message = exit_code(exc)
    if message is not None:
        print(f"{prog}: {message}", file=sys.stderr)
    return code


def run_guarded(run: Run, args: argparse.Namespace, prog: str = "gainmap") -> int:
    """Run a command; an expected exception becomes a message on stderr and its exit code."""
    try:
        return run(args)
    except EXPECTED as exc:
        return report_error(exc, prog)


def read_input(path: str | os.PathLike[str]) -> bytes:
    """The bytes of an input file; an unreadable one is a :class:`UsageError` naming it."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None


def print_json(obj: object) -> None:
    """``obj`` as indented JSON on stdout (NaN is refused: it is not JSON)."""
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, allow_nan=False, default=str)
    sys.stdout.write("\n")


def require_finite(name: str, value: float | None, what: str = "a finite number") -> None:
    """A :class:`UsageError` when an option's value is infinite or NaN (None: not given)."""
    if value is not None and not math.isfinite(value):
        raise UsageError(f"{name} must be {what}, got {value}")


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name one file (existing or not)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def check_output(output: str, inputs: list[str], extensions: tuple[str, ...]) -> Path:
    """The output path after checking its extension, its folder, and that it is none of the inputs."""
    out = Path(output)
    for src in inputs:
        if same_file(out, src):
            raise UsageError(f"{output}: this is the input file; choose another output name "
                             "(gainmap never overwrites its input)")
    if out.suffix.lower() not in extensions:
        raise UsageError(f"{output}: unknown output type {out.suffix or '(no extension)'!r}; use one of "
                         f"{', '.join(extensions)}")
    if out.is_dir():
        raise UsageError(f"{output}: is a folder; give a file name")
    if not out.parent.is_dir():
        raise UsageError(f"{output}: folder {out.parent} does not exist")
    return out


class Progress:
    """Files done, files/s, ETA and counts per state; does nothing when stderr is not a terminal."""

    def __init__(self, total: int | None, unit: str = "file", enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.states: Counter[str] = Counter()
        self._bar: Any = None
        if self.enabled:
            from tqdm import tqdm  # only on a terminal (keeps the start-up of scripted runs cheap)

            self._bar = tqdm(total=total, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)

    def update(self, state: str) -> None:
        if self._bar is None:
            return
        self.states[state] += 1
        self._bar.update(1)
        if self._bar.n % 8 == 0 or self._bar.n == self._bar.total:
            self._bar.set_postfix_str(" ".join(f"{k}={n}" for k, n in sorted(self.states.items())),
                                      refresh=False)

    def write(self, line: str) -> None:
        """Print a line on stdout without breaking the bar."""
        if self._bar is None:
            print(line)
        else:
            self._bar.write(line, file=sys.stdout)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
