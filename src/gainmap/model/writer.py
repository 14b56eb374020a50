"""The writer: a :class:`~gainmap.model.container.GainMapFile` back to bytes.

Every segment length is derived from its payload.  MPF entry sizes and offsets and the GContainer
``Item:Length`` are recomputed whenever the model no longer serialises to the bytes it was read from (or when
asked with ``recompute=True``); an unmodified file is reproduced byte for byte, stale values included.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gainmap.errors import SchemaError
from gainmap.formats import mpf as mpf_schema
from gainmap.formats import xmp as xmp_schema

if TYPE_CHECKING:
    from gainmap.model.container import GainMapFile


def to_bytes(gmf: GainMapFile, recompute: bool | None = None) -> bytes:
    """Serialise.  Derived values are recomputed when the model changed since reading, or when asked."""
    plain = b"".join(p.to_bytes() for p in gmf.parts)
    if recompute is None:
        recompute = gmf._original is None or plain != gmf._original
    if not recompute:
        return plain
    update_derived(gmf)
    return b"".join(p.to_bytes() for p in gmf.parts)

def update_derived(gmf: GainMapFile) -> None:
    """Recompute GContainer Item:Length, MPF entry sizes and offsets, and every absolute offset."""
    update_container_length(gmf)
    update_mpf(gmf)

def update_container_length(gmf: GainMapFile) -> None:
    """Set the GContainer GainMap ``Item:Length`` to the gain-map image's real size (and the Primary item's
    ``Item:Padding`` to the bytes kept between the primary and the gain map)."""
    gm = gmf.gainmap
    seg = gmf.primary.first("xmp")
    if gm is not None and seg is not None:
        packet = gmf.primary.xmp
        items = packet.container_items if packet is not None else []
        if packet is not None and any(i.semantic == "GainMap" and i.length != gm.size for i in items):
            try:
                new_packet = xmp_schema.set_container_directory(packet.packet, gm.size,
                                                                gmf.bytes_between(gmf.primary, gm))
            except SchemaError:  # a packet we cannot edit safely is written as it was read
                return
            seg.payload = xmp_schema.XMP_IDENT + new_packet

def update_mpf(gmf: GainMapFile) -> None:
    """Lay the file out, then set each linked MP entry's size and offset (primary: its size, offset 0)."""
    gmf.relayout()
    mseg = gmf.primary.first("mpf", header_only=False)
    info = gmf.primary.mpf
    if mseg is None or info is None or not info.entries:
        return
    base = mseg.offset + 8
    entries = []
    for i, entry in enumerate(info.entries):
        target = gmf.mpf_links[i] if i < len(gmf.mpf_links) else None
        if i == 0:
            entry = _replace_entry(entry, size=gmf.primary.size, offset=0)
        elif target is not None and target in gmf.images:
            entry = _replace_entry(entry, size=target.size, offset=target.offset - base)
        entries.append(entry)
    try:
        mseg.payload = mpf_schema.patch_entries(mseg.payload, entries)
    except SchemaError:
        return

def _replace_entry(entry: Any, **changes: int) -> Any:
    return replace(entry, **changes)
