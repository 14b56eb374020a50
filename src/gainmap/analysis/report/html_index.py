"""The index page of ``gainmap report DIR -r -o OUTDIR/``: one row per file, sortable by any column and
filterable by name, kind, a viewer's verdict and a finding id, each row linking to the file's own page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np
from PIL import Image

from gainmap.analysis.checks.catalogue import SIX, catalogue
from gainmap.analysis.classify import classify_report
from gainmap.analysis.report.html import page
from gainmap.analysis.report.html_pictures import encode_image
from gainmap.analysis.report.html_style import INDEX_JS
from gainmap.analysis.report.text import SIX_LABELS
from gainmap.analysis.result import Report

#: Height of the thumbnails in the index, in pixels.
MINI_HEIGHT = 40


@dataclass(frozen=True)
class IndexEntry:
    """One row: the file's report and page, or why there is none (``error``)."""

    file: str
    href: str | None
    report: Report | None = None
    error: str = ""
    size: int | None = None


def _mini(report: Report) -> str:
    pics = report.pictures
    if pics is None or pics.sdr is None:
        return ""
    h, w = pics.sdr.shape[:2]
    width = max(1, round(w * MINI_HEIGHT / h))
    small = np.asarray(Image.fromarray(pics.sdr).resize((width, MINI_HEIGHT), Image.Resampling.BOX))
    return f'<img class="mini" alt="" width="{width}" height="{MINI_HEIGHT}" src="{encode_image(small, "JPEG", 70)}">'


def _row(entry: IndexEntry, viewers: Sequence[str]) -> str:
    name = escape(entry.file)
    link = f'<a href="{escape(entry.href)}">{name}</a>' if entry.href else name
    size = "" if entry.size is None else f"{entry.size:,}"
    size_sort = "" if entry.size is None else str(entry.size)
    r = entry.report
    if r is None:
        return (f'<tr data-file="{name}" data-kind="unreadable" data-hdr="" data-sdr="" data-findings="">'
                f'<td></td><td>{link}</td><td>unreadable</td><td colspan="{len(viewers) + 2}" class="fail">'
                f'{escape(entry.error)}</td><td class="num" data-sort="{size_sort}">{size}</td></tr>')
    kind = classify_report(r)
    hdr = " ".join(k for k, v in r.viewers.items() if v.hdr)
    sdr = " ".join(k for k, v in r.viewers.items() if not v.hdr)
    ids = sorted({f.id for f in r.findings})
    six = "".join(f'<span class="vd {"y" if r.six.get(n) else "n"}" title="{escape(SIX_LABELS[n])}">'
                  f'{"✓" if r.six.get(n) else "✗"}</span>' for n in SIX)
    cells = "".join(
        f'<td data-viewer="{k}" data-sort="{int(r.viewers[k].hdr)}">'
        f'<span class="{"hdr" if r.viewers[k].hdr else "sdr"}">{"HDR" if r.viewers[k].hdr else "SDR"}</span></td>'
        if k in r.viewers else "<td></td>" for k in viewers)
    problems = [f for f in ids if any(x.id == f and x.severity != "info" for x in r.findings)]
    shown = ", ".join(problems[:3]) + (f" +{len(problems) - 3}" if len(problems) > 3 else "")
    return (f'<tr data-file="{name}" data-kind="{escape(kind)}" data-hdr="{hdr}" data-sdr="{sdr}" '
            f'data-findings="{escape(" ".join(ids))}"><td>{_mini(r)}</td><td class="name">{link}</td>'
            f'<td>{escape(kind)}</td>{cells}<td data-sort="{sum(r.six.values())}">{six}</td>'
            f'<td class="num" data-sort="{r.count("error") * 1000 + r.count("warning")}">'
            f'{r.count("error")} / {r.count("warning")}<div class="sub mono ids" title="{escape(", ".join(problems))}">'
            f'{escape(shown)}</div></td>'
            f'<td class="num" data-sort="{size_sort}">{size}</td></tr>')


def render_index(entries: Sequence[IndexEntry], title: str = "gainmap report") -> str:
    """The index page for ``entries``."""
    cat = catalogue()
    viewers = list(cat.viewers)
    kinds = sorted({classify_report(e.report) if e.report else "unreadable" for e in entries})
    ids = sorted({f.id for e in entries if e.report for f in e.report.findings})
    kind_opts = "".join(f'<option value="{escape(k)}">{escape(k)}</option>' for k in kinds)
    viewer_opts = "".join(f'<option value="{k}:{s}">{escape(cat.viewers[k].label)} {s.upper()}</option>'
                          for k in viewers for s in ("hdr", "sdr"))
    id_opts = "".join(f'<option value="{escape(i)}">{escape(i)}</option>' for i in ids)
    head = "".join(f"<th>{escape(cat.viewers[k].label)}</th>" for k in viewers)
    rows = "".join(_row(e, viewers) for e in entries)
    hdr_any = sum(1 for e in entries if e.report and any(v.hdr for v in e.report.viewers.values()))
    body = (f"<header><h1>{escape(title)}</h1><p class=\"sub\">{len(entries)} files; {hdr_any} show HDR in at "
            "least one modelled viewer. Click a column to sort; click a file for its report.</p></header>"
            '<div class="filters"><input id="q" type="search" placeholder="file name" aria-label="file name">'
            f'<select id="kind" aria-label="kind"><option value="">any kind</option>{kind_opts}</select>'
            f'<select id="viewer" aria-label="viewer verdict"><option value="">any verdict</option>{viewer_opts}'
            f'</select><select id="finding" aria-label="finding id"><option value="">any finding</option>{id_opts}'
            '</select><span class="sub"><span id="shown"></span> shown</span></div>'
            '<table id="files" class="index"><thead><tr><th></th><th>file</th><th>kind</th>'
            f"{head}<th>six</th><th>errors / warnings</th><th>bytes</th></tr></thead><tbody>{rows}</tbody></table>")
    return page(title, body, INDEX_JS, body_class="wide")


__all__ = ["IndexEntry", "render_index"]
