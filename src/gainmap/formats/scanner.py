"""The tolerant marker walk over one JPEG image (what Skia's and libultrahdr's scanners do, plus a record).

Rules (T.81 B.1, formats.md §1): fill ``FF`` bytes may precede any marker; standalone markers have no length;
other segments are skipped by their length, so APPn payloads (Exif thumbnails hold whole JPEGs) are never
scanned; after SOS the entropy-coded segment (ECS) runs until the first ``FF xx`` with xx not in {00, FF, D0-D7}.
Images may hold many scans (progressive, DNL).  Nothing here raises on bad bytes: problems are recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gainmap.errors import Problem
from gainmap.formats.jpeg import EOI, SOI, SOS, STANDALONE, marker_name

#: An ``FF`` that starts a real marker inside entropy-coded data: not stuffing (00), fill (FF) or RSTn.
_ECS_END = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")


@dataclass(eq=False)
class Segment:
    """One marker segment with its absolute position.

    ``payload`` is everything after the length field (empty for standalone markers); ``ecs`` is the
    entropy-coded data after an SOS header (restart markers included); ``fill`` counts ``FF`` fill bytes
    written before the marker.  ``offset`` is the absolute offset of the marker's ``FF`` (after fill) in
    the file it was read from, or -1 for a segment made in memory.
    """

    marker: int
    payload: bytes = b""
    ecs: bytes | None = None
    fill: int = 0
    offset: int = -1
    _view: tuple[object, object] | None = field(default=None, repr=False)

    @property
    def has_length(self) -> bool:
        return self.marker not in STANDALONE

    @property
    def name(self) -> str:
        return marker_name(self.marker)

    @property
    def kind(self) -> str:
        from gainmap.formats.jpeg import classify_segment

        return classify_segment(self.marker, self.payload)

    @property
    def size(self) -> int:
        """Bytes on disk: fill, marker, length field, payload and any entropy-coded data."""
        n = self.fill + 2
        if self.has_length:
            n += 2 + len(self.payload)
        return n + (len(self.ecs) if self.ecs is not None else 0)

    @property
    def payload_offset(self) -> int:
        """Absolute offset of the first payload byte (after marker and length)."""
        return self.offset + 4

    def header_bytes(self) -> bytes:
        if not self.has_length:
            return b"\xff" * self.fill + bytes((0xFF, self.marker))
        if len(self.payload) > 65533:
            raise ValueError(f"{self.name} payload of {len(self.payload)} bytes exceeds the 65533-byte maximum")
        n = len(self.payload) + 2
        return b"\xff" * self.fill + bytes((0xFF, self.marker, n >> 8, n & 0xFF))

    def to_bytes(self) -> bytes:
        return b"".join((self.header_bytes(), self.payload, self.ecs or b""))

    @classmethod
    def app(cls, n: int, payload: bytes) -> Segment:
        """An APPn segment made in memory."""
        return cls(marker=0xE0 + n, payload=payload)


@dataclass(eq=False)
class Raw:
    """Bytes inside an image that are not a well-formed segment (garbage, a truncated segment)."""

    data: bytes
    offset: int = -1
    reason: str = ""

    @property
    def size(self) -> int:
        return len(self.data)

    def to_bytes(self) -> bytes:
        return self.data


Item = Segment | Raw


@dataclass
class ScanResult:
    items: list[Item]
    end: int
    complete: bool
    problems: list[Problem]


def scan_image(data: bytes, start: int) -> ScanResult:
    """Walk the image whose SOI is at ``data[start]``; return its items and the offset after its EOI.

    If the image has no EOI, the walk ends at the end of ``data`` (``complete`` is False).
    """
    n = len(data)
    items: list[Item] = [Segment(SOI, offset=start)]
    problems: list[Problem] = []
    pos = start + 2
    if pos + 1 < n and data[pos] == 0xFF and data[pos + 1] in (0x00, 0xFF):
        problems.append(Problem("jpeg.fill-after-soi", pos, 2,
                                "SOI is not followed directly by a marker (Skia rejects fill bytes here)"))
    while True:
        if pos >= n:
            problems.append(Problem("jpeg.missing-eoi", n, 0, "image ends without an EOI marker"))
            return ScanResult(items, n, False, problems)
        if data[pos] != 0xFF:
            nxt = data.find(b"\xff", pos)
            nxt = n if nxt < 0 else nxt
            items.append(Raw(data[pos:nxt], pos, "garbage"))
            problems.append(Problem("jpeg.garbage", pos, nxt - pos,
                                    f"{nxt - pos} byte(s) where a marker was expected"))
            pos = nxt
            continue
        mark = pos
        while mark + 1 < n and data[mark + 1] == 0xFF:
            mark += 1
        fill = mark - pos
        if mark + 1 >= n:
            items.append(Raw(data[pos:], pos, "truncated"))
            problems.append(Problem("jpeg.truncated", pos, n - pos, "file ends inside a marker"))
            return ScanResult(items, n, False, problems)
        marker = data[mark + 1]
        if marker == 0x00:
            items.append(Raw(data[pos:mark + 2], pos, "garbage"))
            problems.append(Problem("jpeg.garbage", pos, mark + 2 - pos, "FF 00 where a marker was expected"))
            pos = mark + 2
            continue
        if marker in STANDALONE:
            items.append(Segment(marker, fill=fill, offset=mark))
            pos = mark + 2
            if marker == EOI:
                return ScanResult(items, pos, True, problems)
            if marker == SOI:
                problems.append(Problem("jpeg.unexpected-soi", mark, 2, "a second SOI inside an image"))
            continue
        if mark + 4 > n:
            items.append(Raw(data[pos:], pos, "truncated"))
            problems.append(Problem("jpeg.truncated", pos, n - pos, f"file ends inside the {marker_name(marker)} "
                                    "length field"))
            return ScanResult(items, n, False, problems)
        length = (data[mark + 2] << 8) | data[mark + 3]
        if length < 2 or mark + 2 + length > n:
            items.append(Raw(data[pos:], pos, "truncated"))
            problems.append(Problem("jpeg.segment-length", mark, n - mark,
                                    f"{marker_name(marker)} length {length} runs past the end of the file "
                                    f"({n - mark - 2} bytes left)" if length >= 2 else
                                    f"{marker_name(marker)} length {length} is below the minimum of 2"))
            return ScanResult(items, n, False, problems)
        end = mark + 2 + length
        seg = Segment(marker, payload=data[mark + 4:end], fill=fill, offset=mark)
        items.append(seg)
        pos = end
        if marker == SOS:
            m = _ECS_END.search(data, pos)
            stop = n if m is None else m.start()
            while stop > pos and m is not None and data[stop - 1] == 0xFF:
                stop -= 1  # FF before a marker cannot be data (data FF is stuffed as FF 00): it is fill
            seg.ecs = data[pos:stop]
            pos = stop
