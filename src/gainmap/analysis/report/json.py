"""The ``gainmap check --json`` object for one file (documented in docs/json-output.md).

Stable interface: keys are only ever added, never renamed or removed; ``schema_version`` changes only if that
promise has to be broken.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gainmap.analysis.checks.catalogue import SEVERITIES, SIX, catalogue
from gainmap.analysis.classify import classify_report

if TYPE_CHECKING:
    from gainmap.analysis.result import ImageInfo, Report

SCHEMA_VERSION = 1


def _plain(value: Any) -> Any:
    """``value`` as JSON-safe data (finding details may hold tuples, bytes or odd numbers)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [_plain(v) for v in items]
    return str(value)


def _image(info: ImageInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"offset": info.offset, "length": info.length, "width": info.width, "height": info.height,
            "components": info.components}


def render_json(report: Report) -> dict[str, Any]:
    """The JSON object for ``report``: ``file``, ``checks``, ``viewers`` and ``findings`` as promised in
    docs/json-output.md, plus the documented additive keys."""
    cat = catalogue()
    gainmap = _image(report.gainmap)
    if gainmap is not None:
        gainmap["located_by"] = report.located_by
        gainmap["metadata"] = list(report.metadata)
    return {
        "schema_version": SCHEMA_VERSION,
        "file": report.file,
        "kind": classify_report(report),
        "checks": {name: bool(report.six.get(name, False)) for name in SIX},
        "viewers": {
            key: {"hdr": v.hdr, "because": list(v.because), "route": v.route, "evidence": v.evidence,
                  "note": v.note}
            for key, v in report.viewers.items()
        },
        "findings": [
            {"id": f.id, "severity": f.severity, "offset": f.offset, "length": f.length, "message": f.message,
             "image": f.image, "title": cat[f.id].title, "fix": cat[f.id].fix,
             "repair": cat[f.id].repair or None, "detail": _plain(f.detail)}
            for f in report.findings
        ],
        "summary": {f"{s}s": report.count(s) for s in SEVERITIES},
        "primary": _image(report.primary),
        "gainmap": gainmap,
    }


def dumps(report: Report, indent: int | None = None) -> str:
    """:func:`render_json` as a JSON text (UTF-8 characters kept, key order as documented)."""
    return json.dumps(render_json(report), indent=indent, ensure_ascii=False)
