"""The repair actions on metadata segments: junk between images, ISO 21496-1, hdrgm XMP, the GContainer
directory and ICC profiles.  Each is registered under the name ``specs/checks.toml`` uses."""

from __future__ import annotations

from gainmap.editing.repair.edits import ensure_iso_version, gainmap_of, replace_segments, set_xmp
from gainmap.editing.repair.state import RepairError, RepairState, action
from gainmap.formats import icc as icc_schema
from gainmap.formats import iso21496, xmp
from gainmap.hdr import profiles
from gainmap.metadata import GainMapMetadata
from gainmap.model.container import GainMapFile


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
    gm = gainmap_of(gmf)
    md = state.metadata(gmf)
    replace_segments(gm, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))], after=("jfif", "xmp"))
    return "rewrote the gain map's ISO 21496-1 block as full N/D fractions, reserved bits clear"


@action("iso-from-hdrgm")
def iso_from_hdrgm(gmf: GainMapFile, state: RepairState) -> str:
    gm = gainmap_of(gmf)
    md = state.metadata(gmf)
    replace_segments(gm, "iso21496", [iso21496.build_iso(iso21496.metadata_to_iso(md))], after=("jfif", "xmp"))
    ensure_iso_version(gmf.primary)
    return f"wrote ISO 21496-1 ({md.channel_count} channel(s)) into the gain map and the version block into " \
           "the primary"


@action("add-iso-version")
def add_iso_version(gmf: GainMapFile, state: RepairState) -> str:
    state.metadata(gmf)  # the version block promises ISO metadata in the gain map: only with metadata to back it
    changed = ensure_iso_version(gmf.primary)
    return "added the ISO 21496-1 version block to the primary" if changed else "version block already right"


def _write_gainmap_hdrgm(gmf: GainMapFile, state: RepairState) -> GainMapMetadata:
    gm = gainmap_of(gmf)
    md = state.metadata(gmf).collapse_channels()
    if not md.use_base_colour_space:
        raise RepairError("hdrgm XMP cannot express use_base_colour_space=0; keep ISO only")
    set_xmp(gm, lambda p: xmp.set_hdrgm(p, md.to_hdrgm()))
    return md


@action("hdrgm-from-iso")
def hdrgm_from_iso(gmf: GainMapFile, state: RepairState) -> str:
    md = _write_gainmap_hdrgm(gmf, state)
    set_xmp(gmf.primary, xmp.ensure_primary_version)
    approx = " (single-channel approximation; per-channel values stay in ISO)" if \
        state.metadata(gmf).is_multichannel else ""
    return f"wrote hdrgm XMP (attribute form, GainMapMax={md.gain_map_max[0]:.6g}) into the gain map{approx}"


@action("rewrite-hdrgm")
def rewrite_hdrgm(gmf: GainMapFile, state: RepairState) -> str:
    _write_gainmap_hdrgm(gmf, state)
    packet = gmf.primary.xmp
    if packet is not None and packet.hdrgm:  # the primary keeps only the signal; parameters live in the map
        set_xmp(gmf.primary, lambda p: xmp.set_hdrgm(p, {"Version": "1.0"}))
    return "rewrote hdrgm in attribute form with prefix hdrgm on the first Description (what libultrahdr reads)"


@action("add-hdrgm-version")
def add_hdrgm_version(gmf: GainMapFile, state: RepairState) -> str:
    state.metadata(gmf)  # the primary's signal only makes sense with gain-map parameters to point at
    set_xmp(gmf.primary, xmp.ensure_primary_version)
    return 'set hdrgm:Version="1.0" on the primary\'s first Description'


@action("fix-container")
def fix_container(gmf: GainMapFile, state: RepairState) -> str:
    gm = gainmap_of(gmf)
    gap = gmf.bytes_between(gmf.primary, gm)
    set_xmp(gmf.primary, lambda p: xmp.set_container_directory(p, gm.size, gap))
    padding = f"; Primary Item:Padding covers the {gap} byte(s) before the gain map" if gap else ""
    return f"added/corrected the GContainer Directory (Primary, GainMap with Item:Length){padding}"


@action("add-icc")
def add_icc(gmf: GainMapFile, state: RepairState) -> str:
    primary = gmf.primary
    name, why = choose_icc(gmf)
    profile = profiles.display_p3_profile() if name == "display-p3" else profiles.srgb_profile()
    replace_segments(primary, "icc", icc_schema.split_profile(profile), after=("jfif", "exif", "xmp"))
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
    gm = gainmap_of(gmf)
    md = state.metadata(gmf)
    if not md.use_base_colour_space:
        return "kept the gain-map ICC: the map applies in the alternate colour space, which it describes"
    removed = [s for s in gm.header_segments() if s.kind == "icc"]
    for s in removed:
        gm.remove(s)
    return f"removed {len(removed)} ICC chunk(s) from the gain map (unused when the base colour space applies)"
