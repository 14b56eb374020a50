"""Put an SDR JPEG and a gain-map JPEG together into one file, laid out the way every viewer accepts.

The safe interop profile (formats.md §7, specs/format.md): hdrgm XMP in attribute form with prefix ``hdrgm`` and a
GContainer directory in the primary; the ISO 21496-1 version block in the primary and the full block in the gain
map; a big-endian 88-byte MPF before the first SOS; no ICC in the gain map unless ``use_base_colour_space`` is
false; full N/D ISO fractions.  The primary's entropy-coded data, tables and other segments are copied untouched.
"""

from __future__ import annotations

from gainmap.errors import GainMapError
from gainmap.formats import icc as icc_schema
from gainmap.formats import iso21496, mpf, xmp
from gainmap.formats.scanner import Segment
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import app_insert_index
from gainmap.model.reader import read

#: Segment kinds the assembler owns: removed from inputs so they are never duplicated.
_PRIMARY_OWNED = ("mpf", "iso21496")
_GAINMAP_KEEP = ("jfif", "adobe")


def _image_of(data: bytes, what: str) -> JpegImage:
    gmf = read(data, name=what)
    image = gmf.primary
    if not image.complete or image.frame is None:
        codes = ", ".join(p.code for p in gmf.problems) or "no frame header"
        raise GainMapError(f"{what}: not a complete JPEG image ({codes})")
    return image


def _xmp_packet(image: JpegImage, what: str) -> bytes:
    """The bytes of the image's first XMP packet (which the caller found), or a clear error."""
    packet = image.xmp
    if packet is None:
        raise GainMapError(f"assemble: the {what}'s XMP segment holds no readable XMP packet")
    return packet.packet


def prepare_primary(image: JpegImage, *, write_xmp: bool = True, write_iso: bool = True,
                    icc: bytes | None = None) -> None:
    """Strip MPF/ISO blocks and hdrgm/GContainer, then add the primary's metadata placeholders in place."""
    for seg in [s for s in image.segments() if s.kind in _PRIMARY_OWNED]:
        image.remove(seg)
    if icc is not None and not image.icc_chunks():
        for payload in icc_schema.split_profile(icc):
            image.insert(Segment.app(2, payload))
    xmp_seg = image.first("xmp")
    if write_xmp:
        if xmp_seg is None:
            packet = xmp.build_primary_xmp(1)  # placeholder: the writer sets the real length
            after_exif = app_insert_index(image.items, after=("jfif", "exif"))
            image.insert(Segment.app(1, xmp.wrap_app1(packet)), after_exif)
        else:
            packet = xmp.set_hdrgm(_xmp_packet(image, "primary"), {})
            packet = xmp.ensure_primary_version(packet)
            packet = xmp.set_container_directory(packet, 1)
            xmp_seg.payload = xmp.wrap_app1(packet)
    elif xmp_seg is not None and image.xmp is not None and image.xmp.well_formed:
        xmp_seg.payload = xmp.wrap_app1(xmp.set_hdrgm(image.xmp.packet, {}))
    if write_iso:
        image.insert(Segment.app(2, iso21496.version_block()))
    image.insert(Segment.app(2, mpf.make_mpf(0, [(0, 0)])))


def prepare_gainmap(image: JpegImage, md: GainMapMetadata, *, write_xmp: bool = True,
                    write_iso: bool = True, icc: bytes | None = None) -> None:
    """Replace the gain-map image's metadata segments with hdrgm XMP and the full ISO block."""
    for seg in [s for s in image.segments() if not s_keep(s)]:
        image.remove(seg)
    index = app_insert_index(image.items, after=("jfif", "exif"))
    new: list[Segment] = []
    if write_xmp:
        new.append(Segment.app(1, xmp.wrap_app1(xmp.build_gainmap_xmp(md))))
    if write_iso:
        new.append(Segment.app(2, iso21496.build_iso(iso21496.metadata_to_iso(md))))
    if icc is not None:
        new.extend(Segment.app(2, p) for p in icc_schema.split_profile(icc))
    for seg in reversed(new):
        image.items.insert(index, seg)


def s_keep(seg: Segment) -> bool:
    """Segments of a gain-map JPEG that carry pixels or are harmless (JFIF, tables, comments)."""
    return seg.kind in _GAINMAP_KEEP or not (0xE0 <= seg.marker <= 0xEF)


def assemble(primary_jpeg: bytes, gainmap_jpeg: bytes, md: GainMapMetadata, *, write_xmp: bool = True,
             write_iso: bool = True, icc: bytes | None = None, gainmap_icc: bytes | None = None,
             byte_order: str = "MM", name: str = "<assembled>") -> GainMapFile:
    """A new :class:`GainMapFile` from two JPEG byte strings and metadata; call ``to_bytes()`` to write it.

    ``icc`` is added to the primary only when it has none.  hdrgm XMP cannot express
    ``use_base_colour_space=False``; such metadata is written as ISO only.
    """
    if not (write_xmp or write_iso):
        raise GainMapError("assemble: at least one of write_xmp and write_iso must be set")
    write_xmp_gm = write_xmp and md.use_base_colour_space
    primary = _image_of(primary_jpeg, "primary JPEG")
    gainmap = _image_of(gainmap_jpeg, "gain-map JPEG")
    prepare_primary(primary, write_xmp=write_xmp, write_iso=write_iso, icc=icc)
    prepare_gainmap(gainmap, md, write_xmp=write_xmp_gm, write_iso=write_iso, icc=gainmap_icc)
    primary.role, gainmap.role = "primary", "gainmap"
    mseg = primary.first("mpf", header_only=False)
    if byte_order != "MM" and mseg is not None:
        mseg.payload = mpf.make_mpf(0, [(0, 0)], byte_order=byte_order)
    gmf = GainMapFile([primary, gainmap], name, [], mpf_links=[primary, gainmap], gainmap=gainmap)
    seg = primary.first("xmp")
    if write_xmp and seg is not None:
        seg.payload = xmp.wrap_app1(xmp.set_container_directory(_xmp_packet(primary, "primary"), gainmap.size))
    gmf.to_bytes(recompute=True)
    return gmf
