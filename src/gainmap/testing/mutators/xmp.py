"""Faults in the XMP metadata: hdrgm values, the GContainer directory, malformed and hostile XML,
duplicates, ExtendedXMP, and hdrgm disagreeing with ISO 21496-1."""

from __future__ import annotations

import random

from gainmap.formats import xmp
from gainmap.formats.scanner import Segment
from gainmap.testing.mutators.base import (
    NotApplicable,
    Target,
    located,
    mutator,
    nonzero,
    replace_payload,
    set_field,
)


def _edit_gainmap_xmp(t: Target, packet: bytes) -> bytes:
    """Replace the gain map's XMP packet and recompute MPF offsets and Item:Length."""
    gmf = t.fresh()
    seg = t.seg("gainmap", "xmp", gmf)
    if len(packet) > xmp.MAX_APP1_PACKET:
        raise NotApplicable("packet too large")
    seg.payload = xmp.XMP_IDENT + packet
    return gmf.to_bytes(recompute=True)


@mutator("xmp-iso-mismatch", "sync")
def xmp_iso_mismatch(t: Target, rng: random.Random):
    """hdrgm XMP and ISO 21496-1 disagree (one hdrgm value moved; the values stay valid)."""
    t.iso_full()
    seg, packet = t.hdrgm_packet()
    values = t.hdrgm_values()
    name = rng.choice(("GainMapMax", "HDRCapacityMax", "Gamma"))
    old = values.get(name)
    if not isinstance(old, float):
        raise NotApplicable(f"hdrgm:{name} is not a single value")
    bump = rng.choice((0.5, 1.0, 2.0, 3.0))
    new = {**values, name: old + bump}
    if name == "GainMapMax" and not values.get("BaseRenditionIsHDR"):
        capacity = values["HDRCapacityMax"]
        assert isinstance(capacity, float | int | str)
        new["HDRCapacityMax"] = max(float(capacity), old + bump)
    new.pop("Version", None)
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {"Version": "1.0", **new}))
    return out, {"sync.mismatch"}, f"hdrgm:{name} {old} -> {old + bump}"


@mutator("hdrgm-min-gt-max", "hdrgm")
def hdrgm_min_gt_max(t: Target, rng: random.Random):
    """hdrgm GainMapMin above GainMapMax."""
    seg, packet = t.hdrgm_packet()
    values = t.hdrgm_values()
    top = values.get("GainMapMax")
    if not isinstance(top, float):
        raise NotApplicable("GainMapMax is per channel")
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {**values, "GainMapMin": top + rng.choice((0.25, 1, 4))}))
    return out, {"hdrgm.min-max"}, "GainMapMin > GainMapMax"


@mutator("hdrgm-gamma-zero", "hdrgm")
def hdrgm_gamma_zero(t: Target, rng: random.Random):
    """hdrgm Gamma 0 or negative."""
    seg, packet = t.hdrgm_packet()
    values = t.hdrgm_values()
    gamma = rng.choice((0.0, -1.0))
    out = _edit_gainmap_xmp(t, xmp.set_hdrgm(packet, {**values, "Gamma": gamma}))
    return out, {"hdrgm.gamma"}, f"Gamma {gamma}"


def _set_attribute_text(packet: bytes, name: str, text: str) -> bytes:
    """Set ``hdrgm:name`` to raw ``text`` in an attribute-form packet (no validation)."""
    key = f'hdrgm:{name}="'.encode()
    at = packet.find(key)
    if at < 0:
        raise NotApplicable(f"hdrgm:{name} is not an attribute")
    start = at + len(key)
    end = packet.index(b'"', start)
    return packet[:start] + text.encode() + packet[end:]


@mutator("hdrgm-nan", "hdrgm")
def hdrgm_nan(t: Target, rng: random.Random):
    """A NaN-producing hdrgm value ("NaN", "inf", "1e999", empty, text)."""
    seg, packet = t.hdrgm_packet()
    name = rng.choice(("GainMapMax", "Gamma", "HDRCapacityMax", "OffsetSDR"))
    text = rng.choice(("NaN", "nan", "inf", "-inf", "1e999", "", "1.0.0", "0x10"))
    out = _edit_gainmap_xmp(t, _set_attribute_text(packet, name, text))
    return out, {"hdrgm.value"}, f"hdrgm:{name}={text!r}"


@mutator("container-length", "container")
def container_length(t: Target, rng: random.Random):
    """GContainer Item:Length off by N (MPF kept right)."""
    gmf = t.fresh()
    seg = t.seg("primary", "xmp", gmf)
    pkt = gmf.primary.xmp
    if pkt is None or not pkt.container_items or gmf.gainmap is None:
        raise NotApplicable("no GContainer directory")
    n = nonzero(rng, 1, 500)
    length = max(1, gmf.gainmap.size + n)
    seg.payload = xmp.wrap_app1(xmp.set_container_directory(pkt.packet, length))
    gmf.update_mpf()
    return gmf.to_bytes(recompute=False), {"container.item-length"}, f"Item:Length {gmf.gainmap.size} -> {length}"


@mutator("xmp-malformed", "xmp")
def xmp_malformed(t: Target, rng: random.Random):
    """An XMP packet that is not well-formed XML (cut short, or a stray '<')."""
    which = rng.choice(("primary", "gainmap"))
    seg = t.seg(which, "xmp")
    packet = xmp.packet_of(seg.payload)
    if rng.random() < 0.5:
        bad = packet[: rng.randint(1, max(1, len(packet) // 2))]
    else:
        at = packet.index(b">") + 1
        bad = packet[:at] + b"<<" + packet[at:]
    return replace_payload(t, seg, xmp.XMP_IDENT + bad), {"xmp.malformed"}, f"{which} XMP broken"


@mutator("xmp-deep", "xmp")
def xmp_deep(t: Target, rng: random.Random):
    """Deeply nested XML inside the gain map's rdf:Description (beyond the parser's depth limit)."""
    seg, packet = t.hdrgm_packet()
    depth = rng.choice((xmp.MAX_DEPTH + 1, 200, 2000, 9000))  # 9000 still fits one APP1
    nest = b"<a>" * depth + b"x" + b"</a>" * depth
    wrapped = b'<gmtest:Deep xmlns:gmtest="urn:gainmap:testing:1.0/">' + nest + b"</gmtest:Deep>"
    at = packet.rindex(b"</rdf:Description>") if b"</rdf:Description>" in packet else -1
    if at < 0:
        at = packet.rindex(b"/>")
        closing = packet[at:at + 2]
        packet = packet[:at] + b">" + wrapped + b"</rdf:Description>" + packet[at + len(closing):]
    else:
        packet = packet[:at] + wrapped + packet[at:]
    return replace_payload(t, seg, xmp.XMP_IDENT + packet), {"xmp.limit"}, f"nesting depth {depth}"


_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [\n <!ENTITY lol "lol">\n'
           + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                      for i in range(1, 10))
           + b"]>\n")
_XXE = b'<?xml version="1.0"?>\n<!DOCTYPE x:xmpmeta [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'


@mutator("xmp-entities", "xmp")
def xmp_entities(t: Target, rng: random.Random):
    """Hostile XML: a billion-laughs or external-entity DOCTYPE before the gain map's packet."""
    seg, packet = t.hdrgm_packet()
    kind = rng.choice(("laughs", "xxe"))
    head = _LAUGHS if kind == "laughs" else _XXE
    ref = b"&lol9;" if kind == "laughs" else b"&xxe;"
    body = packet.replace(b'rdf:about=""', b'rdf:about="' + ref + b'"', 1)
    return replace_payload(t, seg, xmp.XMP_IDENT + head + body), {"xmp.doctype"}, f"{kind} DOCTYPE"


@mutator("swap-xmp", "hdrgm")
def swap_xmp(t: Target, rng: random.Random):
    """The primary's and the gain map's XMP packets swapped."""
    gmf = t.fresh()
    a, b = t.seg("primary", "xmp", gmf), t.seg("gainmap", "xmp", gmf)
    pkt = t.image("gainmap", gmf).xmp
    if pkt is None or "GainMapMax" not in pkt.hdrgm:
        raise NotApplicable("no hdrgm parameters in the gain map")
    a.payload, b.payload = b.payload, a.payload
    return gmf.to_bytes(recompute=True), {"hdrgm.required", "hdrgm.params-in-primary"}, "XMP swapped"


@mutator("xmp-duplicate", "xmp")
def xmp_duplicate(t: Target, rng: random.Random):
    """The gain map's standard XMP packet written twice."""
    gmf = t.fresh()
    seg = t.seg("gainmap", "xmp", gmf)
    gm = t.image("gainmap", gmf)
    gm.items.insert(gm.index_of(seg) + 1, Segment(seg.marker, seg.payload))
    return gmf.to_bytes(recompute=True), {"xmp.duplicate"}, "second XMP packet in the gain map"


@mutator("extended-xmp-length", "xmp")
def extended_xmp_length(t: Target, rng: random.Random):
    """ExtendedXMP chunk declaring an oversized full length."""
    segs = [s for s in t.gmf.primary.header_segments() if s.kind == "extended_xmp"]
    if not segs:
        raise NotApplicable("no ExtendedXMP")
    seg = rng.choice(segs)
    n = rng.choice((0xFFFFFFFF, 1 << 30, 1 << 24))
    _, spans = located(xmp.ExtendedXmpChunk, seg.payload, seg.payload_offset)
    out = set_field(t.data, spans, xmp.ExtendedXmpChunk, "full_length", n)
    return out, {"xmp.extended-coverage"}, f"ExtendedXMP full length -> {n}"
