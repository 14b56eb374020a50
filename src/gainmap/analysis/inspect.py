"""``gainmap inspect``: the structure of a file as a tree (text or JSON) and a hex view that names owners."""

from __future__ import annotations

import math
from typing import Any

from gainmap.formats.scanner import Raw, Segment
from gainmap.model.container import GainMapFile, Gap, JpegImage

INSPECT_SCHEMA_VERSION = 1


def _frac(pair: tuple[int, int] | None) -> dict[str, Any] | None:
    if pair is None:
        return None
    n, d = pair
    return {"n": n, "d": d, "value": (n / d) if d else None}


def _mpf_json(image: JpegImage) -> dict[str, Any] | None:
    info = image.mpf
    if info is None:
        return None
    return {
        "byte_order": info.byte_order,
        "number_of_images": info.number_of_images,
        "tags": [{"tag": f"0x{t.tag:04X}", "type": t.type, "count": t.count} for t in info.index_tags],
        "entries": [{"index": i, "attribute": f"0x{e.attribute:08X}", "type": f"0x{e.type_code:06X}",
                     "size": e.size, "offset": e.offset, "dependents": [e.dep1, e.dep2]}
                    for i, e in enumerate(info.entries)],
        "problems": [_problem_json(p) for p in info.problems],
    }


def _iso_json(image: JpegImage) -> dict[str, Any] | None:
    rec = image.iso
    if rec is None:
        return None
    out: dict[str, Any] = {"layout": rec.layout, "minimum_version": rec.minimum_version,
                           "writer_version": rec.writer_version}
    if rec.layout != "version-only":
        out.update({
            "flags": f"0x{rec.flags:02X}" if rec.flags is not None else None,
            "multichannel": rec.is_multichannel,
            "use_base_colour_space": rec.use_base_colour_space,
            "base_hdr_headroom": _frac(rec.base_hdr_headroom),
            "alternate_hdr_headroom": _frac(rec.alternate_hdr_headroom),
            "channels": [{k: _frac(v) for k, v in ch.items()} for ch in rec.channels],
        })
    out["problems"] = [_problem_json(p) for p in rec.problems]
    return out


def _xmp_json(image: JpegImage) -> dict[str, Any] | None:
    packet = image.xmp
    if packet is None:
        return None
    out: dict[str, Any] = {
        "well_formed": packet.well_formed,
        "bytes": len(packet.packet),
        "hdrgm": {name: {"value": _plain(v.value), "form": v.form, "prefix": v.prefix}
                  for name, v in packet.hdrgm.items()},
        "container": [{"semantic": i.semantic, "mime": i.mime, "length": i.length, "padding": i.padding}
                      for i in packet.container_items],
    }
    if packet.apple is not None:
        a = packet.apple
        out["apple"] = {"aux_type": a.aux_type, "version": a.version, "headroom": a.headroom}
    if packet.has_extended_xmp:
        out["has_extended_xmp"] = packet.has_extended_xmp
    out["problems"] = [_problem_json(p) for p in packet.problems]
    return out


def _icc_json(image: JpegImage) -> dict[str, Any] | None:
    from gainmap.formats import icc

    chunks = image.icc_chunks()
    if not chunks:
        return None
    profile = image.icc
    out: dict[str, Any] = {"chunks": len(chunks), "bytes": len(profile) if profile else None}
    if profile:
        prof = icc.parse_icc_profile(profile)
        out.update({"description": prof.description,
                    "colour_space": prof.header.colour_space if prof.header else None,
                    "version": ".".join(map(str, prof.header.version)) if prof.header else None})
    return out


def _exif_json(image: JpegImage) -> dict[str, Any] | None:
    info = image.exif
    if info is None:
        return None
    out: dict[str, Any] = {"byte_order": info.byte_order, "color_space": info.color_space}
    if info.apple is not None:
        out["apple_maker_note"] = {"hdr_headroom": _frac(info.apple.headroom), "hdr_gain": _frac(info.apple.gain)}
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _problem_json(p: Any) -> dict[str, Any]:
    return {"code": p.code, "offset": p.offset, "length": p.length, "message": p.message}


def _item_json(item: Segment | Raw) -> dict[str, Any]:
    if isinstance(item, Raw):
        return {"marker": None, "kind": "raw", "reason": item.reason, "offset": item.offset, "length": item.size}
    out: dict[str, Any] = {"marker": item.name, "kind": item.kind, "offset": item.offset, "length": item.size}
    if item.fill:
        out["fill"] = item.fill
    if item.has_length:
        out["payload_offset"] = item.payload_offset
        out["payload_length"] = len(item.payload)
    if item.ecs is not None:
        out["ecs_length"] = len(item.ecs)
    return out


def inspect_json(gmf: GainMapFile) -> dict[str, Any]:
    """The whole structure as JSON-ready data (documented in docs/json-output.md)."""
    parts = []
    for part in gmf.parts:
        if isinstance(part, Gap):
            parts.append({"type": "gap", "kind": part.kind, "offset": part.offset, "length": part.size,
                          "looks_like": part.looks_like})
            continue
        parts.append({
            "type": "image", "role": part.role, "offset": part.offset, "length": part.size,
            "complete": part.complete, "width": part.width, "height": part.height,
            "components": part.components, "progressive": part.progressive,
            "segments": [_item_json(i) for i in part.items],
            "mpf": _mpf_json(part), "xmp": _xmp_json(part), "iso21496": _iso_json(part),
            "icc": _icc_json(part), "exif": _exif_json(part),
        })
    metadata = {k: {"gain_map_min": list(m.gain_map_min), "gain_map_max": list(m.gain_map_max),
                    "gamma": list(m.gamma), "base_offset": list(m.base_offset),
                    "alternate_offset": list(m.alternate_offset), "base_hdr_headroom": m.base_hdr_headroom,
                    "alternate_hdr_headroom": m.alternate_hdr_headroom,
                    "use_base_colour_space": m.use_base_colour_space}
                for k, m in gmf.metadata_sources().items()}
    return {"schema_version": INSPECT_SCHEMA_VERSION, "file": gmf.source,
            "size": sum(p.size for p in gmf.parts), "parts": parts,
            "gainmap_offset": gmf.gainmap.offset if gmf.gainmap is not None else None,
            "locations": gmf.locations, "metadata": metadata,
            "problems": [_problem_json(p) for p in gmf.problems]}


def render_tree(gmf: GainMapFile) -> str:
    """A readable tree with absolute offsets (decimal and hex) and lengths."""
    data = inspect_json(gmf)
    lines = [f"{data['file']}  {data['size']} bytes"]
    for part in data["parts"]:
        if part["type"] == "gap":
            lines.append(f"├─ gap ({part['kind']}, looks like {part['looks_like']})  "
                         f"@{part['offset']} (0x{part['offset']:X})  {part['length']} bytes")
            continue
        dims = f"{part['width']}x{part['height']}x{part['components']}" if part["width"] else "no frame"
        prog = ", progressive" if part["progressive"] else ""
        trunc = "" if part["complete"] else ", TRUNCATED"
        lines.append(f"├─ image: {part['role']}  @{part['offset']} (0x{part['offset']:X})  "
                     f"{part['length']} bytes  {dims}{prog}{trunc}")
        for seg in part["segments"]:
            extra = f" +{seg['ecs_length']} bytes entropy-coded" if "ecs_length" in seg else ""
            label = seg["marker"] or "raw"
            kind = f" [{seg['kind']}]" if seg["kind"] not in (label.lower(), "raw") else ""
            lines.append(f"│   ├─ {label:<5}{kind:<16} @{seg['offset']:>9} (0x{seg['offset']:08X})  "
                         f"{seg['length']:>8} bytes{extra}")
        for key in ("mpf", "xmp", "iso21496", "icc", "exif"):
            if part[key] is not None:
                lines.extend(_section(key, part[key]))
    if data["metadata"]:
        lines.append("├─ gain-map metadata")
        for source, md in data["metadata"].items():
            vals = ", ".join(f"{k}={_fmt(v)}" for k, v in md.items())
            lines.append(f"│   ├─ {source}: {vals}")
    loc = ", ".join(f"{k}={v}" for k, v in data["locations"].items())
    lines.append(f"└─ gain map located by: {loc}")
    for p in data["problems"]:
        lines.append(f"   ! @{p['offset']} (0x{p['offset']:X}) {p['code']}: {p['message']}")
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def _section(key: str, value: dict[str, Any]) -> list[str]:
    out = [f"│   ├─ {key}"]
    for k, v in value.items():
        if k == "problems" and not v:
            continue
        if isinstance(v, list) and v and isinstance(v[0], dict):
            out.append(f"│   │   ├─ {k}:")
            out.extend(f"│   │   │   - {_compact(x)}" for x in v)
        elif isinstance(v, dict):
            out.append(f"│   │   ├─ {k}: {_compact(v)}")
        else:
            out.append(f"│   │   ├─ {k}: {_fmt(v)}")
    return out


def _compact(d: dict[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        if isinstance(v, dict) and "n" in v and "d" in v:
            val = v["value"]
            parts.append(f"{k}={v['n']}/{v['d']}" + (f" ({val:.6g})" if val is not None else " (D=0)"))
        elif isinstance(v, dict):
            parts.append(f"{k}={{{_compact(v)}}}")
        else:
            parts.append(f"{k}={_fmt(v)}")
    return ", ".join(parts)


def owner_of(gmf: GainMapFile, offset: int) -> str:
    """Name the structure that owns an absolute offset (image, segment, field where known)."""
    for part, item in gmf.walk():
        if item is None:
            continue
        start = item.offset - (item.fill if isinstance(item, Segment) else 0)
        if start <= offset < start + item.size and isinstance(part, JpegImage):
            where = f"{part.role} image @{part.offset}"
            if isinstance(item, Raw):
                return f"{where}: raw bytes ({item.reason}) @{item.offset}"
            rel = offset - item.offset
            detail = _field_in(part, item, rel)
            return f"{where}: {item.name} [{item.kind}] @{item.offset}, +{rel}{detail}"
    for gap in gmf.gaps:
        if gap.offset <= offset < gap.end:
            return f"gap ({gap.kind}, {gap.looks_like}) @{gap.offset}, +{offset - gap.offset}"
    return "outside the file"


def _field_in(image: JpegImage, seg: Segment, rel: int) -> str:
    if rel < 2:
        return " (marker)"
    if seg.has_length and rel < 4:
        return " (length field)"
    if seg.ecs is not None and rel >= 4 + len(seg.payload):
        return " (entropy-coded data)"
    if seg.kind == "mpf" and image.mpf is not None and image.mpf.entries_offset is not None:
        entry_rel = rel - 4 - image.mpf.entries_offset
        if 0 <= entry_rel < 16 * len(image.mpf.entries):
            idx, within = divmod(entry_rel, 16)
            name = ("attribute", "attribute", "attribute", "attribute", "size", "size", "size", "size",
                    "offset", "offset", "offset", "offset", "dep1", "dep1", "dep2", "dep2")[within]
            return f" (MP entry {idx} {name})"
    return " (payload)"


def hex_view(gmf: GainMapFile, data: bytes, offset: int, context: int = 48) -> str:
    """Hex and ASCII rows around ``offset`` with the owner of the byte named."""
    if not 0 <= offset < len(data):
        return f"offset {offset} is outside the file (size {len(data)})"
    start = max(0, (offset - context) // 16 * 16)
    end = min(len(data), offset + context + 1)
    rows = [f"@{offset} (0x{offset:X}) belongs to: {owner_of(gmf, offset)}"]
    for row in range(start, end, 16):
        chunk = data[row:row + 16]
        hexes = " ".join(f"[{b:02x}]" if row + i == offset else f" {b:02x} " for i, b in enumerate(chunk))
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append(f"{row:08x}  {hexes:<64}  {text}")
    return "\n".join(rows)
