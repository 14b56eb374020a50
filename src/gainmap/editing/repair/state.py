"""What repair actions share: the error, the per-pass state, the action registry and the metadata truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gainmap.errors import GainMapError
from gainmap.formats import iso21496
from gainmap.metadata import GainMapMetadata, MetadataConversionError
from gainmap.model import policy
from gainmap.model.container import GainMapFile

#: Order in which planned actions run (later ones depend on what earlier ones produce).
ACTION_ORDER = (
    "strip-junk", "convert-apple", "rewrite-iso", "iso-from-hdrgm", "hdrgm-from-iso", "rewrite-hdrgm",
    "add-hdrgm-version", "fix-container", "add-iso-version", "add-icc", "remove-gainmap-icc",
    "drop-mpf-tags", "rebuild-mpf", "move-mpf", "recompute-mpf",
)


class RepairError(GainMapError):
    """A repair could not be carried out (the file is left untouched)."""


@dataclass
class RepairState:
    """What actions share while one plan runs."""

    strip_junk: bool = False
    notes: list[str] = field(default_factory=list)
    _metadata: GainMapMetadata | None = None

    def metadata(self, gmf: GainMapFile) -> GainMapMetadata:
        """The metadata the repaired file will carry (:func:`truth_metadata`), computed once."""
        if self._metadata is None:
            md = truth_metadata(gmf)
            if md is None:
                raise RepairError("no usable gain-map metadata in any form (ISO 21496-1, hdrgm, Apple) to "
                                  "derive the others from")
            self._metadata = md
        return self._metadata

    def set_metadata(self, md: GainMapMetadata) -> None:
        """Fix the metadata later actions write (an action that creates the gain map's parameters)."""
        self._metadata = md


ActionFn = Callable[[GainMapFile, RepairState], str]
#: Every registered action by the name ``specs/checks.toml`` uses in a check's ``repair`` field.
ACTIONS: dict[str, ActionFn] = {}


def action(name: str) -> Callable[[ActionFn], ActionFn]:
    """Register a repair action under ``name`` (which must have a place in :data:`ACTION_ORDER`)."""
    def register(fn: ActionFn) -> ActionFn:
        if name not in ACTION_ORDER:
            raise ValueError(f"repair action {name!r} has no place in ACTION_ORDER")
        ACTIONS[name] = fn
        return fn
    return register


def writable(md: GainMapMetadata) -> bool:
    """Metadata repair can write and every reader accepts: finite, gamma > 0, min <= max, offsets >= 0 and
    distinct headrooms."""
    return (md.is_finite() and all(g > 0 for g in md.gamma)
            and all(lo <= hi for lo, hi in zip(md.gain_map_min, md.gain_map_max))
            and all(o >= 0 for o in (*md.base_offset, *md.alternate_offset))
            and md.base_hdr_headroom != md.alternate_hdr_headroom)


def truth_metadata(gmf: GainMapFile) -> GainMapMetadata | None:
    """The metadata a repaired file carries: the first :func:`writable` set in the reader's precedence
    (:data:`gainmap.model.policy.METADATA_PRECEDENCE`), else what can be salvaged from a compact ISO block or
    from parameters misplaced in the primary's XMP."""
    md = policy.preferred(gmf.metadata_sources(), accept=writable)
    if md is not None:
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
        return md if writable(md) else None
    return None
