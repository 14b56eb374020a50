"""The repair actions on the MP index (MPF): rebuild it, drop the tags Skia rejects, move it before the first
scan, point its entries at the images present."""

from __future__ import annotations

from gainmap.editing.repair.state import RepairError, RepairState, action
from gainmap.formats import mpf
from gainmap.formats.scanner import Segment
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import has_gainmap_metadata


def _mpf_images(gmf: GainMapFile) -> list[JpegImage]:
    """The images an MP index should list: primary, gain map, then the other images, except those that carry
    gain-map metadata of their own (MPF readers take the first listed image with metadata as the gain map, so
    listing a rival would move the gain map away from the image the repair worked on)."""
    gm = gmf.gainmap
    others = [im for im in gmf.images[1:] if im is not gm and not (gm is not None and has_gainmap_metadata(im))]
    return [gmf.primary] + ([gm] if gm is not None else []) + others


def _mpf_payload(gmf: GainMapFile) -> tuple[bytes, list[JpegImage]]:
    gm = gmf.gainmap
    order = _mpf_images(gmf)
    types = {}
    old = gmf.primary.mpf
    for i, im in enumerate(gmf.mpf_links):
        if im is not None and old is not None and i < len(old.entries):
            types[id(im)] = old.entries[i].attribute
    entries = [mpf.MpEntry(attribute=0x00030000, size=0, offset=0, dep1=0, dep2=0)]
    for im in order[1:]:
        attr = 0 if im is gm else types.get(id(im), 0) & 0x00FFFFFF
        entries.append(mpf.MpEntry(attribute=attr, size=0, offset=0, dep1=0, dep2=0))
    payload = mpf.build_mpf(mpf.MpfInfo(byte_order="MM", first_ifd_offset=8, index_tags=[], entries=entries))
    return payload, order


@action("rebuild-mpf")
def rebuild_mpf(gmf: GainMapFile, state: RepairState) -> str:
    if len(gmf.images) < 2:
        raise RepairError("MPF can only index images that are present; the file has no second image")
    payload, order = _mpf_payload(gmf)
    primary = gmf.primary
    for s in [s for s in primary.segments() if s.kind == "mpf"]:
        primary.remove(s)
    primary.insert(Segment.app(2, payload))
    gmf.mpf_links = [*order]
    return f"rebuilt the MPF index (big-endian, {len(order)} entries) before the first SOS"


@action("drop-mpf-tags")
def drop_mpf_tags(gmf: GainMapFile, state: RepairState) -> str:
    return rebuild_mpf(gmf, state).replace("rebuilt", "rebuilt without the tags Skia rejects,")


@action("move-mpf")
def move_mpf(gmf: GainMapFile, state: RepairState) -> str:
    primary = gmf.primary
    seg = primary.first("mpf", header_only=False)
    if seg is None:
        raise RepairError("no MPF segment to move")
    primary.remove(seg)
    primary.insert(seg)
    return "moved the MPF segment before the first SOS"


@action("recompute-mpf")
def recompute_mpf(gmf: GainMapFile, state: RepairState) -> str:
    info = gmf.primary.mpf
    if info is None or not info.entries:
        return rebuild_mpf(gmf, state)
    wanted = _mpf_images(gmf)
    if len(info.entries) != len(wanted):
        return rebuild_mpf(gmf, state)
    gmf.mpf_links = [*wanted]
    return "pointed the MP entries at the images actually present; sizes and offsets recomputed"
