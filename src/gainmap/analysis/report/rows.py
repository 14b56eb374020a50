"""The flat rows of ``gainmap scan`` (and ``gainmap diff``): their schema, one home for the JSON Lines, CSV and
Parquet writers and for docs/json-output.md.  :mod:`gainmap.library.rows` fills them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gainmap.analysis.checks.catalogue import SIX

#: Version of the row schema (same promise as ``check --json``: keys are only ever added).
ROW_SCHEMA_VERSION = 1

#: The viewers with a column each, in the order of docs/json-output.md.
VIEWERS: tuple[str, ...] = ("chrome", "android", "apple", "libultrahdr", "libavif", "adobe")

#: ``status`` values: checked by the validator, an image format not checked yet, or the file could not be read
#: or understood (``error`` says why).
STATUSES: tuple[str, ...] = ("checked", "not-checked", "error")


@dataclass(frozen=True)
class Field:
    """One column of the row schema: its name, type (``string``, ``int``, ``float``, ``bool`` or ``list``, a list
    of strings) and meaning."""

    name: str
    type: str
    meaning: str


FIELDS: tuple[Field, ...] = (
    Field("schema_version", "int", "this schema's version (1)"),
    Field("path", "string", "the file's path as walked (the given root joined with the path below it)"),
    Field("size", "int", "file size in bytes (null when it cannot be read)"),
    Field("format", "string", "format by content: `jpeg` (JPEG and MPO), `heic`, `heif`, `avif`, `png`, `webp`, "
          "`gif`, `tiff`, `jxl`, `bmp`, `cr3`, `mp4`, `pdf`, `empty` or `unknown`; null when unreadable"),
    Field("status", "string", "`checked`, `not-checked` (not a JPEG: not checked yet) or `error`"),
    Field("error", "string", "why the file could not be read or checked (null otherwise)"),
    Field("kind", "string", "the `kind` of `check --json` (`classify`); `other` for non-JPEG files; null on error"),
    *(Field(f"check_{name}", "bool", f"presence check `{name}` (null unless checked)") for name in SIX),
    *(Field(f"hdr_{viewer}", "bool", f"whether {viewer} shows the file as HDR (null unless checked)")
      for viewer in VIEWERS),
    Field("severity", "string", "the highest finding severity (`error`, `warning`, `info`), `none`, or null "
          "unless checked"),
    Field("errors", "int", "error-level findings"),
    Field("warnings", "int", "warning-level findings"),
    Field("finding_ids", "list", "distinct finding ids, in file order (CSV: joined by `;`)"),
    Field("repair_actions", "list", "the `gainmap repair` actions its plan holds (CSV: joined by `;`)"),
    Field("repairable", "bool", "whether `gainmap repair` would change the file (its plan is not empty)"),
    Field("primary_width", "int", "primary image width"),
    Field("primary_height", "int", "primary image height"),
    Field("gainmap_width", "int", "gain-map width (null without a gain map)"),
    Field("gainmap_height", "int", "gain-map height"),
    Field("headroom", "float", "the HDR headroom the gain map is made for, in stops (log2), from the metadata "
          "readers use (ISO 21496-1 `alternate_hdr_headroom`, hdrgm `HDRCapacityMax`, Apple's headroom)"),
    Field("gain_max", "float", "the largest `gain_map_max` over channels, in stops"),
)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)

_TYPES = {"string": "string", "int": "integer", "float": "number", "bool": "boolean", "list": "array of strings"}


def fields_table(fields: Sequence[Field]) -> list[str]:
    """Markdown table lines for a row schema (types as JSON calls them; every value may be null)."""
    return ["| key | type | meaning |", "|---|---|---|",
            *(f"| `{f.name}` | {_TYPES[f.type]} | {f.meaning} |" for f in fields)]


def rows_markdown() -> str:
    """The docs/json-output.md section on ``gainmap scan`` rows."""
    return "\n".join([
        "# `gainmap scan` rows", "",
        "`gainmap scan PATH... [-r]` gives one row per file it walks, always: unreadable files, non-JPEG images "
        "and files the validator could not make sense of included, their `status` and `error` saying so. The "
        "same row, with the same keys in the same order, is written as JSON Lines (`--json`, on stdout), CSV "
        "(`--csv FILE`: a header line, lists joined by `;`, booleans `true`/`false`, null empty) and Parquet "
        "(`--parquet FILE`, needs pyarrow: `pip install 'gainmap[library]'`; lists are `list<string>`). The "
        "Python API gives the same dict: `gainmap.library.rows.scan_file(path)`.", "",
        f"Stability: row schema version {ROW_SCHEMA_VERSION}, with the promise of `check --json` above: keys are "
        "only ever added. New viewers add `hdr_*` columns.", "",
        "Exit status of `gainmap scan`: 0 when no row matches `--fail-on`, 1 when one does, 2 on a usage error "
        "(a path that does not exist, a bad option, a cache that is not one). `--fail-on` takes a comma list: "
        "`error`, `warning`, `info` (a finding at that severity or worse), finding ids (`mpf.entry-offset`), id "
        "prefixes (`mpf.*`), `unreadable` (status `error`), `not-checked`, `sdr` (no viewer shows HDR), "
        "`repairable`, `none`; the default is `error,unreadable`.", "",
        *fields_table(FIELDS), "",
    ])
