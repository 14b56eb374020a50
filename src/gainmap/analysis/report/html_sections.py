"""The text sections of the HTML report: the verdict in words, the six checks and the viewer verdicts, the
metadata tables and the findings.  Each element that a test compares with the JSON report carries the value
as a ``data-`` attribute.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from html import escape

from gainmap import __version__
from gainmap.analysis.anatomy import Table
from gainmap.analysis.checks.catalogue import SIX, catalogue, spec_text
from gainmap.analysis.checks.registry import Finding
from gainmap.analysis.checks.viewers import Verdict
from gainmap.analysis.report.text import SIX_LABELS
from gainmap.analysis.result import Report


def model_version() -> str:
    """Which viewer model the verdicts reflect: gainmap's version and a digest of specs/viewers.toml."""
    digest = hashlib.sha256(spec_text("viewers.toml").encode("utf-8")).hexdigest()[:12]
    return f"gainmap {__version__}, viewer model specs/viewers.toml sha256:{digest}"


#: Names that keep their capital at the start of a reason.
_NAMES = {"Apple", "Adobe", "Android", "Chrome", "Exif", "Google", "Lightroom", "Photoshop", "Pixel", "Samsung",
          "Skia", "Ultra"}


def _lower_first(text: str) -> str:
    """"The primary ..." becomes "the primary ..."; names and acronyms ("Apple HDR ...", "MPF index") keep
    their capitals."""
    first = text.split(" ", 1)[0]
    plain = first[1:] == first[1:].lower() and first.rstrip(",:;") not in _NAMES
    return text[:1].lower() + text[1:] if plain else text


def reason_words(cid: str, report: Report) -> str:
    """One deciding id in words: a presence check that failed, a finding by its title, a missing fact."""
    cat = catalogue()
    title = _lower_first(cat[cid].title if cid in cat else SIX_LABELS.get(cid[4:], cid))
    if cid.startswith("six."):
        return title if report.six.get(cid[4:]) else f"there is no {title}"
    if any(f.id == cid for f in report.findings):
        return title
    return f"no {title}"


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdict_words(report: Report, repaired: Report | None = None) -> str:
    """The verdict in one sentence (plain text): where it is HDR, where SDR and why, and whether repair helps.

    ``repaired`` is the report of the repaired bytes, when the caller ran ``gainmap repair`` in memory."""
    cat = catalogue()
    hdr = [cat.viewers[k].label for k, v in report.viewers.items() if v.hdr]
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, v in report.viewers.items():
        if not v.hdr:
            groups.setdefault(tuple(v.because[:2]), []).append(cat.viewers[key].label)
    if report.gainmap is None and not hdr and not any(report.six.values()):
        return "SDR everywhere: a plain JPEG with no gain map and no gain-map metadata."
    parts = [f"HDR in {_join(hdr)}"] if hdr else []
    for because, labels in groups.items():
        why = _join([reason_words(c, report) for c in because]) if because else "no route applies"
        parts.append(f"SDR in {_join(labels)} because {why}")
    sentence = "; ".join(parts) if parts else "no viewer modelled"
    if report.gainmap is None:
        sentence = f"No gain-map image found. {sentence[:1].upper()}{sentence[1:]}"
    if hdr and not groups:
        sentence = f"HDR in every modelled viewer ({_join(hdr)})"
    if repaired is not None:
        gained = [cat.viewers[k].label for k, v in repaired.viewers.items()
                  if v.hdr and not report.viewers[k].hdr]
        lost = [cat.viewers[k].label for k, v in repaired.viewers.items()
                if not v.hdr and report.viewers[k].hdr]
        if gained and not lost:
            sentence += f"; `gainmap repair` fixes it (then HDR in {_join(gained)} too)"
        elif groups and not gained:
            sentence += "; `gainmap repair` cannot fix this on its own"
        fixed_errors = report.count("error") - repaired.count("error")
        if not groups and fixed_errors > 0:
            sentence += f"; `gainmap repair` clears {fixed_errors} error(s)"
    return sentence + "."


def render_verdict(report: Report, repaired: Report | None = None) -> str:
    counts = [f"{n} {s}{'s' if n != 1 else ''}" for s in ("error", "warning", "info") if (n := report.count(s))]
    words = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(verdict_words(report, repaired)))
    return (f'<p class="verdict-words" data-verdict="words">{words}</p>'
            f'<p class="sub">{escape(", ".join(counts) or "no findings")}</p>')


def _reasons_cell(v: Verdict, report: Report) -> str:
    words = [reason_words(c, report) for c in v.because]
    return escape("; ".join(words) if words else "-")


def render_checks(report: Report) -> str:
    """The six presence checks, then one row per viewer with its verdict, route, deciding reasons, evidence."""
    cat = catalogue()
    six = "".join(
        f'<li data-check="{name}" data-pass="{str(report.six.get(name, False)).lower()}">'
        f'<span class="{"pass" if report.six.get(name) else "fail"}">{"✓" if report.six.get(name) else "✗"}'
        f"</span> {escape(SIX_LABELS[name])} <span class=\"sub\">{escape(cat['six.' + name].title)}</span></li>"
        for name in SIX)
    rows = []
    for key, v in report.viewers.items():
        spec = cat.viewers[key]
        badge = '<span class="hdr">HDR</span>' if v.hdr else '<span class="sdr">SDR</span>'
        route = escape(v.route or "-")
        because = " ".join(escape(c) for c in v.because)
        rows.append(
            f'<tr data-viewer="{escape(key)}" data-hdr="{str(v.hdr).lower()}" data-because="{because}" '
            f'data-route="{escape(v.route or "")}"><td title="{escape(spec.covers)}">{escape(spec.name)}</td>'
            f"<td>{badge}</td><td>{route}</td><td>{_reasons_cell(v, report)}<div class=\"sub mono\">{because}"
            f"</div></td><td>{escape(v.evidence)}{_note(v)}</td></tr>")
    images = []
    for name, info in (("primary", report.primary), ("gain map", report.gainmap)):
        if info is not None:
            size = f"{info.width}x{info.height}" if info.width else "no frame"
            images.append(f"{name} {size}, {info.length:,} bytes at {info.offset:,}")
    located = f"; gain map located by {report.located_by}" if report.located_by else ""
    forms = f"; metadata: {', '.join(report.metadata)}" if report.metadata else ""
    return (f'<ul class="six">{six}</ul>'
            f'<p class="sub">{escape("; ".join(images) + located + forms)}</p>'
            '<table data-table="viewers"><tr><th>viewer</th><th>verdict</th><th>route</th><th>deciding reason</th>'
            f'<th>evidence</th></tr>{"".join(rows)}</table>'
            f'<p class="sub" data-model-version="">Verdicts from {escape(model_version())}.</p>')


def _note(v: Verdict) -> str:
    return f'<details class="note"><summary>note</summary><div>{escape(v.note)}</div></details>' if v.note else ""


def render_tables(tables: Sequence[Table]) -> str:
    if not tables:
        return '<p class="sub">No gain-map metadata in the file.</p>'
    out = []
    for t in tables:
        head = "".join(f"<th>{escape(c)}</th>" for c in t.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in t.rows)
        out.append(f"<h3>{escape(t.title)}</h3><table><tr>{head}</tr>{body}</table>")
    return "".join(out)


def render_findings(findings: Sequence[Finding]) -> str:
    """Every finding with its offset, message and fix, as a table whose rows carry the id and offset."""
    if not findings:
        return '<p class="sub">No findings.</p>'
    cat = catalogue()
    rows = []
    for f in findings:
        spec = cat[f.id]
        where = "whole file" if f.offset is None else f"@{f.offset:,} (0x{f.offset:X})"
        length = "" if f.length is None else f"{f.length:,}"
        fix = "" if f.severity == "info" else escape(spec.fix)
        repair = f'<div class="sub">repair action: <code>{escape(spec.repair)}</code></div>' if spec.repair else ""
        rows.append(
            f'<tr data-id="{escape(f.id)}" data-severity="{escape(f.severity or "")}" '
            f'data-offset="{"" if f.offset is None else f.offset}">'
            f'<td class="sev-{escape(f.severity or "info")}">{escape(f.severity or "")}</td>'
            f'<td><code>{escape(f.id)}</code><div class="sub">{escape(spec.title)}</div></td>'
            f'<td class="mono">{where}</td><td class="num mono">{length}</td>'
            f"<td>{escape(f.message or spec.title)}</td><td>{fix}{repair}</td></tr>")
    return ('<table data-table="findings"><tr><th>severity</th><th>id</th><th>offset</th><th>length</th>'
            f'<th>what</th><th>fix</th></tr>{"".join(rows)}</table>')


__all__ = ["model_version", "reason_words", "render_checks", "render_findings", "render_tables",
           "render_verdict", "verdict_words"]
