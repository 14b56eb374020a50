"""Repair: plan named actions from the validator's findings, apply them to the model, let the writer recompute.

Each action is a small function registered under the name that ``specs/checks.toml`` gives in a check's
``repair`` field, so the plan (which actions, fixing which finding ids) can be shown before anything changes.
Actions edit metadata segments only; the writer recomputes segment lengths, MPF sizes and offsets and
``Item:Length``.  Two guarantees are enforced, not just intended:

* the primary image's entropy-coded data, quantisation and Huffman tables and frame header are unchanged
  (:func:`primary_fingerprint` before and after; a difference aborts the repair);
* a file that needs nothing comes back byte-identical, and repairing twice equals repairing once.

Metadata truth when the forms disagree: ISO 21496-1 when it is present and valid (it carries per-channel values
and is what libultrahdr and Chrome prefer), else hdrgm, else Apple.  hdrgm XMP is always written in attribute
form, prefix ``hdrgm``, on the first Description, as a single channel (:meth:`GainMapMetadata.collapse_channels`);
per-channel values stay in ISO.
"""

from __future__ import annotations

import copy
import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.report import Report
from gainmap.errors import GainMapError, SchemaError
from gainmap.formats import icc as icc_schema
from gainmap.formats import iso21496, mpf, xmp
from gainmap.formats.jpeg import SOS
from gainmap.formats.scanner import Segment
from gainmap.metadata import GainMapMetadata, MetadataConversionError
from gainmap.model.container import GainMapFile, JpegImage
from gainmap.model.policy import has_gainmap_metadata
from gainmap.model.reader import read

#: Order in which planned actions run (later ones depend on what earlier ones produce).
ACTION_ORDER = (
    "strip-junk", "convert-apple", "rewrite-iso", "iso-from-hdrgm", "hdrgm-from-iso", "rewrite-hdrgm",
    "add-hdrgm-version", "fix-container", "add-iso-version", "add-icc", "remove-gainmap-icc",
    "drop-mpf-tags", "rebuild-mpf", "move-mpf", "recompute-mpf",
)
#: Actions that subsume others when both are planned.
_SUBSUMES = {
    "rebuild-mpf": {"drop-mpf-tags", "move-mpf", "recompute-mpf"},
    "convert-apple": {"iso-from-hdrgm", "hdrgm-from-iso", "rewrite-hdrgm", "add-iso-version", "add-hdrgm-version",
                      "fix-container"},
}


class RepairError(GainMapError):
    """A repair could not be carried out (the file is left untouched)."""


@dataclass
class RepairState:
    """What actions share while one plan runs."""

    strip_junk: bool = False
    notes: list[str] = field(default_factory=list)
    _metadata: GainMapMetadata | None = None

    def metadata(self, gmf: GainMapFile) -> GainMapMetadata:
        """The metadata the repaired file will carry (ISO, else hdrgm, else Apple), computed once."""
        if self._metadata is None:
            md = truth_metadata(gmf)
            if md is None:
                raise RepairError("no usable gain-map metadata in any form (ISO 21496-1, hdrgm, Apple) to "
                                  "derive the others from")
            self._metadata = md
        return self._metadata


ActionFn = Callable[[GainMapFile, RepairState], str]
ACTIONS: dict[str, ActionFn] = {}


def action(name: str) -> Callable[[ActionFn], ActionFn]:
    def register(fn: ActionFn) -> ActionFn:
        if name not in ACTION_ORDER:
            raise ValueError(f"repair action {name!r} has no place in ACTION_ORDER")
        ACTIONS[name] = fn
        return fn
    return register


# ---------------------------------------------------------------------- metadata truth
def _valid(md: GainMapMetadata) -> bool:
    return (md.is_finite() and all(g > 0 for g in md.gamma)
            and all(lo <= hi for lo, hi in zip(md.gain_map_min, md.gain_map_max))
            and all(o >= 0 for o in (*md.base_offset, *md.alternate_offset))
            and md.base_hdr_headroom != md.alternate_hdr_headroom)


def truth_metadata(gmf: GainMapFile) -> GainMapMetadata | None:
    sources = gmf.metadata_sources()
    for key in ("iso", "hdrgm", "apple"):
        md = sources.get(key)
        if md is not None and _valid(md):
            return md
    gm = gmf.gainmap
    if gm is not None and gm.iso is not None and gm.iso.layout == "compact":
        try:
            return iso21496.iso_to_metadata(gm.iso)
        except (MetadataConversionError, ValueError):
            pass
    packet = gmf.primary.xmp  # last resort: parameters misplaced in the primary's XMP (imazen's encoder)
    if packet is not None and "GainMapMax" in packet.hdrgm:
        try:
            md = GainMapMetadata.from_hdrgm(packet.hdrgm_values())
        except (ValueError, TypeError):
            return None
        return md if _valid(md) else None
    return None


# ---------------------------------------------------------------------- helpers
def _gainmap(gmf: GainMapFile) -> JpegImage:
    if gmf.gainmap is None:
        raise RepairError("the file has no gain-map image to repair (restore one with `gainmap restore`)")
    return gmf.gainmap


def _set_xmp(image: JpegImage, edit: Callable[[bytes], bytes], *, where: int | None = None) -> None:
    """Edit the image's first standard XMP packet, creating one when absent."""
    seg = image.first("xmp")
    if seg is None:
        seg = Segment.app(1, xmp.wrap_app1(xmp.new_packet()))
        image.insert(seg, where if where is not None else _after(image, ("jfif", "exif")))
    packet = image.xmp
    if packet is None or not packet.well_formed:
        raise RepairError(f"the XMP packet at offset {seg.offset} is not well-formed; cannot edit it safely")
    try:
        seg.payload = xmp.wrap_app1(edit(packet.packet))
    except SchemaError as exc:
        raise RepairError(f"cannot edit the XMP at offset {seg.offset}: {exc}") from None


def _after(image: JpegImage, kinds: tuple[str, ...]) -> int:
    """The index after the last header segment (before the first SOS) of one of ``kinds``, else 1."""
    index = 1
    for i, item in enumerate(image.items):
        if isinstance(item, Segment) and item.marker == SOS:
            break  # metadata after the first scan is invisible to readers: never anchor new segments there
        if isinstance(item, Segment) and item.kind in kinds:
            index = i + 1
    return index


def _replace_segments(image: JpegImage, kind: str, payloads: list[bytes], *, after: tuple[str, ...]) -> None:
    """Replace every header segment of ``kind`` by new APP segments (same marker family) at the first one's place."""
    old = [s for s in image.header_segments() if s.kind == kind]
    index = image.index_of(old[0]) if old else _after(image, after)
    for s in old:
        image.remove(s)
    marker = {"xmp": 1, "iso21496": 2, "mpf": 2, "icc": 2}[kind]
    for k, payload in enumerate(payloads):
        image.items.insert(index + k, Segment.app(marker, payload))


def primary_fingerprint(image: JpegImage) -> str:
    """SHA-256 over the frame header, tables, scan headers and entropy-coded data (what must never change)."""
    h = hashlib.sha256()
    for seg in image.segments():
        if seg.kind in ("sof", "dqt", "dht", "dri", "sos", "dnl") or seg.marker in range(0xD0, 0xD8):
            h.update(bytes((seg.marker,)) + seg.payload + (seg.ecs or b""))
    return h.hexdigest()


# ---------------------------------------------------------------------- actions
@action("strip-junk")
def strip_junk(gmf: GainMapFile, state: RepairState) -> str:
    dropped = []
    for gap in list(gmf.gaps):
        padding = gap.looks_like in ("zeros", "ff-padding")
        if padding or state.strip_junk:
            gmf.parts.remove(gap)
            dropped.append(f"{gap.size} bytes ({gap.looks_like}) at {gap.offset}")
    return "removed " + "; ".join(dropped) if dropped else "kept bytes outside images (not provably padding; " \
        "use --strip-junk to drop them)"


@action("rewrite-iso")
def rewrite_iso(gmf: GainMapFile, state: RepairState) -> str:
    gm = _gainmap(gmf)
    md = state.metadata(gmf)
    _replace_segments(gm, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))], after=("jfif", "xmp"))
    return "rewrote the gain map's ISO 21496-1 block as full N/D fractions, reserved bits clear"


@action("iso-from-hdrgm")
def iso_from_hdrgm(gmf: GainMapFile, state: RepairState) -> str:
    gm = _gainmap(gmf)
    md = state.metadata(gmf)
    _replace_segments(gm, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))], after=("jfif", "xmp"))
    _ensure_iso_version(gmf.primary)
    return f"wrote ISO 21496-1 ({md.channel_count} channel(s)) into the gain map and the version block into " \
           "the primary"


def _ensure_iso_version(primary: JpegImage) -> bool:
    old = [s for s in primary.header_segments() if s.kind == "iso21496"]
    if len(old) == 1 and old[0].payload == iso21496.version_block():
        return False
    _replace_segments(primary, "iso21496", [iso21496.version_block()], after=("jfif", "exif", "xmp", "icc"))
    return True


@action("add-iso-version")
def add_iso_version(gmf: GainMapFile, state: RepairState) -> str:
    state.metadata(gmf)  # the version block promises ISO metadata in the gain map: only with metadata to back it
    changed = _ensure_iso_version(gmf.primary)
    return "added the ISO 21496-1 version block to the primary" if changed else "version block already right"


def _write_gainmap_hdrgm(gmf: GainMapFile, state: RepairState) -> GainMapMetadata:
    gm = _gainmap(gmf)
    md = state.metadata(gmf).collapse_channels()
    if not md.use_base_colour_space:
        raise RepairError("hdrgm XMP cannot express use_base_colour_space=0; keep ISO only")
    _set_xmp(gm, lambda p: xmp.set_hdrgm(p, md.to_hdrgm()))
    return md


@action("hdrgm-from-iso")
def hdrgm_from_iso(gmf: GainMapFile, state: RepairState) -> str:
    md = _write_gainmap_hdrgm(gmf, state)
    _set_xmp(gmf.primary, xmp.ensure_primary_version)
    approx = " (single-channel approximation; per-channel values stay in ISO)" if \
        state.metadata(gmf).is_multichannel else ""
    return f"wrote hdrgm XMP (attribute form, GainMapMax={md.gain_map_max[0]:.6g}) into the gain map{approx}"


@action("rewrite-hdrgm")
def rewrite_hdrgm(gmf: GainMapFile, state: RepairState) -> str:
    _write_gainmap_hdrgm(gmf, state)
    packet = gmf.primary.xmp
    if packet is not None and packet.hdrgm:  # the primary keeps only the signal; parameters live in the map
        _set_xmp(gmf.primary, lambda p: xmp.set_hdrgm(p, {"Version": "1.0"}))
    return "rewrote hdrgm in attribute form with prefix hdrgm on the first Description (what libultrahdr reads)"


@action("add-hdrgm-version")
def add_hdrgm_version(gmf: GainMapFile, state: RepairState) -> str:
    state.metadata(gmf)  # the primary's signal only makes sense with gain-map parameters to point at
    _set_xmp(gmf.primary, xmp.ensure_primary_version)
    return 'set hdrgm:Version="1.0" on the primary\'s first Description'


@action("fix-container")
def fix_container(gmf: GainMapFile, state: RepairState) -> str:
    gm = _gainmap(gmf)
    gap = gmf.bytes_between(gmf.primary, gm)
    _set_xmp(gmf.primary, lambda p: xmp.set_container_directory(p, gm.size, gap))
    padding = f"; Primary Item:Padding covers the {gap} byte(s) before the gain map" if gap else ""
    return f"added/corrected the GContainer Directory (Primary, GainMap with Item:Length){padding}"


@action("add-icc")
def add_icc(gmf: GainMapFile, state: RepairState) -> str:
    primary = gmf.primary
    name, why = choose_icc(gmf)
    profile = icc_schema.display_p3_profile() if name == "display-p3" else icc_schema.srgb_profile()
    _replace_segments(primary, "icc", icc_schema.split_profile(profile), after=("jfif", "exif", "xmp"))
    return f"added a {name} ICC profile to the primary ({why})"


def choose_icc(gmf: GainMapFile) -> tuple[str, str]:
    """Which profile to add when the primary has none: Display P3 for Apple cameras, else what Exif says."""
    exif = gmf.primary.exif
    if exif is not None:
        if exif.apple is not None or (exif.make or "").strip().lower().startswith("apple"):
            return "display-p3", "Apple camera (maker note / Make): iPhones record Display P3"
        if exif.color_space == 1:
            return "srgb", "Exif ColorSpace = 1 (sRGB)"
        if exif.interop_index == "R03":
            return "srgb", "Exif says Adobe RGB (R03), which we cannot generate: sRGB chosen, colours may shift"
    return "srgb", "no colour-space clue: sRGB is what every reader assumes without a profile"


@action("remove-gainmap-icc")
def remove_gainmap_icc(gmf: GainMapFile, state: RepairState) -> str:
    gm = _gainmap(gmf)
    md = state.metadata(gmf)
    if not md.use_base_colour_space:
        return "kept the gain-map ICC: the map applies in the alternate colour space, which it describes"
    removed = [s for s in gm.header_segments() if s.kind == "icc"]
    for s in removed:
        gm.remove(s)
    return f"removed {len(removed)} ICC chunk(s) from the gain map (unused when the base colour space applies)"


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
    gmf.mpf_links = order
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
    gmf.mpf_links = wanted
    return "pointed the MP entries at the images actually present; sizes and offsets recomputed"


@action("convert-apple")
def convert_apple(gmf: GainMapFile, state: RepairState) -> str:
    from gainmap.model import apple

    head = apple.apple_headroom(gmf)
    gm = _gainmap(gmf)
    if set(gmf.metadata_sources()) - {"apple"}:
        return "not needed: the gain map already carries ISO 21496-1 or hdrgm metadata (converted before)"
    if head is None or head.linear <= 1.0:
        raise RepairError("Apple gain map without a usable headroom (no HDRGainMapHeadroom, no maker-note tag 33)")
    pixels = _decode_gray(gm)
    lut = apple_to_log_lut(head.linear)
    new_jpeg = _encode_gray(lut[pixels], _quality_of(gm))
    new_image = read(new_jpeg, name="re-encoded gain map").primary
    for seg in gm.header_segments():  # keep Apple's XMP (and any other metadata) so Apple viewers still work
        if seg.kind not in ("jfif", "sof", "dqt", "dht", "dri", "soi") and 0xE0 <= seg.marker <= 0xEF:
            new_image.insert(Segment.app(seg.marker - 0xE0, seg.payload), _after(new_image, ("jfif",)))
    new_image.role = "gainmap"
    index = gmf.parts.index(gm)
    gmf.parts[index] = new_image
    gmf.mpf_links = [new_image if im is gm else im for im in gmf.mpf_links]
    gmf.gainmap = new_image
    stops = math.log2(head.linear)
    md = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(stops,), gamma=(1.0,), base_offset=(0.0,),
                         alternate_offset=(0.0,), base_hdr_headroom=0.0, alternate_hdr_headroom=stops,
                         source="apple")
    state._metadata = md
    _replace_segments(new_image, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))],
                      after=("jfif", "xmp"))
    _set_xmp(new_image, lambda p: xmp.set_hdrgm(p, md.to_hdrgm()))
    _ensure_iso_version(gmf.primary)
    _set_xmp(gmf.primary, xmp.ensure_primary_version)
    gap = gmf.bytes_between(gmf.primary, new_image)
    _set_xmp(gmf.primary, lambda p: xmp.set_container_directory(p, new_image.size, gap))
    return (f"converted the Apple gain map (headroom x{head.linear:.4g} = {stops:.4f} stops, from {head.source}) "
            "to ISO 21496-1 + hdrgm: map re-mapped through a 256-entry LUT from Apple's linear interpolation to "
            "log2 encoding and re-encoded; Apple XMP and maker note kept")


def apple_to_log_lut(headroom_linear: float) -> np.ndarray:
    """v' = round(255 * log2(1 + (H - 1) * lin(v / 255)) / log2 H), lin = Rec.709 inverse OETF (formats.md §8)."""
    from gainmap.hdr.color import bt709_to_linear

    g = bt709_to_linear(np.arange(256, dtype=np.float64) / 255.0)
    out = np.log2(1.0 + (headroom_linear - 1.0) * np.asarray(g, dtype=np.float64)) / math.log2(headroom_linear)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def _decode_gray(image: JpegImage) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(image.to_bytes())) as im:
            return np.asarray(im.convert("L"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise RepairError(f"the gain map at offset {image.offset} does not decode: {exc}") from None


def _quality_of(image: JpegImage) -> int:
    """A JPEG quality close to the original's, estimated from its first quantisation table."""
    try:
        with Image.open(io.BytesIO(image.to_bytes())) as im:
            table = list(im.quantization.get(0, []))
    except (OSError, SyntaxError, ValueError):
        return 90
    if not table:
        return 90
    mean = sum(table) / len(table)
    return int(np.clip(round(100 - mean * 1.2), 75, 98))


def _encode_gray(pixels: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


# ---------------------------------------------------------------------- planning
@dataclass(frozen=True)
class PlannedAction:
    """One action of a plan and the finding ids (with offsets) that asked for it."""

    name: str
    fixes: tuple[str, ...]
    offsets: tuple[int | None, ...]

    def describe(self) -> str:
        at = ", ".join(f"{i}@{o}" if o is not None else i for i, o in zip(self.fixes, self.offsets))
        return f"{self.name}: fixes {at}"


def plan(report: Report, *, only: set[str] | None = None, strip_junk: bool = False) -> list[PlannedAction]:
    """The actions that would fix the report's warning- and error-level findings, in execution order."""
    cat = catalogue()
    wanted: dict[str, list[tuple[str, int | None]]] = {}
    for f in report.findings:
        spec = cat.checks.get(f.id)
        name = spec.repair if spec is not None else ""
        if not name or name not in ACTIONS:
            continue
        padding = f.detail.get("looks_like") in ("zeros", "ff-padding")
        if f.severity == "info" and not (name == "strip-junk" and (strip_junk or padding)):
            continue
        if only and not ({f.id, name} & only):
            continue
        wanted.setdefault(name, []).append((f.id, f.offset))
    signalled = bool(report.metadata) or report.six.get("hdrgm") or report.six.get("iso_primary")
    if report.gainmap is None or not signalled:
        # not a gain-map file (a stereo MPO, say) or its map is gone: nothing here restores pixels
        return _in_order({k: v for k, v in wanted.items() if k == "strip-junk"})
    elif report.metadata == ("apple",) and (not only or {"convert-apple"} & only):
        wanted.setdefault("convert-apple", []).append(("apple.gainmap", None))
    for six_id, name in (("six.iso_primary", "add-iso-version"), ("six.iso_gainmap", "iso-from-hdrgm"),
                         ("six.hdrgm", "hdrgm-from-iso"), ("six.container_xmp", "fix-container"),
                         ("six.mpf", "rebuild-mpf"), ("six.icc", "add-icc")):
        key = six_id.split(".", 1)[1]
        if report.six.get(key) or (only and not ({six_id, name} & only)):
            continue
        if report.gainmap is None:
            continue
        wanted.setdefault(name, []).append((six_id, None))
    if set(report.metadata) - {"apple"}:  # already carries ISO or hdrgm: converting again would re-map the map
        wanted.pop("convert-apple", None)
    for big, small in _SUBSUMES.items():
        if big in wanted:
            for name in small & wanted.keys():
                wanted[big].extend(wanted.pop(name))
    return _in_order(wanted)


def _in_order(wanted: dict[str, list[tuple[str, int | None]]]) -> list[PlannedAction]:
    """Planned actions in :data:`ACTION_ORDER`, each with the (finding id, offset) pairs that asked for it."""
    return [PlannedAction(n, tuple(i for i, _ in wanted[n]), tuple(o for _, o in wanted[n]))
            for n in ACTION_ORDER if n in wanted]


@dataclass
class RepairResult:
    """What :func:`repair` did: the plan, notes per action, the new bytes, and the reports before and after."""

    source: str
    plan: list[PlannedAction]
    notes: list[tuple[str, str]]
    data: bytes
    before: Report
    after: Report
    changed: bool


#: Most passes :func:`repair` makes; a pass can reveal work for the next (junk hid the gain map, say).
MAX_PASSES = 3


def repair(source: str | bytes | GainMapFile, *, only: set[str] | None = None, strip_junk: bool = False,
           name: str | None = None) -> RepairResult:
    """Plan and apply repairs; returns the repaired bytes and both reports (nothing is written to disk).

    When the repaired file still plans actions (the first pass uncovered more, e.g. a gain map that junk hid),
    further passes run, at most :data:`MAX_PASSES` in all, until the bytes stop changing; the result's plan
    and notes are those of every pass, later passes' notes marked "(pass N)".
    """
    from gainmap.analysis.validate import check_file

    if isinstance(source, GainMapFile):
        data = source.to_bytes()
        label = name or source.source
    elif isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<bytes>"
    else:
        with open(source, "rb") as fh:
            data = fh.read()
        label = name or str(source)
    model = read(data, name=label)  # each version of the bytes is parsed once, for checking and repairing
    before = check_file(model, data)
    fingerprint: str | None = None
    all_steps: list[PlannedAction] = []
    notes: list[tuple[str, str]] = []
    report, current = before, data
    for n in range(1, MAX_PASSES + 1):
        actions = plan(report, only=only, strip_junk=strip_junk)
        if not actions:
            break
        if fingerprint is None:
            fingerprint = primary_fingerprint(model.primary)
        out, pass_notes = _apply(model, actions, RepairState(strip_junk=strip_junk))
        model = read(out, name=label)
        if primary_fingerprint(model.primary) != fingerprint:
            raise RepairError(f"{label}: internal error: the primary image's coded data would change; "
                              "nothing written")
        all_steps += actions
        notes += [(a, note if n == 1 else f"(pass {n}) {note}") for a, note in pass_notes]
        if out == current:
            break
        report, current = check_file(model, out), out
    return RepairResult(label, all_steps, notes, current, before, report, current != data)


def _apply(gmf: GainMapFile, actions: list[PlannedAction], state: RepairState) -> tuple[bytes, list[tuple[str, str]]]:
    """Run one pass of actions on the model; an action that raises RepairError is undone and noted."""
    notes = []
    for step in actions:
        saved = copy.deepcopy((gmf, state))  # an action that gives up half-way must leave no trace
        try:
            notes.append((step.name, ACTIONS[step.name](gmf, state)))
        except (RepairError, MetadataConversionError) as exc:  # e.g. a value no 32-bit fraction holds
            gmf, state = saved
            notes.append((step.name, f"not done: {exc}"))
    return gmf.to_bytes(recompute=True), notes
