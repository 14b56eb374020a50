"""Valid gain-map files across the parameter space, from one sampler with two sources of randomness.

A :class:`FileSpec` says everything about a file (sizes, JPEG coding, metadata and its forms, MPF byte order,
ExtendedXMP, ICC, trailing bytes); :func:`build_file` turns it into bytes deterministically with our own
assembler and schemas.  :func:`sample_spec` draws a spec through a :class:`Draw`, which is either a seeded
:class:`random.Random` (:class:`RandomDraw`, used by ``gainmap fuzz`` and the self-fuzz harness) or a
hypothesis ``data`` object (:mod:`gainmap.testing.strategies`, so hypothesis can shrink).  Images are small
so that generation takes a few milliseconds.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

import numpy as np
from lxml import etree
from PIL import Image

from gainmap.formats import xmp
from gainmap.formats.scanner import Segment
from gainmap.formats.xmp.props import HDRGM_BY_NAME, RDF_NS, XMPNOTE_NS, format_value
from gainmap.hdr import profiles
from gainmap.metadata import GainMapMetadata
from gainmap.model.assemble import assemble

T = TypeVar("T")

#: Values are multiples of this, so ISO fractions are exact and hdrgm text is short.
QUANTUM = 1.0 / 4096.0
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
FORMS = ("xmp+iso", "iso", "xmp")
XMP_FORMS = ("attribute", "element", "seq")
TRAILING = ("", "zeros", "ff", "text", "mp4")
PER_CHANNEL = ("GainMapMin", "GainMapMax", "Gamma", "OffsetSDR", "OffsetHDR")


class Draw(Protocol):
    """Where random choices come from (a seeded Random, or hypothesis)."""

    def integer(self, lo: int, hi: int) -> int: ...
    def real(self, lo: float, hi: float) -> float: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def boolean(self) -> bool: ...


class RandomDraw:
    """A :class:`Draw` backed by :class:`random.Random`."""

    def __init__(self, rng: random.Random | int) -> None:
        self.rng = rng if isinstance(rng, random.Random) else random.Random(rng)

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)

    def real(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def boolean(self) -> bool:
        return self.rng.random() < 0.5


def _q(value: float) -> float:
    return round(value / QUANTUM) * QUANTUM


def _value(draw: Draw, lo: float, hi: float, edges: Sequence[float]) -> float:
    """A quantised value in [lo, hi], or one of the edge values (a third of the time)."""
    if edges and draw.integer(0, 2) == 0:
        return draw.choice(edges)
    return min(max(_q(draw.real(lo, hi)), lo), hi)


# ---------------------------------------------------------------------------------------------- metadata
def sample_metadata(draw: Draw, *, channels: int | None = None, base_is_hdr: bool | None = None,
                    use_base_colour_space: bool | None = True) -> GainMapMetadata:
    """Valid metadata: min <= max, gamma > 0, offsets >= 0, headrooms >= 0 and apart by >= 1/64 stop.

    ``channels`` 1 or 3 (None: either); ``base_is_hdr`` picks the headroom direction (None: either);
    ``use_base_colour_space`` None draws it too (False can only be written as ISO 21496-1).
    """
    n = channels if channels is not None else draw.choice((1, 3))
    mins, maxs, gammas, base_offs, alt_offs = [], [], [], [], []
    for _ in range(n):
        lo = _value(draw, -4.0, 4.0, (0.0, -4.0, 4.0))
        span = _value(draw, 0.0, 8.0, (0.0, 8.0, 1.0))
        mins.append(lo)
        maxs.append(_q(lo + span))
        gammas.append(_value(draw, 1 / 16, 8.0, (1.0, 1 / 16, 8.0)))
        base_offs.append(_value(draw, 0.0, 1.0, (0.0, 1 / 64, 1.0)))
        alt_offs.append(_value(draw, 0.0, 1.0, (0.0, 1 / 64, 1.0)))
    low = _value(draw, 0.0, 2.0, (0.0,))
    high = _q(low + _value(draw, 1 / 64, 8.0, (1 / 64, 8.0)))
    hdr_base = base_is_hdr if base_is_hdr is not None else draw.integer(0, 3) == 0
    ubcs = use_base_colour_space if use_base_colour_space is not None else draw.integer(0, 3) != 0
    return GainMapMetadata(
        gain_map_min=tuple(mins), gain_map_max=tuple(maxs), gamma=tuple(gammas),
        base_offset=tuple(base_offs), alternate_offset=tuple(alt_offs),
        base_hdr_headroom=high if hdr_base else low, alternate_hdr_headroom=low if hdr_base else high,
        use_base_colour_space=ubcs, source="generated",
    )


# ---------------------------------------------------------------------------------------------- file spec
@dataclass(frozen=True)
class FileSpec:
    """Every choice that makes one generated gain-map file.  ``build_file(spec)`` is deterministic."""

    metadata: GainMapMetadata = field(default_factory=GainMapMetadata)
    gainmap_width: int = 8
    gainmap_height: int = 6
    scale: int = 4  # primary = gain map x scale (plus ``extra`` pixels)
    extra: tuple[int, int] = (0, 0)
    subsampling: str = "4:2:0"
    progressive: bool = False
    restart: int = 0  # restart interval in MCUs (0: none)
    quality: int = 90
    gainmap_quality: int = 85
    gainmap_channels: int = 1
    forms: str = "xmp+iso"  # "xmp+iso", "iso" or "xmp"
    xmp_form: str = "attribute"  # gain map hdrgm: "attribute", "element" or "seq"
    byte_order: str = "MM"
    extended_xmp: int = 0  # ExtendedXMP payload bytes in the primary (0: none)
    extended_chunk: int = 1024  # bytes per ExtendedXMP chunk
    icc: str | None = "srgb"  # primary ICC: "srgb", "p3" or None
    gainmap_icc: str | None = None
    trailing: str = ""  # "", "zeros", "ff", "text", "mp4"
    trailing_size: int = 0
    seed: int = 0

    @property
    def width(self) -> int:
        return self.gainmap_width * self.scale + self.extra[0]

    @property
    def height(self) -> int:
        return self.gainmap_height * self.scale + self.extra[1]

    @property
    def write_xmp(self) -> bool:
        return "xmp" in self.forms

    @property
    def write_iso(self) -> bool:
        return "iso" in self.forms

    @property
    def libultrahdr_readable(self) -> bool:
        """libultrahdr 1.x can use the metadata: ISO 21496-1, or hdrgm in attribute form; SDR base only."""
        md = self.metadata
        xmp_ok = self.write_xmp and self.xmp_form == "attribute" and md.use_base_colour_space
        return (self.write_iso or xmp_ok) and not md.base_is_hdr

    def describe(self) -> str:
        md = self.metadata
        bits = [f"{self.width}x{self.height}", f"gm {self.gainmap_width}x{self.gainmap_height}x"
                f"{self.gainmap_channels}", self.subsampling, self.forms, f"xmp:{self.xmp_form}",
                f"mpf:{self.byte_order}", f"{md.channel_count}ch", "hdr-base" if md.base_is_hdr else "sdr-base"]
        if self.progressive:
            bits.append("progressive")
        if self.restart:
            bits.append(f"rst{self.restart}")
        if self.extended_xmp:
            bits.append(f"extxmp{self.extended_xmp}")
        bits.append(f"icc:{self.icc}")
        if self.trailing:
            bits.append(f"trailing:{self.trailing}{self.trailing_size}")
        return " ".join(bits)


def sample_spec(draw: Draw, *, forms: Sequence[str] = FORMS, xmp_forms: Sequence[str] = XMP_FORMS,
                metadata: GainMapMetadata | None = None, base_is_hdr: bool | None = None,
                channels: int | None = None, trailing: bool = True, extended_xmp: bool = True) -> FileSpec:
    """Draw a :class:`FileSpec` (every field; the keyword arguments narrow the space)."""
    md = metadata or sample_metadata(draw, channels=channels, base_is_hdr=base_is_hdr,
                                     use_base_colour_space=None)
    form = draw.choice(tuple(forms))
    if not md.use_base_colour_space and form != "iso":
        if "iso" not in forms:
            md = replace(md, use_base_colour_space=True)
        else:
            form = "iso"  # hdrgm XMP cannot say use_base_colour_space=False
    scale = draw.choice((1, 2, 4))
    gw, gh = draw.integer(2, 24), draw.integer(2, 24)
    extra = (draw.integer(0, scale - 1), draw.integer(0, scale - 1)) if draw.integer(0, 3) == 0 else (0, 0)
    gm_channels = 3 if md.is_multichannel else draw.choice((1, 1, 3))
    trail = draw.choice(TRAILING) if trailing else ""
    ext = draw.choice((0, 0, 0, draw.integer(1, 3000))) if extended_xmp else 0
    return FileSpec(
        metadata=md, gainmap_width=gw, gainmap_height=gh, scale=scale, extra=extra,
        subsampling=draw.choice(tuple(SUBSAMPLING)), progressive=draw.boolean(),
        restart=draw.choice((0, 0, 1, 2, 4)), quality=draw.integer(50, 100),
        gainmap_quality=draw.integer(50, 100), gainmap_channels=gm_channels, forms=form,
        xmp_form=draw.choice(tuple(xmp_forms)), byte_order=draw.choice(("MM", "II")),
        extended_xmp=ext, extended_chunk=draw.integer(64, 4096),
        icc=draw.choice(("srgb", "p3", None)),
        gainmap_icc=None if md.use_base_colour_space else draw.choice(("srgb", "p3")),
        trailing=trail, trailing_size=draw.integer(1, 300) if trail else 0, seed=draw.integer(0, 2**31 - 1),
    )


def random_spec(rng: random.Random | int, **narrow: object) -> FileSpec:
    """A spec drawn from a seeded :class:`random.Random` (or a seed)."""
    return sample_spec(RandomDraw(rng), **narrow)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- pixels
def _pixels(seed: int, w: int, h: int, channels: int) -> np.ndarray:
    """A blocky random field over a diagonal ramp: structure for the encoder, no per-pixel loops."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((5, 5, channels))
    iy = (np.arange(h) * 5) // max(h, 1)
    ix = (np.arange(w) * 5) // max(w, 1)
    field_ = coarse[iy][:, ix]
    ramp = (np.arange(h)[:, None] / max(h, 1) + np.arange(w)[None, :] / max(w, 1)) / 2
    img = 0.6 * field_ + 0.4 * ramp[..., None]
    out = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    return out[..., 0] if channels == 1 else out


def _jpeg(pixels: np.ndarray, quality: int, **options: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=quality, optimize=False, **options)
    return buf.getvalue()


def _profile(name: str | None) -> bytes | None:
    if name is None:
        return None
    return profiles.srgb_profile() if name == "srgb" else profiles.display_p3_profile()


# ---------------------------------------------------------------------------------------------- XMP forms
def _fmt(name: str, value: object) -> str:
    return format_value(HDRGM_BY_NAME[name], value)


def gainmap_packet(md: GainMapMetadata, form: str) -> bytes:
    """The gain map's hdrgm packet in ``form``: "attribute" (multichannel metadata collapsed to one channel),
    "element" (every property but Version as a child element) or "seq" (per-channel properties as rdf:Seq of
    three items, the rest attributes)."""
    if form == "attribute":
        return xmp.set_hdrgm(xmp.new_packet(), md.collapse_channels().to_hdrgm())
    props = md.to_hdrgm()
    packet = xmp.set_hdrgm(xmp.new_packet(), {"Version": props["Version"]})
    root = etree.fromstring(packet)
    desc = root.find(f".//{{{RDF_NS}}}Description")
    ns = desc.nsmap.get("hdrgm", "http://ns.adobe.com/hdr-gain-map/1.0/")
    for name, value in props.items():
        if name == "Version":
            continue
        if form == "seq" and name in PER_CHANNEL:
            values = value if isinstance(value, tuple) else (value,) * 3
            el = etree.SubElement(desc, f"{{{ns}}}{name}")
            seq = etree.SubElement(el, f"{{{RDF_NS}}}Seq")
            for v in values:
                etree.SubElement(seq, f"{{{RDF_NS}}}li").text = _fmt(name, v)
        elif form == "seq":
            desc.set(f"{{{ns}}}{name}", _fmt(name, value))
        else:
            if isinstance(value, tuple):  # element form is single-channel: use the collapsed record
                value = md.collapse_channels().to_hdrgm()[name]
            etree.SubElement(desc, f"{{{ns}}}{name}").text = _fmt(name, value)
    return etree.tostring(root, encoding="utf-8")


def _add_extended(packet: bytes, size: int, chunk: int, seed: int) -> tuple[bytes, list[bytes]]:
    """Point ``packet`` at a new ExtendedXMP packet of about ``size`` filler bytes; return it and the chunks."""
    filler = "".join(random.Random(seed).choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(size))
    ext = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF_NS}">'
           f'<rdf:Description rdf:about="" xmlns:gmtest="urn:gainmap:testing:1.0/">'
           f"<gmtest:Filler>{filler}</gmtest:Filler></rdf:Description></rdf:RDF></x:xmpmeta>").encode()
    guid, chunks = xmp.split_extended(ext, max_chunk=min(chunk, xmp.MAX_EXT_CHUNK))
    marker = b"<rdf:Description "
    at = packet.index(marker) + len(marker)
    decl = f'xmlns:xmpNote="{XMPNOTE_NS}" xmpNote:HasExtendedXMP="{guid}" '.encode()
    return packet[:at] + decl + packet[at:], chunks


_TRAILERS = {
    "zeros": lambda n, rng: b"\x00" * n,
    "ff": lambda n, rng: b"\xff" * n,
    "text": lambda n, rng: bytes(rng.choice(b"abcdefghij klmnop\n") for _ in range(n)),
    "mp4": lambda n, rng: (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * n),
}


def build_file(spec: FileSpec) -> bytes:
    """The bytes of the file ``spec`` describes (raises only on a spec no valid file can satisfy)."""
    md = spec.metadata
    opts: dict[str, object] = {"subsampling": SUBSAMPLING[spec.subsampling]}
    if spec.progressive:
        opts["progressive"] = True
    if spec.restart:
        opts["restart_marker_blocks"] = spec.restart
    primary = _jpeg(_pixels(spec.seed, spec.width, spec.height, 3), spec.quality, **opts)
    gm_opts = {"subsampling": 0} if spec.gainmap_channels == 3 else {}
    gainmap = _jpeg(_pixels(spec.seed + 1, spec.gainmap_width, spec.gainmap_height, spec.gainmap_channels),
                    spec.gainmap_quality, **gm_opts)
    gmf = assemble(primary, gainmap, md, write_xmp=spec.write_xmp, write_iso=spec.write_iso,
                   icc=_profile(spec.icc), gainmap_icc=_profile(spec.gainmap_icc), byte_order=spec.byte_order,
                   name=spec.describe())
    gm = gmf.gainmap
    if spec.write_xmp and md.use_base_colour_space and gm is not None:
        seg = gm.first("xmp")
        if seg is not None and (spec.xmp_form != "attribute" or md.is_multichannel):
            seg.payload = xmp.wrap_app1(gainmap_packet(md, spec.xmp_form))
    if spec.extended_xmp:
        seg = gmf.primary.first("xmp")
        if seg is None:
            seg = Segment.app(1, xmp.wrap_app1(xmp.new_packet()))
            gmf.primary.insert(seg)
        packet, chunks = _add_extended(xmp.packet_of(seg.payload), spec.extended_xmp,
                                       spec.extended_chunk, spec.seed)
        seg.payload = xmp.wrap_app1(packet)
        at = gmf.primary.index_of(seg) + 1
        for i, payload in enumerate(chunks):
            gmf.primary.items.insert(at + i, Segment.app(1, payload))
    data = gmf.to_bytes(recompute=True)
    if spec.trailing:
        data += _TRAILERS[spec.trailing](spec.trailing_size, random.Random(spec.seed))
    return data


def random_file(rng: random.Random | int, **narrow: object) -> tuple[FileSpec, bytes]:
    """A random valid file and its spec."""
    spec = random_spec(rng, **narrow)
    return spec, build_file(spec)


__all__ = ["Draw", "FileSpec", "RandomDraw", "build_file", "gainmap_packet", "random_file", "random_spec",
           "sample_metadata", "sample_spec"]
