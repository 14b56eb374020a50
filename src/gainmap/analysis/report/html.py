"""The visual HTML report of a :class:`~gainmap.analysis.result.Report` (``gainmap report``; docs/report.md).

A renderer like :mod:`~gainmap.analysis.report.text` and :mod:`~gainmap.analysis.report.json`: it takes the
report and never reads or parses the file.  The byte map and pictures need the report's ``anatomy`` and
``pictures``, which the validator fills with ``check_file(..., detail=True)``; without them those sections say
so.  Pages are self-contained: CSS, script and images inline, and a Content-Security-Policy that forbids any
network request.

Per file, in this order: the verdict in words; the six checks and each viewer's verdict; the byte map; the gain
map as pictures; the metadata tables; the findings; the HDR preview (the file itself as an ``<img>`` with no
ancestor that creates a stacking context, see :mod:`~gainmap.analysis.report.html_style`).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from gainmap import __version__
from gainmap.analysis.classify import classify_report
from gainmap.analysis.report.html_bytemap import render_bytemap
from gainmap.analysis.report.html_pictures import data_uri, render_pictures
from gainmap.analysis.report.html_sections import (
    render_checks,
    render_findings,
    render_tables,
    render_verdict,
)
from gainmap.analysis.report.html_style import CSS
from gainmap.analysis.result import Report

#: No network at all: images are data URIs, CSS and script are inline.
CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'")

SECTIONS = ("verdict", "checks", "bytemap", "pictures", "metadata", "findings", "preview")
TITLES = {"verdict": "Verdict", "checks": "The six checks and each viewer", "bytemap": "Byte map",
          "pictures": "The gain map", "metadata": "Decoded metadata", "findings": "Findings",
          "preview": "HDR preview"}

PREVIEW_NOTE = ("The file itself. On an HDR display in a browser that supports gain maps (Chrome, Edge, Safari "
                "on iOS 18 / macOS 15) it shows in HDR when the verdict above says so. Nothing around this "
                "picture creates a stacking context, because iOS Safari draws a gain-map image as SDR inside one.")


def page(title: str, body: str, script: str = "", body_class: str = "") -> str:
    """A whole self-contained HTML document."""
    js = f"<script>{script}</script>" if script else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="gainmap {escape(__version__)}">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n"
            f'<body{f" class={body_class!r}" if body_class else ""}>{body}{js}</body></html>\n')


def _section(name: str, content: str, suffix: str, heading: str | None = None) -> str:
    return (f'<section id="{name}{suffix}" data-section="{name}"{" class=preview" if name == "preview" else ""}>'
            f"<h2>{escape(heading or TITLES[name])}</h2>{content}</section>")


def preview_img(report: Report, css_class: str = "", alt: str = "HDR preview") -> str:
    """The file as an ``<img>`` (the bytes the report was made from), or a note when they are not at hand."""
    if report.pictures is None:
        return '<p class="sub">No preview: the report was made without pictures.</p>'
    cls = f' class="{css_class}"' if css_class else ""
    size = ""
    if report.primary is not None and report.primary.width and report.primary.height:
        size = f' width="{report.primary.width}" height="{report.primary.height}"'
    return (f'<img{cls} data-preview="hdr" alt="{escape(alt)}"{size} '
            f'src="{data_uri(report.pictures.file_bytes, "image/jpeg")}">')


def sections(report: Report, suffix: str = "", repaired: Report | None = None) -> dict[str, str]:
    """The content of each section for one file (``suffix`` keeps ids unique on a page with several)."""
    uid = f"bm{suffix}"
    anat, pics = report.anatomy, report.pictures
    missing = '<p class="sub">Not available: the report was made without detail.</p>'
    return {
        "verdict": render_verdict(report, repaired),
        "checks": render_checks(report),
        "bytemap": render_bytemap(anat, report.findings, uid) if anat is not None else missing,
        "pictures": render_pictures(pics, uid) if pics is not None else missing,
        "metadata": render_tables(anat.tables) if anat is not None else missing,
        "findings": render_findings(report.findings),
        "preview": f'<p class="sub">{escape(PREVIEW_NOTE)}</p>{preview_img(report)}',
    }


def _header(report: Report, extra: str = "") -> str:
    size = f"{report.anatomy.size:,} bytes, " if report.anatomy is not None else ""
    return (f"<header><h1>{escape(report.file)}</h1><p class=\"sub\">{size}kind "
            f"<code>{escape(classify_report(report))}</code>{extra}; report by gainmap {escape(__version__)}"
            "</p></header>")


def render_article(report: Report, suffix: str = "", repaired: Report | None = None, extra: str = "") -> str:
    parts = sections(report, suffix, repaired)
    body = "".join(_section(name, parts[name], suffix) for name in SECTIONS)
    return f'<article data-file="{escape(report.file)}">{_header(report, extra)}{body}</article>'


def render_html(report: Report, repaired: Report | None = None, back_link: str | None = None) -> str:
    """The page for one file.  ``repaired``: the report of the file after an in-memory ``gainmap repair``,
    so the verdict can say whether repair fixes it.  ``back_link``: the index page, when there is one."""
    back = f'<p class="sub"><a href="{escape(back_link)}">&larr; all files</a></p>' if back_link else ""
    return page(f"gainmap report: {report.file}", back + render_article(report, "", repaired))


def render_many(reports: Sequence[Report], repaired: Sequence[Report | None] | None = None) -> str:
    """Several files on one page, one ``<article>`` each (ids carry the file's position as a suffix)."""
    fixes = list(repaired) if repaired is not None else [None] * len(reports)
    toc = "".join(f'<li><a href="#verdict-{i}">{escape(r.file)}</a></li>' for i, r in enumerate(reports))
    body = f"<nav><h2>{len(reports)} files</h2><ol>{toc}</ol></nav>" + "".join(
        render_article(r, f"-{i}", fixes[i]) for i, r in enumerate(reports))
    return page(f"gainmap report: {len(reports)} files", body)


def render_comparison(before: Report, after: Report, title: str, steps: Sequence[str] = ()) -> str:
    """Before and after side by side (``gainmap repair --report``, ``gainmap restore --report``): verdicts,
    six checks, byte maps, pictures and previews; the findings of both below."""
    a, b = sections(before, "-before"), sections(after, "-after")
    plan = "".join(f"<li>{escape(s)}</li>" for s in steps)
    out = [f"<header><h1>{escape(title)}</h1><p class=\"sub\">{escape(before.file)} &rarr; "
           f"{escape(after.file)}; report by gainmap {escape(__version__)}</p></header>"]
    if plan:
        out.append(f'<section id="plan" data-section="plan"><h2>What changed</h2><ol>{plan}</ol></section>')
    for name in SECTIONS:
        if name == "preview":
            continue
        out.append(f'<section id="{name}" data-section="{name}"><h2>{escape(TITLES[name])}</h2>'
                   f'<div class="pair"><div data-side="before"><h3>Before</h3>{a[name]}</div>'
                   f'<div data-side="after"><h3>After</h3>{b[name]}</div></div></section>')
    previews = (f'<div class="pair"><div data-side="before"><h3>Before</h3>{preview_img(before, alt="before")}'
                f'</div><div data-side="after"><h3>After</h3>{preview_img(after, alt="after")}</div></div>')
    out.append(f'<section id="preview" data-section="preview" class="preview"><h2>HDR preview</h2>'
               f'<p class="sub">{escape(PREVIEW_NOTE)}</p>{previews}</section>')
    return page(title, "".join(out))


__all__ = ["CSP", "SECTIONS", "page", "preview_img", "render_comparison", "render_html", "render_many"]
