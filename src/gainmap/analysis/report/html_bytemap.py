"""The byte map of the HTML report: the whole file as a bar of parts and segments at positions proportional to
their offsets, each block hover-able (offset, length, decoded meaning), problems in red at their offsets, and
the MPF / GContainer pointers as arrows to where they land; then each image's header zoomed in.

Every bar carries ``data-start`` / ``data-end`` (the byte range it shows) and every block ``data-offset`` /
``data-length``, so a browser test can check that blocks sit where their offsets say.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from gainmap.analysis.anatomy import Anatomy, Block, Pointer
from gainmap.analysis.checks.registry import Finding

#: Blocks drawn per bar at most (a damaged file can have thousands of tiny segments); the table lists all.
MAX_BLOCKS = 1500
#: Pixel width the label heuristic assumes for a bar (labels that would not fit are left to the tooltip).
_BAR_PX = 1100

ROLE_NAMES = {"primary": "primary image", "gainmap": "gain map", "gap": "junk between images",
              "trailer": "bytes after the last image", "other": "other image"}


def _pct(offset: int, start: int, end: int) -> float:
    return 100.0 * (offset - start) / max(end - start, 1)


def _where(offset: int, length: int | None = None) -> str:
    size = "" if length is None else f", {length} byte{'s' if length != 1 else ''}"
    return f"@{offset} (0x{offset:X}){size}"


def _role_class(role: str) -> str:
    return role if role in ("primary", "gainmap", "gap", "trailer") else "other"


def _block(b: Block, start: int, end: int, show_label: bool = True) -> str:
    left = _pct(b.offset, start, end)
    right = _pct(min(b.end, end), start, end)
    width = max(right - left, 0.0)
    label = escape(b.label)
    tip = escape("\n".join([f"{b.label}  {_where(b.offset, b.length)}", *b.meaning]))
    fits = show_label and width / 100 * _BAR_PX >= 7 * len(b.label) + 6
    text = f'<span class="lbl">{label}</span>' if fits else ""
    return (f'<div class="blk r-{_role_class(b.role)} k-{escape(b.kind)}" tabindex="0" data-offset="{b.offset}" '
            f'data-length="{b.length}" data-label="{label}" style="left:{left:.5f}%;width:{width:.5f}%">'
            f'{text}<span class="tip">{tip}</span></div>')


def _problems(findings: Iterable[Finding], start: int, end: int) -> list[str]:
    out = []
    for f in findings:
        if f.offset is None or f.severity == "info" or not start <= f.offset <= end:
            continue
        tip = escape(f"{f.id}  {_where(f.offset, f.length)}\n{f.message}")
        out.append(f'<div class="prob" data-offset="{f.offset}" data-id="{escape(f.id)}" '
                   f'style="left:{_pct(f.offset, start, end):.5f}%"><span class="tip">{tip}</span></div>')
    return out


def _bar(kind: str, blocks: Sequence[Block], start: int, end: int, findings: Sequence[Finding],
         name: str) -> str:
    inside = [b for b in blocks if b.offset < end and b.end > start and b.offset >= start][:MAX_BLOCKS]
    body = "".join(_block(b, start, end) for b in inside)
    return (f'<div class="bar {kind}" data-start="{start}" data-end="{end}" aria-label="{escape(name)}">'
            f'{body}{"".join(_problems(findings, start, end))}</div>')


def _axis(start: int, end: int) -> str:
    marks = [start + (end - start) * i // 4 for i in range(5)]
    return '<div class="axis">' + "".join(f"<span>{m:,}</span>" for m in marks) + "</div>"


def _arrows(pointers: Sequence[Pointer], start: int, end: int, uid: str) -> str:
    shown = [p for p in pointers if p.target is not None and start <= p.source <= end][:12]
    if not shown:
        return ""
    defs = "".join(
        f'<marker id="{uid}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for name, colour in (("ok", "#1a7f37"), ("bad", "#cf222e")))
    lines = []
    for i, p in enumerate(shown):
        assert p.target is not None
        x1 = f"{_pct(p.source, start, end):.4f}%"
        x2 = f"{_pct(min(max(p.target, start), end), start, end):.4f}%"
        y = 8 + 9 * (i % 4)
        colour, mark = ("#1a7f37", "ok") if p.lands else ("#cf222e", "bad")
        title = escape(f"{p.label}: field {_where(p.source)} points to {_where(p.target)}; {p.note}")
        style = f'stroke="{colour}" stroke-width="2"'
        lines.append(f'<g class="ptr" data-source="{p.source}" data-target="{p.target}" '
                     f'data-lands="{str(p.lands).lower()}"><title>{title}</title>'
                     f'<line x1="{x1}" y1="46" x2="{x1}" y2="{y}" {style}/>'
                     f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" {style}/>'
                     f'<line x1="{x2}" y1="{y}" x2="{x2}" y2="45" {style} marker-end="url(#{uid}-{mark})"/></g>')
    return f'<svg class="arrows" role="img" aria-label="pointers"><defs>{defs}</defs>{"".join(lines)}</svg>'


#: Metadata segments get their own colours in the zoomed header bars (as in html_style.CSS).
_KIND_SWATCHES = (("mpf", "MPF", "#0b7285"), ("iso21496", "ISO 21496-1", "#d9480f"), ("xmp", "XMP", "#2b8a3e"),
                  ("icc", "ICC", "#ae3ec9"), ("exif", "Exif / JFIF", "#495057"))


def _legend(anat: Anatomy) -> str:
    roles = dict.fromkeys(_role_class(b.role) for b in anat.parts)
    colours = {"primary": "#3b6fb6", "gainmap": "#8a4fbf", "gap": "#8c959f", "trailer": "#8c959f",
               "other": "#2f8f83"}
    items = [f'<span><i class="sw" style="background:{colours[r]}"></i>{ROLE_NAMES[r]}</span>' for r in roles]
    kinds = {b.kind for b in anat.segments}
    items += [f'<span><i class="sw" style="background:{colour}"></i>{name}</span>'
              for kind, name, colour in _KIND_SWATCHES if kind in kinds]
    items.append('<span><i class="sw" style="background:#cf222e"></i>problem at its offset</span>')
    if anat.pointers:
        items.append('<span><i class="sw" style="background:#1a7f37"></i>pointer that lands on an image</span>')
    return '<div class="legend-row">' + "".join(items) + "</div>"


def _pointer_list(pointers: Sequence[Pointer]) -> str:
    if not pointers:
        return '<p class="sub">No MPF or GContainer pointers to other images.</p>'
    rows = "".join(
        f'<tr><td>{escape(p.label)}</td><td class="mono">{_where(p.source)}</td>'
        f'<td class="mono">{"-" if p.target is None else _where(p.target)}</td>'
        f'<td class="{"pass" if p.lands else "fail"}">{escape(p.note)}</td></tr>' for p in pointers)
    return f"<table><tr><th>pointer</th><th>field</th><th>points to</th><th></th></tr>{rows}</table>"


def _segment_table(anat: Anatomy) -> str:
    rows = "".join(
        f'<tr><td>{escape(ROLE_NAMES.get(b.role, b.role))}</td><td>{escape(b.label)}</td>'
        f'<td class="num mono">{b.offset:,}</td><td class="num mono">{b.length:,}</td>'
        f'<td>{"<br>".join(escape(m) for m in b.meaning)}</td></tr>'
        for b in anat.segments[:MAX_BLOCKS] if b.kind not in ("dqt", "dht"))
    return ("<details><summary>Every segment as a table (quantisation and Huffman tables left out)</summary>"
            "<table><tr><th>image</th><th>segment</th><th>offset</th><th>length</th><th>meaning</th></tr>"
            f"{rows}</table></details>")


def render_bytemap(anat: Anatomy, findings: Sequence[Finding], uid: str = "bm") -> str:
    """The byte-map section body for one file; ``uid`` keeps SVG ids unique when a page has two maps."""
    size = anat.size
    out = [_legend(anat), f"<h3>The whole file: {size:,} bytes</h3>", _arrows(anat.pointers, 0, size, uid),
           _bar("parts", anat.parts, 0, size, findings, "parts of the file"),
           _bar("segs", anat.segments, 0, size, findings, "segments of the file"), _axis(0, size)]
    for part in anat.parts:
        if part.kind != "image":
            continue
        segs = [b for b in anat.segments if part.offset <= b.offset < part.end]
        if not segs:
            continue
        sos = next((b for b in segs if b.kind == "sos"), None)
        head_end = sos.offset + min(sos.length, max(64, (sos.offset - part.offset) // 12)) if sos else part.end
        out += [f"<h3>Header of the {escape(part.label)} (bytes {part.offset:,} to {head_end:,})</h3>",
                _bar("segs zoom", segs, part.offset, head_end, findings, f"header of the {part.label}"),
                _axis(part.offset, head_end)]
    out += ["<h3>Pointers</h3>", _pointer_list(anat.pointers), _segment_table(anat)]
    return f'<div class="bytemap">{"".join(out)}</div>'


__all__ = ["render_bytemap"]
