"""container.*: the GContainer Directory in the primary's XMP (formats.md §4.3).

Skia's fallback, used only when the MPF images fail, places item k at the primary's end plus the first item's
Padding plus the Lengths of the items before it, and accepts only image/jpeg items.  The Directory is read from
the primary's standard XMP, else from its ExtendedXMP (Skia searches both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from gainmap.analysis.checks import _xmp_common as common
from gainmap.analysis.checks.context import CheckContext
from gainmap.analysis.checks.registry import Finding, check
from gainmap.formats.xmp import ContainerItem

_SEMANTICS = ("Primary", "GainMap")


def _item_property(ref: common.PacketRef, item: ContainerItem, name: str, end: int | None) -> tuple[int, int]:
    """(absolute offset, length) of the ``Item:name`` attribute or element inside ``item`` (the item's own
    offset, length 1, when it has none)."""
    window = ref.text[item.offset:end if end is not None else item.offset + 65536]
    key = re.escape(name.encode())
    hits = [m for m in (re.search(rb"[\w.-]+:" + key + rb"""\s*=\s*("[^"]*"|'[^']*')""", window),
                        re.search(rb"<[\w.-]+:" + key + rb">[^<]*</[^>]*>", window)) if m]
    if not hits:
        return ref.absolute(item.offset), 1
    m = min(hits, key=lambda h: h.start())
    start = m.start() + (1 if m.group().startswith(b"<") else 0)
    return ref.absolute(item.offset + start), m.end() - m.start() - (1 if m.group().startswith(b"<") else 0)


def _directory(ctx: CheckContext) -> tuple[common.PacketRef, list[ContainerItem]] | None:
    ref = common.primary_directory(ctx)
    if ref is None:
        return None
    return ref, list(ref.packet.container_items)


def _ends(items: list[ContainerItem]) -> list[int | None]:
    return [items[i + 1].offset if i + 1 < len(items) else None for i in range(len(items))]


@check("container.form", "container.duplicate", "container.item-length", "container.item-offset")
def parser_problems(ctx: CheckContext) -> Iterator[Finding]:
    """What the XMP parser met in the Directory (form, a second Directory, Length or Padding not an integer)."""
    for ref in common.packets(ctx):
        yield from common.problem_findings(ref, ["container"])


@check("container.missing")
def missing(ctx: CheckContext) -> Iterator[Finding]:
    """The primary declares hdrgm but has no Directory (Lightroom, libvips and Adobe Camera Raw write none)."""
    ref = common.primary_hdrgm(ctx)
    gm = ctx.gainmap
    if ref is None or gm is None or gm is ctx.primary or common.primary_directory(ctx) is not None:
        return  # without a gain map, locate.gainmap-missing says what matters
    version = ref.packet.hdrgm.get("Version")
    offset = ref.absolute(version.offset) if version is not None else ref.start
    yield Finding("container.missing", offset=offset, length=len("hdrgm:Version") if version else 1,
                  image=ref.image,
                  message=f"{ref.label} uses hdrgm but has no Container:Directory (Ultra HDR v1.0 requires one); "
                          "Chrome has no GContainer fallback if the MPF index goes stale")


@check("container.semantic-order")
def semantic_order(ctx: CheckContext) -> Iterator[Finding]:
    found = _directory(ctx)
    if found is None:
        return
    ref, items = found
    if not items:
        return
    first = items[0]
    if first.semantic != "Primary":
        yield Finding("container.semantic-order", offset=ref.absolute(first.offset), length=1, image=ref.image,
                      message=f"the first Directory item has Item:Semantic={first.semantic!r}, not 'Primary': "
                              "Skia's GContainer fallback cannot locate the gain map",
                      detail={"item": 0, "semantic": first.semantic})
    for name in _SEMANTICS:
        same = [i for i, it in enumerate(items) if it.semantic == name]
        for k in same[1:]:
            yield Finding("container.semantic-order", offset=ref.absolute(items[k].offset), length=1,
                          image=ref.image,
                          message=f"Directory item {k} is another {name} item (the first is item {same[0]}); "
                                  f"there must be exactly one{' Primary' if name == 'Primary' else ' GainMap'}",
                          detail={"item": k, "semantic": name})


@check("container.item-mime")
def item_mime(ctx: CheckContext) -> Iterator[Finding]:
    found = _directory(ctx)
    if found is None:
        return
    ref, items = found
    ends = _ends(items)
    for k, item in enumerate(items):
        if item.semantic not in _SEMANTICS or item.mime == "image/jpeg":
            continue
        offset, length = _item_property(ref, item, "Mime", ends[k])
        what = "has no Item:Mime" if item.mime is None else f"has Item:Mime={item.mime!r}"
        yield Finding("container.item-mime", offset=offset, length=length, image=ref.image,
                      message=f"the {item.semantic} item (Directory item {k}) {what}; Skia's GContainer fallback "
                              "accepts only image/jpeg", detail={"item": k, "mime": item.mime})


@check("container.item-length")
def item_length(ctx: CheckContext) -> Iterator[Finding]:
    """The GainMap item's Item:Length against the gain map's real SOI..EOI length."""
    found = _directory(ctx)
    gm = ctx.gainmap
    if found is None:
        return
    ref, items = found
    ends = _ends(items)
    for k, item in enumerate(items):
        if item.semantic != "GainMap":
            continue
        offset, length = _item_property(ref, item, "Length", ends[k])
        if item.length is None:
            if "Length" not in item.raw:  # an invalid one is reported by the parser (xmp.container.length)
                yield Finding("container.item-length", offset=offset, length=length, image=ref.image,
                              message=f"the GainMap item (Directory item {k}) has no Item:Length",
                              detail={"item": k, "declared": None})
            continue
        if gm is None or gm is ctx.primary or not gm.complete or item.length == gm.size:
            continue  # a truncated gain map is reported as such (jpeg.*), not as a wrong Length
        delta = item.length - gm.size
        yield Finding("container.item-length", offset=offset, length=length, image=ref.image,
                      message=f"GainMap Item:Length={item.length}, but the gain map at {common.hex_at(gm.offset)} "
                              f"is {gm.size} bytes ({delta:+d})",
                      detail={"item": k, "declared": item.length, "actual": gm.size})


@check("container.item-offset")
def item_offset(ctx: CheckContext) -> Iterator[Finding]:
    """Where the Directory places the gain map: primary end + first item's Padding + earlier Lengths."""
    found = _directory(ctx)
    gm = ctx.gainmap
    if found is None or gm is None or gm is ctx.primary:
        return
    ref, items = found
    index = next((k for k, it in enumerate(items) if it.semantic == "GainMap"), None)
    if index is None or index == 0 or items[0].semantic != "Primary":
        return  # no GainMap item, or the order is wrong (container.semantic-order)
    padding = items[0].padding or 0
    earlier = items[1:index]
    if any(it.length is None for it in earlier):
        return  # a missing or invalid Length is reported on its own
    primary_end = ctx.primary.end
    placed = primary_end + padding + sum(it.length or 0 for it in earlier)
    if placed == gm.offset:
        return
    parts = [f"the primary's end {common.hex_at(primary_end)}"]
    if padding:
        parts.append(f"Padding {padding}")
    if earlier:
        parts.append(f"Lengths of items 1..{index - 1} ({sum(it.length or 0 for it in earlier)})")
    between = gm.offset - placed
    why = (f"{between} byte(s) lie between" if between > 0 else f"it is {-between} byte(s) past the gain map's SOI")
    yield Finding("container.item-offset", offset=ref.absolute(items[index].offset), length=1, image=ref.image,
                  message=f"the Directory places the gain map at {common.hex_at(placed)} ({' + '.join(parts)}), "
                          f"but it starts at {common.hex_at(gm.offset)}; {why}",
                  detail={"placed": placed, "actual": gm.offset, "padding": padding})
