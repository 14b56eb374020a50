"""The canonical gain-map metadata (ISO 21496-1 semantics) and its conversions.

Every value is stored the way ISO 21496-1 means it:

* ``gain_map_min`` / ``gain_map_max``: log2 of the smallest / largest gain, per channel;
* ``gamma``: the encode exponent (decode uses ``r ** (1 / gamma)``), per channel;
* ``base_offset`` / ``alternate_offset``: linear offsets added before taking the ratio, per channel;
* ``base_hdr_headroom`` / ``alternate_hdr_headroom``: log2 headroom of the base and alternate renditions;
* ``use_base_colour_space``: apply the map in the base image's colour space (ISO flag bit 6).

Per-channel fields are tuples of length 1 (applies to R, G and B alike) or 3.

Conversions and their limits
----------------------------
* hdrgm XMP (Adobe gain map 1.0 / Ultra HDR): with ``BaseRenditionIsHDR=False`` HDRCapacityMin/Max map to
  base/alternate headroom and OffsetSDR/HDR to base/alternate offset; with ``True`` the pairs are swapped (as
  libavif does).  XMP cannot express ``use_base_colour_space=False``: :meth:`to_hdrgm` raises
  :class:`MetadataConversionError` for it.  hdrgm HDRCapacityMin is clamped to be >= 0 by readers; a base
  headroom < 0 cannot be represented faithfully.
* ISO 21496-1 fractions: see :mod:`gainmap.formats.iso21496`; values are approximated by fractions chosen so
  that a round trip is exact within 1e-6 (see :func:`to_fraction`).
* Apple (iOS 14 to 17): Apple interpolates linearly, ISO log-linearly.  :meth:`from_apple` gives the
  approximation every peer uses (min 0, max log2 H, gamma 1, offsets 0); the exact conversion re-maps the
  gain-map pixels (see :mod:`gainmap.editing.repair`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from fractions import Fraction

HDRGM_NS = "http://ns.adobe.com/hdr-gain-map/1.0/"

#: hdrgm defaults when a property is absent (Adobe gain map 1.0 / Ultra HDR v1.0).
HDRGM_DEFAULTS = {
    "BaseRenditionIsHDR": False,
    "GainMapMin": 0.0,
    "GainMapMax": 1.0,
    "Gamma": 1.0,
    "OffsetSDR": 1.0 / 64.0,
    "OffsetHDR": 1.0 / 64.0,
    "HDRCapacityMin": 0.0,
    "HDRCapacityMax": 1.0,
}


class MetadataConversionError(ValueError):
    """Raised when metadata cannot be expressed in the requested form."""


def _tuple(value: float | tuple[float, ...] | list[float]) -> tuple[float, ...]:
    if isinstance(value, (tuple, list)):
        return tuple(float(v) for v in value)
    return (float(value),)


def _expand(values: tuple[float, ...], n: int) -> tuple[float, ...]:
    return values * 3 if len(values) == 1 and n == 3 else values


@dataclass(frozen=True)
class GainMapMetadata:
    """Gain-map parameters in ISO 21496-1 semantics (log2 gains, linear offsets)."""

    gain_map_min: tuple[float, ...] = (0.0,)
    gain_map_max: tuple[float, ...] = (1.0,)
    gamma: tuple[float, ...] = (1.0,)
    base_offset: tuple[float, ...] = (1.0 / 64.0,)
    alternate_offset: tuple[float, ...] = (1.0 / 64.0,)
    base_hdr_headroom: float = 0.0
    alternate_hdr_headroom: float = 1.0
    use_base_colour_space: bool = True
    #: Where the values came from ("hdrgm", "iso", "apple", "computed", ...); informative only.
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("gain_map_min", "gain_map_max", "gamma", "base_offset", "alternate_offset"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        lengths = {len(getattr(self, n)) for n in ("gain_map_min", "gain_map_max", "gamma",
                                                   "base_offset", "alternate_offset")}
        if not lengths <= {1, 3}:
            raise ValueError(f"per-channel fields must have 1 or 3 values, got lengths {sorted(lengths)}")
        if lengths == {1, 3}:
            for name in ("gain_map_min", "gain_map_max", "gamma", "base_offset", "alternate_offset"):
                object.__setattr__(self, name, _expand(getattr(self, name), 3))
        object.__setattr__(self, "base_hdr_headroom", float(self.base_hdr_headroom))
        object.__setattr__(self, "alternate_hdr_headroom", float(self.alternate_hdr_headroom))

    # ---------------------------------------------------------------- properties
    @property
    def channel_count(self) -> int:
        return len(self.gain_map_min)

    @property
    def is_multichannel(self) -> bool:
        """True when at least two channels differ (a 3-channel record with equal values is not)."""
        if self.channel_count == 1:
            return False
        fields = (self.gain_map_min, self.gain_map_max, self.gamma, self.base_offset, self.alternate_offset)
        return any(len(set(f)) > 1 for f in fields)

    @property
    def base_is_hdr(self) -> bool:
        """ISO: the base is the HDR rendition iff its headroom exceeds the alternate's."""
        return self.base_hdr_headroom > self.alternate_hdr_headroom

    def channels(self, n: int = 3) -> list[tuple[float, float, float, float, float]]:
        """Per-channel (min, max, gamma, base_offset, alternate_offset), expanded to ``n`` channels."""
        cols = [_expand(f, n) if n == 3 else f[:n] for f in (self.gain_map_min, self.gain_map_max, self.gamma,
                                                            self.base_offset, self.alternate_offset)]
        return list(zip(*cols))

    def single_channel(self) -> GainMapMetadata:
        """The same record collapsed to one channel when all channels agree (else unchanged)."""
        if self.channel_count == 3 and not self.is_multichannel:
            return replace(self, gain_map_min=self.gain_map_min[:1], gain_map_max=self.gain_map_max[:1],
                           gamma=self.gamma[:1], base_offset=self.base_offset[:1],
                           alternate_offset=self.alternate_offset[:1])
        return self

    def collapse_channels(self) -> GainMapMetadata:
        """A single-channel approximation for readers that take only one channel (hdrgm attribute form).

        Rule: the widest gain range (min of the minima, max of the maxima) so no channel's extremes are lost,
        and the mean gamma and offsets.  Exact when the channels agree; otherwise per-channel values belong in
        ISO 21496-1, and the XMP copy is an approximation (the sync check knows this rule).
        """
        if self.channel_count == 1:
            return self
        if not self.is_multichannel:
            return self.single_channel()

        def mean(values: tuple[float, ...]) -> tuple[float]:
            return (sum(values) / len(values),)

        return replace(self, gain_map_min=(min(self.gain_map_min),), gain_map_max=(max(self.gain_map_max),),
                       gamma=mean(self.gamma), base_offset=mean(self.base_offset),
                       alternate_offset=mean(self.alternate_offset))

    def is_finite(self) -> bool:
        values = (*self.gain_map_min, *self.gain_map_max, *self.gamma, *self.base_offset,
                  *self.alternate_offset, self.base_hdr_headroom, self.alternate_hdr_headroom)
        return all(math.isfinite(v) for v in values)

    def approx_equal(self, other: GainMapMetadata, tol: float = 1e-5) -> bool:
        """Equal within ``tol`` per value, after expanding both to 3 channels."""
        if self.use_base_colour_space != other.use_base_colour_space:
            return False
        a, b = self.channels(3), other.channels(3)
        pairs = [(x, y) for ca, cb in zip(a, b) for x, y in zip(ca, cb)]
        pairs += [(self.base_hdr_headroom, other.base_hdr_headroom),
                  (self.alternate_hdr_headroom, other.alternate_hdr_headroom)]
        return all(abs(x - y) <= tol * max(1.0, abs(x), abs(y)) for x, y in pairs)

    # ---------------------------------------------------------------- hdrgm XMP
    @classmethod
    def from_hdrgm(cls, props: dict[str, object]) -> GainMapMetadata:
        """From hdrgm property values (floats, tuples of floats or a bool); absent ones take the defaults."""

        def get(name: str) -> object:
            value = props.get(name)
            return HDRGM_DEFAULTS[name] if value is None else value

        base_is_hdr = bool(get("BaseRenditionIsHDR"))
        cap_min = float(get("HDRCapacityMin"))  # type: ignore[arg-type]
        cap_max = float(get("HDRCapacityMax"))  # type: ignore[arg-type]
        off_sdr = _tuple(get("OffsetSDR"))  # type: ignore[arg-type]
        off_hdr = _tuple(get("OffsetHDR"))  # type: ignore[arg-type]
        if base_is_hdr:
            base_h, alt_h, base_off, alt_off = cap_max, cap_min, off_hdr, off_sdr
        else:
            base_h, alt_h, base_off, alt_off = cap_min, cap_max, off_sdr, off_hdr
        return cls(
            gain_map_min=_tuple(get("GainMapMin")),  # type: ignore[arg-type]
            gain_map_max=_tuple(get("GainMapMax")),  # type: ignore[arg-type]
            gamma=_tuple(get("Gamma")),  # type: ignore[arg-type]
            base_offset=base_off,
            alternate_offset=alt_off,
            base_hdr_headroom=base_h,
            alternate_hdr_headroom=alt_h,
            use_base_colour_space=True,
            source="hdrgm",
        )

    def to_hdrgm(self) -> dict[str, object]:
        """hdrgm property values: floats for single-channel fields, 3-tuples for per-channel ones."""
        if not self.use_base_colour_space:
            raise MetadataConversionError(
                "hdrgm XMP cannot express use_base_colour_space=0 (the map applies in the alternate colour space)")
        md = self.single_channel()

        def out(values: tuple[float, ...]) -> float | tuple[float, ...]:
            return values[0] if len(values) == 1 else values

        if md.base_is_hdr:
            cap_min, cap_max = md.alternate_hdr_headroom, md.base_hdr_headroom
            off_sdr, off_hdr = md.alternate_offset, md.base_offset
        else:
            cap_min, cap_max = md.base_hdr_headroom, md.alternate_hdr_headroom
            off_sdr, off_hdr = md.base_offset, md.alternate_offset
        return {
            "Version": "1.0",
            "BaseRenditionIsHDR": md.base_is_hdr,
            "GainMapMin": out(md.gain_map_min),
            "GainMapMax": out(md.gain_map_max),
            "Gamma": out(md.gamma),
            "OffsetSDR": out(off_sdr),
            "OffsetHDR": out(off_hdr),
            "HDRCapacityMin": cap_min,
            "HDRCapacityMax": cap_max,
        }

    # ---------------------------------------------------------------- Apple
    @classmethod
    def from_apple(cls, headroom_linear: float) -> GainMapMetadata:
        """The approximation peers use for Apple HDRGainMap: min 0, max log2 H, gamma 1, offsets 0.

        Apple's own rule is ``HDR = SDR * (1 + (H - 1) * g)`` with ``g`` the linearised map value; ISO is
        log-linear, so this record is only exact at g = 0 and g = 1.  For an exact result re-map the pixels
        (:func:`gainmap.repair` does).
        """
        if not (headroom_linear >= 1.0 and math.isfinite(headroom_linear)):
            raise MetadataConversionError(f"Apple headroom must be a finite ratio >= 1, got {headroom_linear!r}")
        stops = math.log2(headroom_linear)
        return cls(gain_map_min=(0.0,), gain_map_max=(stops,), gamma=(1.0,), base_offset=(0.0,),
                   alternate_offset=(0.0,), base_hdr_headroom=0.0, alternate_hdr_headroom=stops,
                   use_base_colour_space=True, source="apple")


def apple_stops_from_maker_note(headroom: float, gain: float | None) -> float:
    """Apple's documented maker-note formula (tags 33 HDRHeadroom and 48 HDRGain) to stops of headroom.

    From developer.apple.com "Applying Apple HDR effect to your photos", as implemented identically by Skia,
    libavif and libultrahdr.  A missing tag 48 counts as 0 (Skia).  The result is not clamped; callers that
    want Skia's behaviour use ``max(stops, 0)``.
    """
    g = 0.0 if gain is None else gain
    if headroom < 1.0:
        return 1.8 - 20.0 * g if g <= 0.01 else 1.601 - 0.101 * g
    return 3.0 - 70.0 * g if g <= 0.01 else 2.303 - 0.303 * g


def to_fraction(value: float, *, signed: bool = True, max_den: int = 1 << 30) -> tuple[int, int]:
    """A numerator/denominator pair for ``value`` that fits s32/u32 (or u32/u32) and round-trips within 1e-6.

    Exact values with small denominators are kept exact (0.5 -> 1/2).  Large magnitudes trade denominator
    for range so the numerator fits.
    """
    if not math.isfinite(value):
        raise MetadataConversionError(f"cannot store non-finite value {value!r} as a fraction")
    if not signed and value < 0:
        raise MetadataConversionError(f"value {value!r} must be >= 0 for an unsigned fraction")
    low, high = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)
    den_cap = max_den
    while den_cap >= 1:
        frac = Fraction(value).limit_denominator(den_cap)
        if low <= frac.numerator <= high and frac.denominator <= 0xFFFFFFFF:
            return frac.numerator, frac.denominator
        den_cap //= 2
    raise MetadataConversionError(f"value {value!r} is too large for a 32-bit fraction")
