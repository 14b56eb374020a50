"""The CSS and the small scripts the HTML report inlines (no fonts, no network).

Rule for the HDR preview: nothing on the path from ``<html>`` to the preview ``<img>`` may create a stacking
context (iOS Safari then draws a gain-map image as SDR), so ``html``, ``body``, ``main`` and ``.preview`` get no
``overflow`` other than visible, no ``transform``, ``filter``, ``clip-path``, ``opacity``, ``z-index``,
``isolation``, ``mix-blend-mode``, ``will-change``, ``contain`` or ``position: fixed/sticky``.  A comparison clips
the ``<img>`` itself (``object-fit``), never a wrapper.
"""

from __future__ import annotations

CSS = """
:root { color-scheme: light; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a;
  --line: #d0d7de; --bg2: #f6f8fa; }
html { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328; }
body { margin: 0 auto; padding: 16px 24px 48px; max-width: 1200px; }
h1 { font-size: 1.35rem; margin: 0 0 4px; word-break: break-all; }
h2 { font-size: 1.1rem; margin: 0 0 8px; }
h3 { font-size: 0.95rem; margin: 12px 0 6px; }
section { margin: 20px 0; padding: 12px 0 4px; border-top: 1px solid var(--line); }
.sub { color: var(--muted); font-size: 0.9rem; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.86em; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; border-bottom: 1px solid #eaeef2; }
th { font-weight: 600; color: var(--muted); font-size: 0.85rem; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.verdict-words { font-size: 1.1rem; margin: 4px 0; }
.pass { color: var(--ok); font-weight: 600; }
.fail { color: var(--bad); font-weight: 600; }
.hdr { color: #fff; background: var(--ok); border-radius: 3px; padding: 0 6px; font-weight: 600; }
.sdr { color: #fff; background: var(--bad); border-radius: 3px; padding: 0 6px; font-weight: 600; }
.sev-error { color: var(--bad); font-weight: 600; }
.sev-warning { color: var(--warn); font-weight: 600; }
.sev-info { color: var(--muted); }
.six { display: flex; flex-wrap: wrap; gap: 6px 14px; margin: 4px 0 10px; padding: 0; list-style: none; }
.six li { padding: 2px 8px; border: 1px solid var(--line); border-radius: 12px; }
/* byte map */
.bytemap h3 { margin-top: 14px; }
.bar { position: relative; height: 34px; background: var(--bg2); border: 1px solid var(--line); margin: 2px 0; }
.bar.segs { height: 26px; }
.blk { position: absolute; top: 0; bottom: 0; min-width: 1px; box-sizing: border-box;
  border-right: 1px solid rgba(255,255,255,0.8); font-size: 11px; line-height: 26px; color: #fff;
  white-space: nowrap; text-overflow: clip; cursor: default; }
.bar.parts .blk { line-height: 34px; padding-left: 4px; }
.blk .lbl { padding-left: 2px; pointer-events: none; }
.blk.r-primary { background: #3b6fb6; } .blk.r-gainmap { background: #8a4fbf; }
.blk.r-gap, .blk.r-trailer { background: #8c959f; } .blk.r-other { background: #2f8f83; }
.blk.k-sos { background-image: repeating-linear-gradient(45deg,
  rgba(255,255,255,0.14) 0 6px, transparent 6px 12px); }
.blk.k-raw { background: #d4a72c; }
.zoom .blk.k-mpf { background: #0b7285; } .zoom .blk.k-iso21496 { background: #d9480f; }
.zoom .blk.k-xmp, .zoom .blk.k-extended_xmp { background: #2b8a3e; } .zoom .blk.k-icc { background: #ae3ec9; }
.zoom .blk.k-exif, .zoom .blk.k-jfif { background: #495057; }
.blk .tip { display: none; position: absolute; top: 100%; left: 0; margin-top: 4px; z-index: 5;
  background: #fff; color: #1f2328; border: 1px solid #8c959f; padding: 6px 8px; white-space: pre;
  line-height: 1.35; font: 12px/1.35 ui-monospace, Menlo, Consolas, monospace; box-shadow: 0 2px 8px #0003; }
.blk:hover .tip, .blk:focus .tip { display: block; }
.blk:hover, .blk:focus { outline: 2px solid #1f2328; }
.prob { position: absolute; top: -4px; bottom: -4px; width: 3px; margin-left: -1px; background: var(--bad); }
.prob .tip { display: none; position: absolute; top: 100%; left: 0; z-index: 5; background: #fff;
  color: var(--bad); border: 1px solid var(--bad); padding: 4px 6px; white-space: pre; font-size: 12px; }
.prob:hover .tip { display: block; }
.arrows { display: block; width: 100%; height: 46px; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 11px; }
.legend-row { display: flex; gap: 14px; flex-wrap: wrap; font-size: 12px; color: var(--muted); }
.sw { display: inline-block; width: 11px; height: 11px; vertical-align: -1px; margin-right: 4px; }
/* pictures */
.pics { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
figure { margin: 0; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-top: 4px; max-width: 480px; }
.pics img.pic { display: block; width: 380px; max-width: 100%; height: auto; border: 1px solid var(--line); }
.pics img.pic.map { image-rendering: pixelated; }
.pics figure { width: 380px; max-width: 100%; }
.scale { display: block; width: 380px; max-width: 100%; height: 14px; border: 1px solid var(--line); }
.ticks { position: relative; width: 380px; height: 16px; font-size: 11px; color: var(--muted); }
details.note summary { cursor: pointer; color: var(--muted); font-size: 0.85rem; }
details.note div { font-size: 0.85rem; color: var(--muted); max-width: 420px; }
.ticks span { position: absolute; margin-left: -10px; }
/* comparison (repair / restore) */
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
.pair > div { min-width: 0; }
/* the HDR preview: see the module docstring; no property here may create a stacking context */
.preview img { display: block; max-width: 100%; height: auto; }
.preview img.half { width: 100%; max-width: 560px; height: 360px; object-fit: cover; }
/* index */
.filters { display: flex; gap: 10px; flex-wrap: wrap; margin: 8px 0; }
.filters input, .filters select { font: inherit; padding: 2px 6px; }
table.index th { cursor: pointer; user-select: none; }
table.index th.sorted-asc::after { content: " \\25B2"; } table.index th.sorted-desc::after { content: " \\25BC"; }
body.wide { max-width: none; }
table.index td { white-space: nowrap; vertical-align: middle; padding-right: 8px; }
table.index td.name { white-space: normal; word-break: break-all; max-width: 420px; }
table.index td .ids { white-space: normal; max-width: 240px; text-align: left; }
table.index td .mini { height: 40px; width: auto; vertical-align: middle; }
.vd { display: inline-block; min-width: 1.2em; text-align: center; font-size: 11px; border-radius: 2px;
  margin-right: 2px; color: #fff; }
.vd.y { background: var(--ok); } .vd.n { background: var(--bad); }
"""

#: Sorting and filtering for the index page (vanilla JS, no library).
INDEX_JS = """
(function () {
  var table = document.getElementById('files');
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var q = document.getElementById('q'), kind = document.getElementById('kind'),
      viewer = document.getElementById('viewer'), fid = document.getElementById('finding');
  function apply() {
    var text = q.value.toLowerCase(), k = kind.value, v = viewer.value, f = fid.value, shown = 0;
    rows.forEach(function (r) {
      var ok = (!text || r.dataset.file.toLowerCase().indexOf(text) >= 0) && (!k || r.dataset.kind === k)
        && (!f || (' ' + r.dataset.findings + ' ').indexOf(' ' + f + ' ') >= 0);
      if (ok && v) { var p = v.split(':'); ok = (' ' + r.dataset[p[1]] + ' ').indexOf(' ' + p[0] + ' ') >= 0; }
      r.hidden = !ok; if (ok) shown++;
    });
    document.getElementById('shown').textContent = shown;
  }
  [q, kind, viewer, fid].forEach(function (el) { el.addEventListener('input', apply); });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
    th.addEventListener('click', function () {
      var asc = !th.classList.contains('sorted-asc');
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
        c.classList.remove('sorted-asc', 'sorted-desc'); });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      rows.sort(function (a, b) {
        var x = a.cells[i].dataset.sort || a.cells[i].textContent, y = b.cells[i].dataset.sort || b.cells[i].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
  apply();
})();
"""
