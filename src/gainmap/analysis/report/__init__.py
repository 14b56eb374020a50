"""Renderers of a :class:`Report` (:func:`render_text`, :func:`render_json`); the report itself is
:mod:`gainmap.analysis.result` (re-exported here).
"""

from __future__ import annotations

from gainmap.analysis.report.json import SCHEMA_VERSION, dumps, render_json
from gainmap.analysis.report.text import render_text
from gainmap.analysis.result import ImageInfo, Report

__all__ = ["SCHEMA_VERSION", "ImageInfo", "Report", "dumps", "render_json", "render_text"]
