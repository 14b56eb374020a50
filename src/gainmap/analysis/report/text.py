"""The human-readable ``gainmap check`` output.

The six checks, one line per viewer, and with ``verbose`` every finding with its offset, message and fix.
ANSI colour only on a terminal, and never when NO_COLOR is set.
"""

from __future__ import annotations

import os
import sys
import textwrap
from typing import TYPE_CHECKING, TextIO

from gainmap.analysis.checks.catalogue import SIX, catalogue

if TYPE_CHECKING:
    from gainmap.analysis.checks.registry import Finding
    from gainmap.analysis.checks.viewers import Verdict
    from gainmap.analysis.result import ImageInfo, Report

SIX_LABELS = {"mpf": "MPF", "container_xmp": "GContainer", "hdrgm": "hdrgm", "iso_primary": "ISO primary",
              "iso_gainmap": "ISO gain map", "icc": "ICC"}
_SGR = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}
WIDTH = 100


def _wrap(text: str, indent: str, first: str = "") -> list[str]:
    """``first`` + ``text`` wrapped to :data:`WIDTH`, continuation lines indented by ``indent``."""
    lines = textwrap.wrap(text, WIDTH, initial_indent=indent + first,
                          subsequent_indent=indent + " " * len(first), break_on_hyphens=False)
    return lines or [indent + first]


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour when ``stream`` (default stdout) is a terminal and the NO_COLOR convention is not in force."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _can_encode(stream: TextIO | None, text: str) -> bool:
    encoding = getattr(sys.stdout if stream is None else stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


class _Style:
    def __init__(self, colour: bool, unicode: bool) -> None:
        self.colour = colour
        self.yes, self.no = ("✓", "✗") if unicode else ("+", "x")

    def __call__(self, text: str, *styles: str) -> str:
        if not self.colour or not styles:
            return text
        return f"\x1b[{';'.join(_SGR[s] for s in styles)}m{text}\x1b[0m"


def _where(offset: int | None, length: int | None) -> str:
    if offset is None:
        return "whole file"
    size = "" if length is None else f", {length} byte{'s' if length != 1 else ''}"
    return f"at 0x{offset:x} ({offset}){size}"


def _image_line(name: str, info: ImageInfo, extra: str = "") -> str:
    size = f"{info.width}x{info.height}" if info.width and info.height else "size unknown"
    comps = f", {info.components} channel{'s' if info.components != 1 else ''}" if info.components else ""
    return f"{name}: {size}{comps}, {info.length} bytes at 0x{info.offset:x} ({info.offset}){extra}"


def _reasons(v: Verdict, report: Report) -> str:
    """The deciding ids in words: findings by id, absent presence checks and facts as "no ..."."""
    present = {f.id for f in report.findings}
    words = []
    for cid in v.because:
        if cid.startswith("six."):
            label = SIX_LABELS.get(cid[4:], cid)
            words.append(label if report.six.get(cid[4:]) else f"no {label}")
        else:
            words.append(cid if cid in present else f"no {cid}")
    return ", ".join(words)


def _finding_lines(f: Finding, s: _Style) -> list[str]:
    spec = catalogue()[f.id]
    image = "" if f.image is None else f", image {f.image}"
    head = f"  {s(f'{f.severity:<7}', _SEVERITY_STYLE[f.severity or 'info'])} {s(f.id, 'bold')}  " \
           f"{_where(f.offset, f.length)}{image}"
    lines = [head, *_wrap(f.message or spec.title, " " * 10)]
    if f.severity != "info":
        fix = _wrap(spec.fix, " " * 10, "fix: ")
        lines += [fix[0].replace("fix:", s("fix:", "cyan"), 1), *fix[1:]]
    return lines


def render_text(report: Report, verbose: bool = False, colour: bool | str | None = "auto",
                stream: TextIO | None = None) -> str:
    """The report as text; ``colour`` is True, False or "auto"/None (for ``stream``, default stdout)."""
    s = _Style(use_colour(stream) if colour in ("auto", None) else bool(colour),
               _can_encode(stream, "✓✗"))
    cat = catalogue()
    counts = [f"{n} {sev}{'s' if n != 1 else ''}" for sev in ("error", "warning")
              if (n := report.count(sev))]
    status = ", ".join(counts) if counts else "no problems"
    tone = "red" if report.has_errors else "yellow" if counts else "green"
    lines = [f"{s(report.file, 'bold')}: {s(status, tone)}"]
    marks = [f"{s(s.yes, 'green') if report.six.get(name) else s(s.no, 'red')} {SIX_LABELS[name]}"
             for name in SIX]
    lines.append("  " + "   ".join(marks))
    if report.gainmap is not None:
        found = f"; located by {report.located_by}" if report.located_by else ""
        forms = f"; metadata: {', '.join(report.metadata)}" if report.metadata else ""
        lines.append("  " + _image_line("gain map", report.gainmap, found + forms))
    elif verbose:
        lines.append("  no gain map")
    if verbose and report.primary is not None:
        lines.append("  " + _image_line("primary", report.primary))
    width = max(len(spec.label) for spec in cat.viewers.values())
    for key, v in report.viewers.items():
        spec = cat.viewers[key]
        verdict = s("HDR", "green", "bold") if v.hdr else s("SDR", "red", "bold")
        why = f"via {v.route}" if v.hdr else _reasons(v, report)
        if v.hdr and verbose:
            why += f" ({_reasons(v, report)})"
        hedge = s(f"  [{v.evidence}]", "dim") if v.evidence != "code" else ""
        lines.append(f"  {spec.label:<{width}}  {verdict}  {why}{hedge}")
    if verbose:
        notes = [(cat.viewers[k].label, v.note) for k, v in report.viewers.items() if v.note]
        for label, note in notes:
            lines += [s(line, "dim") for line in _wrap(note, "  ", f"{label}: ")]
        if report.findings:
            lines.append("  findings:")
            for f in report.findings:
                lines += ["  " + line for line in _finding_lines(f, s)]
        else:
            lines.append("  no findings")
    elif report.findings:
        lines.append(s(f"  {len(report.findings)} finding(s); -v for offsets and fixes", "dim"))
    return "\n".join(lines) + "\n"
