"""hdrgm.*: Adobe gain-map XMP, in the primary (the signal) and the gain map (the parameters).

Who reads what (formats.md §4.1, §7): Skia reads the gain map's hdrgm only when the primary says
hdrgm:Version="1.0" (attribute or element, standard or extended packet) and accepts attribute, element and
3-item rdf:Seq forms; libavif reads the gain map's packet alone, needs Version as an attribute and takes 1- or
3-item Seqs; libultrahdr reads only attributes with the literal prefix ``hdrgm:`` in the first rdf:Description
of the gain map's packet and requires Version, GainMapMax and HDRCapacityMax
(:data:`gainmap.formats.xmp.props.READER_FORMS`).  Value ranges follow libultrahdr's validation.
"""

from __future__ import annotations

from collections.abc import Iterator

from gainmap.analysis.checks import _xmp_common as common
from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.formats.xmp import HdrgmValue
from gainmap.formats.xmp.props import HDRGM_PROPS, READER_FORMS
from gainmap.metadata import HDRGM_DEFAULTS, HDRGM_NS

_REQUIRED = tuple(p.name for p in HDRGM_PROPS if "libultrahdr" in p.required_by)
#: Parser problem codes of the primary's packets worth reporting: the primary's hdrgm values are not read by
#: any reader (hdrgm.params-in-primary says so), so only these facts are.
_PRIMARY_CODES = ("xmp.hdrgm.duplicate", "xmp.hdrgm.unknown")


def _span(ref: common.PacketRef, v: HdrgmValue) -> tuple[int, int]:
    """(absolute offset, length) of one property as written."""
    name = f"{v.prefix}:{v.name}" if v.prefix else v.name
    if v.form == "attribute" and isinstance(v.raw, str):
        return ref.absolute(v.offset), len(name) + len(v.raw) + 3
    return ref.absolute(v.offset), len(name) + 2


_READER_NAMES = {"skia": "Skia", "libavif": "libavif", "libultrahdr": "libultrahdr"}


def _readers(form: str) -> tuple[str, str]:
    """(readers that accept ``form``, readers that do not), from READER_FORMS ("seq1"/"seq3" for Seqs)."""
    yes = [_READER_NAMES[r] for r, forms in READER_FORMS.items() if form in forms]
    no = [_READER_NAMES[r] for r, forms in READER_FORMS.items() if form not in forms]
    return " and ".join(yes) or "no reader", " and ".join(no) or "no reader"


def _names(values: list[HdrgmValue]) -> str:
    return ", ".join(f"hdrgm:{v.name}" for v in values)


def _first(ref: common.PacketRef) -> tuple[int, int]:
    """Where the hdrgm properties of a packet start (its first property), for findings about the whole set."""
    values = ref.packet.hdrgm_all
    if values:
        return _span(ref, values[0])
    return ref.start, 1


def _gainmap(ctx: CheckContext) -> common.PacketRef | None:
    """The gain map's packet when it carries hdrgm properties."""
    ref = common.gainmap_packet(ctx)
    return ref if ref is not None and ref.packet.hdrgm_all else None


def _primary_version(ctx: CheckContext) -> tuple[common.PacketRef, HdrgmValue] | None:
    info = common.image_xmp(ctx, "primary")
    for ref in info.refs if info is not None else []:
        v = ref.packet.hdrgm.get("Version")
        if v is not None:
            return ref, v
    return None


# ---------------------------------------------------------------------------------------------- the primary
@check("hdrgm.primary-version")
def primary_version(ctx: CheckContext) -> Iterator[Finding]:
    ref = common.primary_hdrgm(ctx)
    if ref is None:
        return
    found = _primary_version(ctx)
    if found is None:
        decl = ref.packet.declarations(HDRGM_NS)
        prefix = decl[0].prefix if decl else None
        rel = ref.find(f"xmlns:{prefix}=".encode()) if prefix else None
        offset = ref.absolute(rel) if rel is not None else _first(ref)[0]
        yield Finding("hdrgm.primary-version", offset=offset, length=1, image=ref.image,
                      message=f"{ref.label} uses the hdrgm namespace but has no hdrgm:Version: Skia does not read "
                              "the gain map's hdrgm parameters")
        return
    vref, v = found
    if v.value == "1.0":
        return
    offset, length = _span(vref, v)
    shown = f'"{v.value}"' if isinstance(v.value, str) else f"a {v.form} value {v.raw!r}"
    yield Finding("hdrgm.primary-version", offset=offset, length=length, image=vref.image,
                  message=f'{vref.label} says hdrgm:Version={shown}, not "1.0": Skia does not read the gain '
                          "map's hdrgm parameters", detail={"version": v.value})


@check("hdrgm.primary-missing")
def primary_missing(ctx: CheckContext) -> Iterator[Finding]:
    """The gain map has hdrgm parameters the primary does not announce: Skia ignores them; libultrahdr and
    libavif read the gain map alone.  Only a fact (info) when Chrome has ISO 21496-1 metadata instead."""
    gref = _gainmap(ctx)
    if gref is None or common.primary_hdrgm(ctx) is not None:
        return
    iso_route = ctx.six["iso_primary"] and ctx.six["iso_gainmap"]
    offset, length = _first(gref)
    tail = ("Chrome and Android use the ISO 21496-1 metadata instead" if iso_route
            else "Chrome and Android ignore them and show SDR")
    yield Finding("hdrgm.primary-missing", "info" if iso_route else None, offset, length,
                  f"the gain map has hdrgm parameters but the primary's XMP has no hdrgm:Version; libultrahdr and "
                  f"libavif read the gain map alone, {tail}", image=gref.image)


@check("hdrgm.params-missing")
def params_missing(ctx: CheckContext) -> Iterator[Finding]:
    ref = common.primary_hdrgm(ctx)
    gm = ctx.gainmap
    if ref is None or _gainmap(ctx) is not None:
        return
    if gm is None or gm is ctx.primary:
        version = ref.packet.hdrgm.get("Version")
        offset, length = _span(ref, version) if version is not None else (ref.start, 1)
        yield Finding("hdrgm.params-missing", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} declares hdrgm, but the file has no gain-map image to carry the "
                              "parameters")
        return
    gref = common.gainmap_packet(ctx)
    index = ctx.image_index(gm)
    if gref is None:
        why = "has no XMP"
        offset, length = gm.offset, 2
    elif not gref.packet.well_formed:
        why = "has an XMP packet that is not well-formed"
        offset, length = gref.start, 1
    else:
        why = "has XMP without hdrgm properties"
        offset, length = gref.start, 1
    yield Finding("hdrgm.params-missing", offset=offset, length=length, image=index,
                  message=f"the primary declares hdrgm, but the gain map at {common.hex_at(gm.offset)} {why}: "
                          "hdrgm readers find no parameters")


@check("hdrgm.params-in-primary")
def params_in_primary(ctx: CheckContext) -> Iterator[Finding]:
    info = common.image_xmp(ctx, "primary")
    for ref in info.refs if info is not None else []:
        params = [v for v in ref.packet.hdrgm_all if v.name != "Version"]
        if not params:
            continue
        offset, length = _span(ref, params[0])
        yield Finding("hdrgm.params-in-primary", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} holds gain-map parameters ({_names(params)}); readers look for them "
                              "only in the gain map's XMP", detail={"properties": [v.name for v in params]})


@check("hdrgm.duplicate", "hdrgm.unknown-property", "hdrgm.seq-count", "hdrgm.bool-case", "hdrgm.value")
def parser_problems(ctx: CheckContext) -> Iterator[Finding]:
    """The parser's hdrgm problems: all of them in the gain map's packet, and repeats and unknown names in
    the primary's.  Each spans the property it is about."""
    info = common.image_xmp(ctx, "primary")
    for ref in info.refs if info is not None else []:
        yield from _reader_findings(ref, _PRIMARY_CODES)
    gref = common.gainmap_packet(ctx)
    if gref is not None:
        yield from _reader_findings(gref, None)


def _reader_findings(ref: common.PacketRef, codes: tuple[str, ...] | None) -> Iterator[Finding]:
    spans = {v.offset: _span(ref, v) for v in ref.packet.hdrgm_all}
    for f in common.problem_findings(ref, ["hdrgm"]):
        code = f.detail.get("code", f.id)
        if codes is not None and code not in codes:
            continue
        rel = next((p.offset for p in ref.packet.problems if ref.absolute(p.offset) == f.offset), None)
        offset, length = spans.get(rel, (f.offset, f.length)) if rel is not None else (f.offset, f.length)
        yield Finding(code, f.severity, offset, length, f.message, f.image)


# ---------------------------------------------------------------------------------------------- the gain map
@check("hdrgm.version", "hdrgm.version-element")
def gainmap_version(ctx: CheckContext) -> Iterator[Finding]:
    ref = _gainmap(ctx)
    if ref is None:
        return
    v = ref.packet.hdrgm.get("Version")
    if v is None:
        offset, length = _first(ref)
        yield Finding("hdrgm.version", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} has hdrgm parameters but no hdrgm:Version: libavif ignores the gain "
                              "map and Skia rejects the parameters")
        return
    offset, length = _span(ref, v)
    if v.value != "1.0":
        shown = f'"{v.value}"' if isinstance(v.value, str) else f"a {v.form} value"
        yield Finding("hdrgm.version", offset=offset, length=length, image=ref.image,
                      message=f'{ref.label} says hdrgm:Version={shown}, not "1.0"', detail={"version": v.value})
    if v.form == "element":
        yield Finding("hdrgm.version-element", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} writes <hdrgm:Version> as an element: libavif accepts it only as an "
                              "attribute and libultrahdr reads attributes only")


@check("hdrgm.required")
def required(ctx: CheckContext) -> Iterator[Finding]:
    ref = _gainmap(ctx)
    if ref is None:
        return
    absent = [name for name in _REQUIRED if name not in ref.packet.hdrgm]
    if not absent:
        return
    offset, length = _first(ref)
    defaults = [n for n in absent if n in HDRGM_DEFAULTS]
    tail = (f"; Skia and libavif fall back to {', '.join(f'{n}={HDRGM_DEFAULTS[n]}' for n in defaults)}"
            if defaults else "")
    yield Finding("hdrgm.required", offset=offset, length=length, image=ref.image,
                  message=f"{ref.label} lacks {', '.join('hdrgm:' + n for n in absent)}, which libultrahdr "
                          f"requires{tail}", detail={"missing": absent})


@check("hdrgm.element-form", "hdrgm.seq-form", "hdrgm.seq-single")
def forms(ctx: CheckContext) -> Iterator[Finding]:
    """Property forms other than attributes, and which readers then miss them (READER_FORMS)."""
    ref = _gainmap(ctx)
    if ref is None:
        return
    values = ref.packet.hdrgm_all
    elements = [v for v in values if v.form == "element" and v.name != "Version"]
    seqs = [v for v in values if v.form == "seq"]
    singles = [v for v in seqs if v.items == 1]
    if elements:
        offset, length = _span(ref, elements[0])
        yes, no = _readers("element")
        yield Finding("hdrgm.element-form", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} writes {_names(elements)} as elements: {yes} accept them, {no} "
                              "reads attributes only and rejects the file",
                      detail={"properties": [v.name for v in elements]})
    if seqs:
        offset, length = _span(ref, seqs[0])
        counts = ", ".join(f"{v.name} ({v.items} items)" for v in seqs)
        forms = sorted({f"seq{v.items}" for v in seqs if v.items in (1, 3)}) or ["seq3"]
        yes = " / ".join(f"{_readers(f)[0]} ({f[3:]} items)" for f in forms)
        yield Finding("hdrgm.seq-form", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} gives per-channel rdf:Seq values for {counts}: read by {yes}; "
                              "libultrahdr reads attributes only and rejects the file",
                      detail={"properties": [v.name for v in seqs]})
    if singles:
        offset, length = _span(ref, singles[0])
        yield Finding("hdrgm.seq-single", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} writes {_names(singles)} as a one-item rdf:Seq: {_readers('seq1')[1]} "
                              "ignore it (Skia reads only 3-item Seqs) and use the default instead",
                      detail={"properties": [v.name for v in singles]})


@check("hdrgm.prefix", "hdrgm.first-description")
def placement(ctx: CheckContext) -> Iterator[Finding]:
    ref = _gainmap(ctx)
    if ref is None:
        return
    values = ref.packet.hdrgm_all
    other = [v for v in values if v.prefix != "hdrgm"]
    if other:
        offset, length = _span(ref, other[0])
        prefixes = sorted({v.prefix or "(default namespace)" for v in other})
        yield Finding("hdrgm.prefix", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} binds the hdrgm namespace to the prefix {', '.join(prefixes)} for "
                              f"{_names(other)}: libultrahdr matches the literal text \"hdrgm:\"",
                      detail={"prefixes": prefixes})
    later = [v for v in values if v.description_index > 0]
    if later:
        offset, length = _span(ref, later[0])
        where = sorted({v.description_index for v in later})
        yield Finding("hdrgm.first-description", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label} has {_names(later)} in rdf:Description "
                              f"{', '.join(str(i + 1) for i in where)} of {ref.packet.descriptions}: libultrahdr "
                              "reads only the first", detail={"descriptions": where})


@check("hdrgm.base-is-hdr")
def base_is_hdr(ctx: CheckContext) -> Iterator[Finding]:
    ref = _gainmap(ctx)
    v = ref.packet.hdrgm.get("BaseRenditionIsHDR") if ref is not None else None
    if ref is None or v is None or v.value is not True:
        return
    offset, length = _span(ref, v)
    yield Finding("hdrgm.base-is-hdr", offset=offset, length=length, image=ref.image,
                  message=f"{ref.label} says BaseRenditionIsHDR=True (the base is the HDR rendition): libavif "
                          "swaps the headroom pairs, libultrahdr rejects the file")


def _effective(ref: common.PacketRef, name: str) -> tuple[tuple[float, ...], HdrgmValue | None]:
    """The values readers use for ``name`` (the default when absent or unusable) and the property, if any."""
    v = ref.packet.hdrgm.get(name)
    value = v.value if v is not None else None
    if isinstance(value, tuple):
        return tuple(float(x) for x in value), v
    if isinstance(value, float):
        return (value,), v
    default = HDRGM_DEFAULTS[name]
    return (float(default),), None


def _channels(a: tuple[float, ...], b: tuple[float, ...]) -> list[tuple[int, float, float]]:
    n = max(len(a), len(b))
    a3 = a * n if len(a) == 1 else a
    b3 = b * n if len(b) == 1 else b
    return [(i, x, y) for i, (x, y) in enumerate(zip(a3, b3))]


def _where(ref: common.PacketRef, *props: HdrgmValue | None) -> tuple[int, int]:
    v = next((p for p in props if p is not None), None)
    return _span(ref, v) if v is not None else _first(ref)


def _show(values: tuple[float, ...]) -> str:
    return f"{values[0]:g}" if len(values) == 1 else "(" + ", ".join(f"{x:g}" for x in values) + ")"


@check("hdrgm.min-max", "hdrgm.gamma", "hdrgm.offset", "hdrgm.capacity-min", "hdrgm.capacity-order")
def ranges(ctx: CheckContext) -> Iterator[Finding]:
    """Value ranges libultrahdr enforces (absent properties take their defaults, as every reader does)."""
    ref = _gainmap(ctx)
    if ref is None:
        return
    lo, lo_v = _effective(ref, "GainMapMin")
    hi, hi_v = _effective(ref, "GainMapMax")
    bad = [(i, x, y) for i, x, y in _channels(lo, hi) if x > y]
    if bad and (lo_v or hi_v):
        offset, length = _where(ref, lo_v, hi_v)
        chans = "; ".join(f"channel {i}: {x:g} > {y:g}" for i, x, y in bad)
        yield Finding("hdrgm.min-max", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label}: GainMapMin > GainMapMax ({chans})",
                      detail={"min": list(lo), "max": list(hi)})
    gamma, gamma_v = _effective(ref, "Gamma")
    if gamma_v is not None and any(g <= 0 for g in gamma):
        offset, length = _span(ref, gamma_v)
        yield Finding("hdrgm.gamma", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label}: hdrgm:Gamma={_show(gamma)} is not > 0", detail={"gamma": list(gamma)})
    for name in ("OffsetSDR", "OffsetHDR"):
        values, v = _effective(ref, name)
        if v is not None and any(x < 0 for x in values):
            offset, length = _span(ref, v)
            yield Finding("hdrgm.offset", offset=offset, length=length, image=ref.image,
                          message=f"{ref.label}: hdrgm:{name}={_show(values)} is negative; libultrahdr rejects it",
                          detail={"property": name, "value": list(values)})
    (cap_min,), min_v = _effective(ref, "HDRCapacityMin")
    (cap_max,), max_v = _effective(ref, "HDRCapacityMax")
    if min_v is not None and cap_min < 0:
        offset, length = _span(ref, min_v)
        yield Finding("hdrgm.capacity-min", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label}: hdrgm:HDRCapacityMin={cap_min:g} is negative",
                      detail={"value": cap_min})
    if (min_v or max_v) and cap_min >= cap_max:
        offset, length = _where(ref, max_v, min_v)
        yield Finding("hdrgm.capacity-order", offset=offset, length=length, image=ref.image,
                      message=f"{ref.label}: HDRCapacityMin {cap_min:g} is not below HDRCapacityMax {cap_max:g}",
                      detail={"min": cap_min, "max": cap_max})
