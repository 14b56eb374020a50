"""Pictures of the HTML report, encoded inline: the SDR thumbnail, the gain map, the false-colour boost in stops
with its legend, and the histogram of the map as SVG.  The arrays come ready-made in
:class:`~gainmap.analysis.pictures.Pictures`; this module only colours and encodes them.
"""

from __future__ import annotations

import base64
import io
import math
from html import escape

import numpy as np
from PIL import Image

from gainmap.analysis.pictures import Pictures

#: The false-colour ramp for the boost in stops, dark (no boost) to bright (most): an approximation of
#: matplotlib's "inferno", as (position, R, G, B).
RAMP = ((0.0, 0, 0, 4), (0.25, 87, 16, 110), (0.5, 188, 55, 84), (0.75, 249, 142, 9), (1.0, 252, 255, 164))


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def encode_image(arr: np.ndarray, fmt: str = "PNG", quality: int = 82) -> str:
    """``arr`` (uint8 grey, RGB or a P-mode PIL image's index array) as a data URI."""
    buf = io.BytesIO()
    im = Image.fromarray(arr)
    if fmt == "JPEG":
        im.save(buf, "JPEG", quality=quality)
        return data_uri(buf.getvalue(), "image/jpeg")
    im.save(buf, "PNG", compress_level=3)
    return data_uri(buf.getvalue(), "image/png")


def ramp_colours(n: int = 256) -> np.ndarray:
    """uint8 (n, 3) colours of :data:`RAMP`."""
    x = np.linspace(0.0, 1.0, n)
    pos = [p[0] for p in RAMP]
    return np.stack([np.interp(x, pos, [p[c] for p in RAMP]) for c in (1, 2, 3)], axis=1).round().astype(np.uint8)


def false_colour(stops: np.ndarray, lo: float, hi: float) -> str:
    """The boost map as an indexed PNG: 256 colours spread over ``lo``..``hi`` stops."""
    idx = np.clip((stops - lo) / (hi - lo) * 255.0, 0, 255).round().astype(np.uint8)
    im = Image.frombytes("P", (idx.shape[1], idx.shape[0]), np.ascontiguousarray(idx).tobytes())
    im.putpalette(ramp_colours().reshape(-1).tolist())
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=3)
    return data_uri(buf.getvalue(), "image/png")


def _legend(lo: float, hi: float) -> str:
    gradient = ramp_colours(64)[np.newaxis]
    first = math.ceil(lo)
    step = max(1, math.ceil((hi - lo) / 8))
    ticks = "".join(f'<span style="left:{100 * (t - lo) / (hi - lo):.2f}%">{t:+d}</span>'
                    for t in range(first, math.floor(hi) + 1, step))
    return (f'<img class="scale" alt="colour scale from {lo:+.2f} to {hi:+.2f} stops" '
            f'src="{encode_image(np.repeat(gradient, 2, axis=0))}">'
            f'<div class="ticks">{ticks}</div>'
            f'<div class="sub">boost in stops (log2 of the gain at full headroom): {lo:+.2f} .. {hi:+.2f}</div>')


def histogram_svg(hist: np.ndarray) -> str:
    """Counts per 8-bit code as bars (square-root scale so small populations stay visible), one colour per
    channel."""
    colours = ("#555",) if hist.shape[0] == 1 else ("#d1242f", "#1a7f37", "#0969da")
    peak = math.sqrt(float(hist.max()) or 1.0)
    paths = []
    for c in range(hist.shape[0]):
        heights = np.sqrt(hist[c].astype(np.float64)) / peak * 120
        d = "M0,120 " + " ".join(f"L{i},{120 - h:.1f} L{i + 1},{120 - h:.1f}" for i, h in enumerate(heights))
        opacity = "0.85" if hist.shape[0] == 1 else "0.45"
        paths.append(f'<path d="{d} L256,120 z" fill="{colours[c]}" fill-opacity="{opacity}"/>')
    return (f'<svg class="hist" viewBox="0 0 256 124" width="380" height="170" role="img" '
            f'aria-label="histogram of the gain-map codes" preserveAspectRatio="none">'
            f'<rect width="256" height="120" fill="#f6f8fa"/>{"".join(paths)}'
            f'<line x1="0" y1="120.5" x2="256" y2="120.5" stroke="#8c959f"/></svg>'
            '<div class="axis" style="width:380px"><span>code 0</span><span>128</span><span>255</span></div>')


def render_pictures(pics: Pictures, uid: str = "p") -> str:
    """The pictures section body."""
    figs = []
    if pics.sdr is not None:
        h, w = pics.sdr.shape[:2]
        figs.append(f'<figure><img class="pic" alt="SDR thumbnail" width="{w}" height="{h}" '
                    f'src="{encode_image(pics.sdr, "JPEG")}"><figcaption>The SDR image every viewer shows '
                    f"(thumbnail).</figcaption></figure>")
    if pics.gain_map is not None:
        h, w = pics.gain_map.shape[:2]
        figs.append(f'<figure><img class="pic map" alt="gain map" width="{w}" height="{h}" src="{encode_image(pics.gain_map, "JPEG", 90)}">'
                    "<figcaption>The gain map as stored: brighter means more boost.</figcaption></figure>")
    if pics.stops is not None and pics.stops_range is not None:
        lo, hi = pics.stops_range
        h, w = pics.stops.shape[:2]
        figs.append(f'<figure><img class="pic map" alt="boost in stops, false colour" width="{w}" height="{h}" '
                    f'src="{false_colour(pics.stops, lo, hi)}">{_legend(lo, hi)}'
                    "<figcaption>The boost each pixel gets on a display with the full headroom, in stops."
                    "</figcaption></figure>")
    if pics.histogram is not None:
        figs.append(f"<figure>{histogram_svg(pics.histogram)}<figcaption>Histogram of the gain-map codes "
                    "(square-root scale).</figcaption></figure>")
    stats = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pics.stats.items())
    notes = "".join(f'<p class="sub">{escape(n)}</p>' for n in pics.notes)
    table = f"<table>{stats}</table>" if stats else ""
    return f'<div class="pics">{"".join(figs)}</div>{table}{notes}'


__all__ = ["data_uri", "encode_image", "false_colour", "histogram_svg", "ramp_colours", "render_pictures"]
