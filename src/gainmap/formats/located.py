"""Located records: every parsed field with its address, so "who owns this byte" is a lookup, not arithmetic.

A format module parses bytes with its construct schema through :func:`locate`, which walks the schema the way
construct's own ``Struct`` and ``Array`` parse and records, for every field, the stream position before and
after it: the addresses come from the schema itself.  Tolerant readers that walk structures by hand (TIFF IFDs,
the JPEG marker walk) record the spans they read in the same :class:`Spans` map.

Paths name fields as they read in the specification tables: ``"channels[1].gain_map_max"``,
``"channels[1].gain_map_max.d"``, ``"entries[2].offset"``.  :func:`span` is the only way code outside
``gainmap.formats`` names a byte of a format (checks, ``inspect --hex``, mutators, the fixture generator and repair
all use it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from construct import (
    Array,
    Construct,
    Container,
    ListContainer,
    Rebuild,
    Renamed,
    StopFieldError,
    Struct,
    evaluate,
)


@dataclass(frozen=True, order=True)
class Span:
    """``length`` bytes at absolute ``offset`` (or payload-relative, when the reader was given no base)."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length

    def shifted(self, delta: int) -> Span:
        return Span(self.offset + delta, self.length)

    def __contains__(self, offset: object) -> bool:
        return isinstance(offset, int) and self.offset <= offset < self.end


class Spans(dict[str, Span]):
    """Field path -> :class:`Span`, in the order the fields were read."""

    def add(self, path: str, offset: int, length: int) -> None:
        self[path] = Span(offset, length)

    def shifted(self, delta: int) -> Spans:
        return Spans((k, v.shifted(delta)) for k, v in self.items())

    def under(self, prefix: str) -> Iterator[tuple[str, Span]]:
        """The spans of ``prefix`` and every field inside it."""
        for path, where in self.items():
            if path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "["):
                yield path, where

    def owner(self, offset: int) -> str | None:
        """The innermost field whose span holds ``offset`` (the longest path among the smallest spans)."""
        best: tuple[int, int, str] | None = None
        for path, where in self.items():
            if offset in where:
                key = (where.length, -len(path), path)
                if best is None or key < best:
                    best = key
        return None if best is None else best[2]


class LocatedRecord(Protocol):
    """Anything a format module returns that knows where its fields lie."""

    @property
    def spans(self) -> Mapping[str, Span]: ...


def span(record: LocatedRecord | Mapping[str, Span], path: str) -> Span:
    """Where field ``path`` of a located record lies; KeyError naming the fields that exist otherwise."""
    spans = record if isinstance(record, Mapping) else record.spans
    try:
        return spans[path]
    except KeyError:
        known = ", ".join(list(spans)[:12])
        raise KeyError(f"no field {path!r} in this record (fields: {known}{', ...' if len(spans) > 12 else ''})"
                       ) from None


def locate(schema: Construct, data: bytes, base: int = 0, prefix: str = "") -> tuple[Any, Spans]:
    """Parse ``data`` with ``schema`` as construct would, and record the span of every field.

    Returns the parsed value (a construct ``Container``) and the spans, offset by ``base``.  Raises construct's
    errors exactly as ``schema.parse`` does (callers translate them to :class:`~gainmap.errors.SchemaError`).
    """
    stream = io.BytesIO(data)
    context = Container(_parsing=True, _building=False, _sizing=False)
    context._params = context
    spans = Spans()
    value = _walk(schema, stream, context, prefix, spans, base)
    return value, spans


def _walk(con: Construct, stream: io.BytesIO, context: Container, path: str, spans: Spans, base: int) -> Any:
    start = stream.tell()
    if isinstance(con, Renamed):
        value = _walk(con.subcon, stream, context, path, spans, base)
        return value
    if isinstance(con, Struct):
        value = _walk_struct(con, stream, context, path, spans, base)
    elif isinstance(con, Array):
        value = _walk_array(con, stream, context, path, spans, base)
    else:
        value = con._parsereport(stream, context, path or "(located)")
    if path:
        spans.add(path, base + start, stream.tell() - start)
    return value


def _walk_struct(con: Struct, stream: io.BytesIO, context: Container, path: str, spans: Spans, base: int
                 ) -> Container:
    obj = Container()
    ctx = Container(_=context, _params=context._params, _root=None, _parsing=True, _building=False,
                    _sizing=False, _subcons=con._subcons, _io=stream, _index=context.get("_index", None))
    ctx._root = ctx._.get("_root", ctx)
    for sc in con.subcons:
        child = f"{path}.{sc.name}" if path and sc.name else (sc.name or "")
        try:
            sub = _walk(sc, stream, ctx, child if sc.name else "", spans, base)
        except StopFieldError:
            break
        if sc.name:
            obj[sc.name] = sub
            ctx[sc.name] = sub
    return obj


def _walk_array(con: Array, stream: io.BytesIO, context: Container, path: str, spans: Spans, base: int
                ) -> ListContainer:
    count = evaluate(con.count, context)
    obj = ListContainer()
    for i in range(count):
        context._index = i
        obj.append(_walk(con.subcon, stream, context, f"{path}[{i}]", spans, base))
    return obj


def field_construct(schema: Construct, path: str) -> Construct:
    """The construct of the single field ``path`` in ``schema`` (array indices ignored), to build a value in the
    field's own encoding; KeyError when there is no such field or it is not a single value."""
    con = schema
    for part in re.sub(r"\[\d+\]", "", path).split("."):
        while isinstance(con, Renamed | Rebuild | Array):
            con = con.subcon
        found = [sc for sc in con.subcons if sc.name == part] if isinstance(con, Struct) else []
        if not found:
            raise KeyError(f"no field {path!r} in this schema")
        con = found[0]
    while isinstance(con, Renamed | Rebuild):
        con = con.subcon
    if isinstance(con, Struct | Array):
        raise KeyError(f"field {path!r} is not a single value")
    return con
