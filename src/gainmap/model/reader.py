"""The reader: bytes (or a path) to a :class:`~gainmap.model.container.GainMapFile`, never raising on a broken JPEG.

The primary is walked by the tolerant scanner; images after it are found where MPF and the GContainer point and by
scanning for ``FF D8 FF`` (what libultrahdr does), and each viewer's gain-map location is recorded.
"""

from __future__ import annotations

import os

from gainmap.errors import NotAJpegError, Problem
from gainmap.formats.scanner import scan_image
from gainmap.model.container import MP_TYPES, GainMapFile, Gap, JpegImage, Part, classify_trailing
from gainmap.model.policy import has_gainmap_metadata

#: Scan-found JPEG candidates that fail to parse before the rest of the file is given up as trailing data.
_MAX_FAILED_CANDIDATES = 64
_SOI_SIG = b"\xff\xd8\xff"


def identify_non_jpeg(data: bytes) -> str:
    """A human description of what a non-JPEG file is."""
    if not data:
        return "the file is empty"
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1", "replace")
        what = {"avif": "an AVIF image", "avis": "an AVIF image sequence", "heic": "a HEIC image",
                "heix": "a HEIC image", "mif1": "a HEIF image", "msf1": "a HEIF sequence"}.get(
            brand, f"an ISO-BMFF file (brand {brand!r}, e.g. MP4/MOV)")
        return f"this is {what}, not a JPEG"
    for magic, what in ((b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"GIF8", "a GIF image"),
                        (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
                        (b"\xff\x0a", "a JPEG XL codestream"), (b"\x00\x00\x00\x0cJXL ", "a JPEG XL file"),
                        (b"BM", "a BMP image"), (b"%PDF", "a PDF document")):
        if data.startswith(magic):
            return f"this is {what}, not a JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "this is a WebP image, not a JPEG"
    return f"no JPEG SOI marker (FF D8) at offset 0; the file starts with {data[:8].hex(' ')}"


def read(source: str | os.PathLike[str] | bytes | bytearray | memoryview, *, name: str | None = None
         ) -> GainMapFile:
    """Read a file (path or bytes) into a :class:`GainMapFile`.

    Raises :class:`~gainmap.errors.NotAJpegError` only when the input is not a JPEG at all (an AVIF named
    .jpg, say); every other defect is recorded in ``problems`` and the model is returned.  ``OSError`` from
    opening a path propagates unchanged.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
    else:
        label = name or os.fspath(source)
        with open(source, "rb") as fh:
            data = fh.read()
    if len(data) < 2 or data[0] != 0xFF or data[1] != 0xD8:
        raise NotAJpegError(label, identify_non_jpeg(data))
    return _Reader(data, label).run()


class _Reader:
    def __init__(self, data: bytes, label: str) -> None:
        self.data = data
        self.label = label
        self.problems: list[Problem] = []

    def _image(self, start: int) -> tuple[JpegImage, list[Problem]]:
        res = scan_image(self.data, start)
        return JpegImage(res.items, start, res.complete), res.problems

    def run(self) -> GainMapFile:
        data = self.data
        primary, probs = self._image(0)
        primary.role = "primary"
        self.problems += probs
        targets = self._mpf_targets(primary) + self._container_targets(primary)
        wanted = sorted({t for _, t in targets if primary.end <= t < len(data)})
        parts: list[Part] = [primary]
        pos = search = primary.end
        failed = 0
        while search < len(data):
            start = self._next_candidate(search, wanted)
            if start is None:
                break
            image, probs = self._image(start)
            if start not in wanted and not _plausible(image):
                failed += 1
                if failed > _MAX_FAILED_CANDIDATES:
                    break
                search = start + 1
                continue
            if start > pos:
                parts.append(Gap(data[pos:start], pos, "junk"))
                self.problems.append(Problem("layout.junk-between-images", pos, start - pos,
                                             f"{start - pos} byte(s) between images "
                                             f"({classify_trailing(data[pos:start])})"))
            self.problems += probs
            parts.append(image)
            pos = search = image.end
        if pos < len(data):
            gap = Gap(data[pos:], pos, "trailing")
            parts.append(gap)
            self.problems.append(Problem("layout.trailing-data", pos, gap.size,
                                         f"{gap.size} byte(s) after the last image ({gap.looks_like})"))
        gmf = GainMapFile(parts, self.label, self.problems, _original=data)
        self._link(gmf, targets)
        return gmf

    def _next_candidate(self, pos: int, wanted: list[int]) -> int | None:
        found = self.data.find(_SOI_SIG, pos)
        cands = [w for w in wanted if w >= pos and self.data[w:w + 2] == b"\xff\xd8"]
        if found >= 0:
            cands.append(found)
        return min(cands) if cands else None

    def _mpf_targets(self, primary: JpegImage) -> list[tuple[str, int]]:
        seg = primary.first("mpf", header_only=False)
        info = primary.mpf
        if seg is None or info is None:
            return []
        base = seg.offset + 8
        return [("mpf", base + e.offset) for e in info.entries[1:] if e.offset]

    def _container_targets(self, primary: JpegImage) -> list[tuple[str, int]]:
        packet = primary.xmp
        items = packet.container_items if packet is not None else []
        if not items:
            return []
        pos = primary.end + (items[0].padding or 0)  # Skia honours Padding on the first item only
        out = []
        for item in items[1:]:
            out.append(("container:" + (item.semantic or ""), pos))
            pos += item.length or 0
        return out

    def _link(self, gmf: GainMapFile, targets: list[tuple[str, int]]) -> None:
        primary = gmf.primary
        seg = primary.first("mpf", header_only=False)
        info = primary.mpf
        if seg is not None and info is not None:
            base = seg.offset + 8
            gmf.mpf_links = [primary if i == 0 else gmf.image_at(base + e.offset)
                             for i, e in enumerate(info.entries)]
            for i, e in enumerate(info.entries):
                im = gmf.mpf_links[i]
                if im is not None and im is not primary:
                    im.role = MP_TYPES.get(e.type_code, "other")
        mpf_loc = None
        for i, im in enumerate(gmf.mpf_links[1:], start=1):
            target = seg.offset + 8 + info.entries[i].offset if seg is not None and info is not None else None
            if im is not None and has_gainmap_metadata(im):
                mpf_loc = im.offset
                break
            if mpf_loc is None and target is not None:
                mpf_loc = target
        cont = next((t for k, t in targets if k == "container:GainMap"), None)
        later = [im for im in gmf.images[1:] if im.complete]
        scan = later[0].offset if later else None
        gmf.locations = {"mpf": mpf_loc, "container": cont, "scan": scan}
        found = {k: v for k, v in gmf.locations.items() if v is not None}
        if len(set(found.values())) > 1:
            desc = ", ".join(f"{k} @{v}" for k, v in found.items())
            self.problems.append(Problem("locate.disagree", min(found.values()), 0,
                                         f"viewers would look for the gain map in different places: {desc}"))
        gm = None
        for key in ("mpf", "container", "scan"):
            loc = gmf.locations[key]
            im = gmf.image_at(loc) if loc is not None else None
            if im is not None and im is not primary and has_gainmap_metadata(im):
                gm = im
                break
        if gm is None:  # no metadata anywhere: take a located image unless MPF says it is something else
            for key in ("mpf", "container", "scan"):
                loc = gmf.locations[key]
                im = gmf.image_at(loc) if loc is not None else None
                if im is not None and im is not primary and im.role in ("other", "undefined"):
                    gm = im
                    break
        if gm is not None:
            gm.role = "gainmap"
        gmf.gainmap = gm


def _plausible(image: JpegImage) -> bool:
    """A JPEG found by scanning for FF D8 FF is taken as an image only if it has a frame and a scan."""
    return image.frame is not None and (image.complete or bool(image.scans()))

