"""Colour spaces, transfer functions and colour-space detection from ICC profiles.

Conventions used throughout :mod:`gainmap.hdr`:

* "linear" arrays are float32, shape ``(H, W, 3)``, in a named colour space's primaries with a linear
  transfer, scaled so that **1.0 is SDR diffuse white = 203 nits** (BT.2408, libultrahdr ``kSdrWhiteNits``).
* Named spaces: ``"srgb"`` (BT.709 primaries), ``"display-p3"`` and ``"bt2020"`` (BT.2020 / BT.2100),
  all with a D65 white.  Their RGB -> XYZ matrices are *derived* from the primaries and white below
  (SMPTE RP 177 method), not copied from tables; the luminance coefficients are the Y row.
* Transfer functions are vectorised and return float32.  Names say the direction:
  ``srgb_to_linear`` decodes a signal, ``linear_to_srgb`` encodes one.

Colour-space detection identifies an ICC matrix/TRC profile by its colorant primaries (after undoing the
adaptation to the D50 PCS), never by its description, and falls back to sRGB (what every gain-map reader
does for a missing or unusable profile; formats.md section 5).  It reads the typed record
:func:`gainmap.formats.icc.parse_icc_profile` produces; :func:`icc_colorants` gives the colorants a profile of
a named space stores (:mod:`gainmap.hdr.profiles` writes them).

Size: about 490 lines, by design: this is the one home of colour science (issue 11: transfer curves,
primaries, matrices, ICC-derived primaries), so no second copy grows elsewhere.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from gainmap.errors import GainMapError
from gainmap.formats.icc import D50, IccColorants, IccProfile, parse_icc_profile

# ----------------------------------------------------------------------------------------------- data

#: CIE 1931 xy of the D65 white point (BT.709, BT.2020, Display P3).
WHITE_D65: tuple[float, float] = (0.3127, 0.3290)

#: The ICC profile connection space illuminant, as XYZ (ICC.1:2022 section 7.2.16: s15Fixed16 values).
PCS_D50_XYZ: tuple[float, float, float] = D50

#: Primaries as CIE 1931 xy (red, green, blue) for each named colour space (formats.md section 5 table).
PRIMARIES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "srgb": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060)),
    "display-p3": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
}

#: Every named colour space, in a stable order.
COLOUR_SPACES: tuple[str, ...] = tuple(PRIMARIES)

#: Other spellings accepted by :func:`canonical_name`.
ALIASES: dict[str, str] = {
    "srgb": "srgb", "bt709": "srgb", "bt.709": "srgb", "rec709": "srgb", "rec.709": "srgb",
    "display-p3": "display-p3", "displayp3": "display-p3", "display_p3": "display-p3", "p3": "display-p3",
    "bt2020": "bt2020", "bt.2020": "bt2020", "rec2020": "bt2020", "rec.2020": "bt2020", "bt2100": "bt2020",
    "bt.2100": "bt2020",
}

#: ITU-T H.273 ColourPrimaries code points of the named spaces (as found in an ICC ``cicp`` tag or PNG cICP).
CICP_PRIMARIES: dict[int, str] = {1: "srgb", 9: "bt2020", 12: "display-p3"}
#: The reverse of :data:`CICP_PRIMARIES`.
CICP_CODE: dict[str, int] = {v: k for k, v in CICP_PRIMARIES.items()}
#: ITU-T H.273 TransferCharacteristics code points used here.
CICP_TRANSFER: dict[str, int] = {"srgb": 13, "pq": 16, "hlg": 18, "linear": 8}

#: SDR diffuse white in nits: linear 1.0 (BT.2408; libultrahdr kSdrWhiteNits, libavif SDR_WHITE_NITS).
SDR_WHITE_NITS = 203.0
#: PQ absolute peak (ST 2084).
PQ_MAX_NITS = 10000.0
#: HLG nominal peak display luminance used by default (BT.2100 reference display; libultrahdr kHlgMaxNits).
HLG_PEAK_NITS = 1000.0

# Bradford cone-response matrix (Lam 1985; as used by the ICC for chad tags, ICC.1 Annex E).
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614],
                      [-0.7502, 1.7135, 0.0367],
                      [0.0389, -0.0685, 1.0296]], dtype=np.float64)


def canonical_name(name: str) -> str:
    """The canonical name of a colour space (``"srgb"``, ``"display-p3"`` or ``"bt2020"``)."""
    key = str(name).strip().lower().replace(" ", "-")
    try:
        return ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown colour space {name!r}; expected one of {', '.join(COLOUR_SPACES)}") from None


# ------------------------------------------------------------------------------------------ matrices
def xy_to_xyz(x: float, y: float, Y: float = 1.0) -> np.ndarray:  # noqa: N803 - CIE notation
    """XYZ (float64) of chromaticity ``(x, y)`` at luminance ``Y``."""
    if y == 0:
        raise ValueError("chromaticity y must not be 0")
    return np.array([x * Y / y, Y, (1.0 - x - y) * Y / y], dtype=np.float64)


def xyz_to_xy(xyz: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """CIE xy of an XYZ triple (``(nan, nan)`` when X + Y + Z is 0)."""
    v = np.asarray(xyz, dtype=np.float64)
    s = float(v.sum())
    if s == 0.0:
        return (math.nan, math.nan)
    return (float(v[0] / s), float(v[1] / s))


def rgb_to_xyz_matrix(primaries: Sequence[Sequence[float]], white: Sequence[float]) -> np.ndarray:
    """The 3x3 matrix from linear RGB to XYZ for ``primaries`` (xy of R, G, B) and ``white`` (xy).

    Columns are the primaries' XYZ scaled so that RGB = (1, 1, 1) maps to the white with Y = 1
    (SMPTE RP 177).
    """
    p = np.stack([xy_to_xyz(*xy) for xy in primaries], axis=1)
    w = xy_to_xyz(*white)
    scale = np.linalg.solve(p, w)
    return p * scale[np.newaxis, :]


@functools.cache
def _rgb_to_xyz(name: str) -> np.ndarray:
    m = rgb_to_xyz_matrix(PRIMARIES[name], WHITE_D65)
    m.setflags(write=False)
    return m


def rgb_to_xyz(name: str) -> np.ndarray:
    """The linear RGB -> XYZ matrix (float64, read-only) of a named colour space."""
    return _rgb_to_xyz(canonical_name(name))


def xyz_to_rgb(name: str) -> np.ndarray:
    """The XYZ -> linear RGB matrix (float64) of a named colour space."""
    return np.linalg.inv(rgb_to_xyz(name))


@functools.cache
def _conversion(src: str, dst: str) -> np.ndarray:
    m = np.linalg.inv(_rgb_to_xyz(dst)) @ _rgb_to_xyz(src)
    m.setflags(write=False)
    return m


def conversion_matrix(src: str, dst: str) -> np.ndarray:
    """The 3x3 matrix (float64, read-only) taking linear RGB in ``src`` to linear RGB in ``dst``.

    All named spaces share the D65 white, so no chromatic adaptation is involved.
    """
    return _conversion(canonical_name(src), canonical_name(dst))


def luminance_coefficients(name: str) -> np.ndarray:
    """The luminance coefficients (the Y row of the RGB -> XYZ matrix), float64, summing to 1."""
    return np.array(rgb_to_xyz(name)[1], dtype=np.float64)


def luminance(linear: np.ndarray, colour_space: str = "srgb") -> np.ndarray:
    """Relative luminance Y (float32, shape ``linear.shape[:-1]``) of linear RGB."""
    k = luminance_coefficients(colour_space).astype(np.float32)
    arr = np.asarray(linear)
    return (arr[..., 0] * k[0] + arr[..., 1] * k[1] + arr[..., 2] * k[2]).astype(np.float32, copy=False)


def convert(linear: np.ndarray, src: str, dst: str, *, chunk_rows: int = 512) -> np.ndarray:
    """Linear RGB from ``src`` primaries to ``dst`` primaries (float32, new array; row chunks for memory)."""
    arr = np.asarray(linear)
    out = np.empty(arr.shape, dtype=np.float32)
    if canonical_name(src) == canonical_name(dst):
        out[...] = arr
        return out
    m = conversion_matrix(src, dst).T.astype(np.float32)
    flat_in = arr.reshape(-1, 3)
    flat_out = out.reshape(-1, 3)
    step = max(1, chunk_rows) * max(1, int(np.prod(arr.shape[1:-1])))
    for i in range(0, flat_in.shape[0], step):
        np.matmul(flat_in[i:i + step].astype(np.float32, copy=False), m, out=flat_out[i:i + step])
    return out


# --------------------------------------------------------------------------------- transfer: sRGB
def _f32(v: np.ndarray | float) -> np.ndarray:
    return np.asarray(v, dtype=np.float32)


#: The sRGB curve (IEC 61966-2-1): decode threshold, linear slope, offset a, exponent, and encode threshold.
SRGB_THRESHOLD = 0.04045
SRGB_SLOPE = 12.92
SRGB_OFFSET = 0.055
SRGB_GAMMA = 2.4
SRGB_LINEAR_THRESHOLD = 0.0031308
#: The same curve as ICC parametric curve type 3 parameters (g, a, b, c, d): Y = (aX + b)^g for X >= d, else cX.
SRGB_PARAMETRIC = (SRGB_GAMMA, 1 / (1 + SRGB_OFFSET), SRGB_OFFSET / (1 + SRGB_OFFSET), 1 / SRGB_SLOPE,
                   SRGB_THRESHOLD)


def srgb_to_linear(signal: np.ndarray | float) -> np.ndarray:
    """sRGB EOTF (IEC 61966-2-1): signal in [0, 1] -> linear.  Extended range: odd symmetric beyond 0."""
    v = _f32(signal)
    a = np.abs(v)
    out = np.where(a <= np.float32(SRGB_THRESHOLD), a / np.float32(SRGB_SLOPE),
                   np.power((a + np.float32(SRGB_OFFSET)) / np.float32(1 + SRGB_OFFSET), np.float32(SRGB_GAMMA)))
    return np.copysign(out, v).astype(np.float32, copy=False)


def srgb_to_linear_f64(signal: np.ndarray | float) -> np.ndarray:
    """sRGB EOTF computed in float64 (for tables rounded afterwards); no extension below 0."""
    v = np.asarray(signal, dtype=np.float64)
    return np.where(v <= SRGB_THRESHOLD, v / SRGB_SLOPE, ((v + SRGB_OFFSET) / (1 + SRGB_OFFSET)) ** SRGB_GAMMA)


def linear_to_srgb(linear: np.ndarray | float) -> np.ndarray:
    """sRGB inverse EOTF (encoding): linear -> signal.  Extended range: odd symmetric, no clipping."""
    v = _f32(linear)
    a = np.abs(v)
    out = np.where(a <= np.float32(SRGB_LINEAR_THRESHOLD), a * np.float32(SRGB_SLOPE),
                   np.float32(1 + SRGB_OFFSET) * np.power(a, np.float32(1.0 / SRGB_GAMMA)) - np.float32(SRGB_OFFSET))
    return np.copysign(out, v).astype(np.float32, copy=False)


#: BT.709 / BT.2020 OETF constants at full precision (BT.2020-2 Table 4).  BT.709 prints them rounded
#: (1.099, 0.018, 0.081); the rounded set is not exactly invertible near the knee, this one is.
BT709_ALPHA = 1.09929682680944
BT709_BETA = 0.018053968510807


def _bt709_decode64(v: np.ndarray | float) -> np.ndarray:
    v = np.maximum(np.asarray(v, dtype=np.float64), 0.0)
    return np.where(v < 4.5 * BT709_BETA, v / 4.5, ((v + BT709_ALPHA - 1.0) / BT709_ALPHA) ** (1.0 / 0.45))


def bt709_to_linear(signal: np.ndarray | float) -> np.ndarray:
    """BT.709 inverse OETF (V < 4.5 beta: V / 4.5, else ((V + alpha - 1) / alpha)^(1/0.45)), clipped at 0."""
    return _bt709_decode64(signal).astype(np.float32)


def linear_to_bt709(linear: np.ndarray | float) -> np.ndarray:
    """BT.709 OETF (L < beta: 4.5 L, else alpha L^0.45 - (alpha - 1)), clipped at 0."""
    v = np.maximum(np.asarray(linear, dtype=np.float64), 0.0)
    return np.where(v < BT709_BETA, 4.5 * v, BT709_ALPHA * v ** 0.45 - (BT709_ALPHA - 1.0)).astype(np.float32)


@functools.cache
def _u8_lut(kind: str) -> np.ndarray:
    codes = np.arange(256, dtype=np.float64) / 255.0
    if kind == "srgb":
        lut = srgb_to_linear_f64(codes)
    elif kind == "rec709":
        lut = _bt709_decode64(codes)
    elif kind == "gamma2.2":
        lut = codes ** 2.2
    else:
        raise ValueError(f"unknown 8-bit transfer {kind!r}")
    out = lut.astype(np.float32)
    out.setflags(write=False)
    return out


def srgb_u8_lut() -> np.ndarray:
    """A read-only float32 (256,) table: 8-bit sRGB code -> linear (computed in float64, then rounded)."""
    return _u8_lut("srgb")


def u8_to_linear_lut(transfer: str = "srgb") -> np.ndarray:
    """A read-only float32 (256,) decode table for ``"srgb"``, ``"rec709"`` (BT.709 inverse OETF) or
    ``"gamma2.2"``."""
    return _u8_lut(transfer)


# ----------------------------------------------------------------------------------- transfer: PQ
_PQ_M1 = 2610.0 / 16384.0
_PQ_M2 = 2523.0 / 4096.0 * 128.0
_PQ_C1 = 3424.0 / 4096.0
_PQ_C2 = 2413.0 / 4096.0 * 32.0
_PQ_C3 = 2392.0 / 4096.0 * 32.0


def nits_to_pq(nits: np.ndarray | float) -> np.ndarray:
    """SMPTE ST 2084 inverse EOTF: absolute luminance in nits -> PQ signal in [0, 1] (negatives -> 0).

    Computed in float64 internally (the m2 = 78.84 power amplifies float32 rounding), returned as float32.
    """
    y = np.clip(np.asarray(nits, dtype=np.float64) / PQ_MAX_NITS, 0.0, None)
    ym = np.power(y, _PQ_M1)
    return np.power((_PQ_C1 + _PQ_C2 * ym) / (1.0 + _PQ_C3 * ym), _PQ_M2).astype(np.float32)


def pq_to_nits(signal: np.ndarray | float) -> np.ndarray:
    """SMPTE ST 2084 EOTF: PQ signal in [0, 1] -> absolute luminance in nits (float64 inside, float32 out)."""
    e = np.clip(np.asarray(signal, dtype=np.float64), 0.0, 1.0)
    ep = np.power(e, 1.0 / _PQ_M2)
    num = np.maximum(ep - _PQ_C1, 0.0)
    return (PQ_MAX_NITS * np.power(num / (_PQ_C2 - _PQ_C3 * ep), 1.0 / _PQ_M1)).astype(np.float32)


def linear_to_pq(linear: np.ndarray | float, sdr_white_nits: float = SDR_WHITE_NITS) -> np.ndarray:
    """PQ signal of linear values where 1.0 = ``sdr_white_nits`` (203 by default)."""
    return nits_to_pq(np.asarray(linear, dtype=np.float64) * sdr_white_nits)


def pq_to_linear(signal: np.ndarray | float, sdr_white_nits: float = SDR_WHITE_NITS) -> np.ndarray:
    """Linear values (1.0 = ``sdr_white_nits``) of a PQ signal."""
    return (pq_to_nits(signal) / np.float32(sdr_white_nits)).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------- transfer: HLG
_HLG_A = 0.17883277
_HLG_B = 1.0 - 4.0 * _HLG_A
_HLG_C = 0.5 - _HLG_A * math.log(4.0 * _HLG_A)


def hlg_oetf(scene: np.ndarray | float) -> np.ndarray:
    """BT.2100 HLG OETF: normalised scene light E in [0, 1] -> signal E' (negatives -> 0)."""
    e = np.clip(np.asarray(scene, dtype=np.float64), 0.0, None)
    low = np.sqrt(3.0 * np.minimum(e, 1.0 / 12.0))
    high = _HLG_A * np.log(np.maximum(12.0 * e - _HLG_B, 1e-12)) + _HLG_C
    return np.where(e <= 1.0 / 12.0, low, high).astype(np.float32)


def hlg_inverse_oetf(signal: np.ndarray | float) -> np.ndarray:
    """BT.2100 HLG inverse OETF: signal E' in [0, 1] -> normalised scene light E (negatives -> 0)."""
    v = np.clip(np.asarray(signal, dtype=np.float64), 0.0, None)
    low = v * v / 3.0
    high = (np.exp((v - _HLG_C) / _HLG_A) + _HLG_B) / 12.0
    return np.where(v <= 0.5, low, high).astype(np.float32)


def hlg_system_gamma(peak_nits: float = HLG_PEAK_NITS) -> float:
    """BT.2100 HLG system gamma 1.2 + 0.42 log10(Lw / 1000) (1.2 at the 1000-nit reference)."""
    return 1.2 + 0.42 * math.log10(peak_nits / 1000.0)


def hlg_ootf(scene: np.ndarray, peak_nits: float = HLG_PEAK_NITS) -> np.ndarray:
    """BT.2100 HLG OOTF (black level 0): scene-linear BT.2020 RGB in [0, 1] (..., 3) -> display nits.

    F_D = Lw * Ys^(gamma - 1) * E, Ys the BT.2020 luminance of the scene light.
    """
    e = np.clip(np.asarray(scene, dtype=np.float64), 0.0, None)
    gamma = hlg_system_gamma(peak_nits)
    ys = e @ luminance_coefficients("bt2020")
    scale = np.where(ys > 0.0, np.power(np.maximum(ys, 1e-30), gamma - 1.0), 0.0)
    return (peak_nits * e * scale[..., np.newaxis]).astype(np.float32)


def hlg_inverse_ootf(display_nits: np.ndarray, peak_nits: float = HLG_PEAK_NITS) -> np.ndarray:
    """Inverse of :func:`hlg_ootf`: display light in nits (BT.2020 RGB, ..., 3) -> scene light in [0, 1]."""
    fd = np.clip(np.asarray(display_nits, dtype=np.float64), 0.0, None) / peak_nits
    gamma = hlg_system_gamma(peak_nits)
    yd = fd @ luminance_coefficients("bt2020")
    scale = np.where(yd > 0.0, np.power(np.maximum(yd, 1e-30), (1.0 - gamma) / gamma), 0.0)
    return (fd * scale[..., np.newaxis]).astype(np.float32)


def linear_to_hlg(linear: np.ndarray, peak_nits: float = HLG_PEAK_NITS,
                  sdr_white_nits: float = SDR_WHITE_NITS) -> np.ndarray:
    """HLG signal of linear BT.2020 RGB (1.0 = SDR white): inverse OOTF then OETF; above peak clips."""
    display = np.asarray(linear, dtype=np.float64) * sdr_white_nits
    scene = np.clip(hlg_inverse_ootf(display, peak_nits), 0.0, 1.0)
    return hlg_oetf(scene)


def hlg_to_linear(signal: np.ndarray, peak_nits: float = HLG_PEAK_NITS,
                  sdr_white_nits: float = SDR_WHITE_NITS) -> np.ndarray:
    """Linear BT.2020 RGB (1.0 = SDR white) of an HLG signal: inverse OETF then OOTF."""
    return (hlg_ootf(hlg_inverse_oetf(signal), peak_nits) / np.float32(sdr_white_nits)).astype(np.float32)


# ------------------------------------------------------------------------------------- detection
def bradford_matrix(src_white_xyz: Sequence[float] | np.ndarray, dst_white_xyz: Sequence[float] | np.ndarray
                    ) -> np.ndarray:
    """Bradford chromatic adaptation matrix (float64) taking XYZ under ``src`` white to ``dst`` white."""
    src = _BRADFORD @ np.asarray(src_white_xyz, dtype=np.float64)
    dst = _BRADFORD @ np.asarray(dst_white_xyz, dtype=np.float64)
    return np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD


def _close_xy(a: tuple[float, float], b: tuple[float, float], tol: float) -> bool:
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


def icc_colorants(primaries: Sequence[Sequence[float]], white: Sequence[float] = WHITE_D65) -> IccColorants:
    """What a v4 matrix/TRC profile of these primaries and white (xy) stores: colorants adapted to the D50 PCS
    with Bradford, ``wtpt`` = D50 and the ``chad`` tag of that adaptation (ICC.1:2010 Annex D, 9.2.15)."""
    chad = bradford_matrix(xy_to_xyz(*white), PCS_D50_XYZ)
    pcs = chad @ rgb_to_xyz_matrix(primaries, white)
    cols = tuple(tuple(float(v) for v in pcs[:, i]) for i in range(3))
    rows = tuple(tuple(float(v) for v in chad[i]) for i in range(3))
    return IccColorants(cols[0], cols[1], cols[2], PCS_D50_XYZ, rows)  # type: ignore[arg-type]


def pcs_matrix(colorants: IccColorants) -> np.ndarray:
    """The 3x3 RGB -> XYZ(D50) matrix of a profile: columns rXYZ, gXYZ, bXYZ."""
    return np.array([colorants.red, colorants.green, colorants.blue], dtype=np.float64).T


def native_primaries(colorants: IccColorants) -> tuple[tuple[tuple[float, float], ...], tuple[float, float]]:
    """The device (un-adapted) xy of an ICC profile's colorants and white.

    Colorant tags are PCS-relative: adapted to the D50 PCS illuminant (ICC.1:2010 section 9.2 and Annex D), so
    the adaptation must be undone to name the device's primaries.  With a ``chad`` tag its inverse undoes it
    and the device white is ``inverse(chad) @ D50`` (chad maps the adopted white to the PCS white by
    definition, ICC.1:2010 9.2.15; ``wtpt`` is ignored then, because some v4 profiles, Apple's Display P3 and
    libavif's sRGB among them, store the D65 media white there instead of D50).  Without ``chad`` (ICC v2)
    the ``wtpt`` is the device white and the colorants are un-adapted with Bradford from D50 to it.

    A D50 ``wtpt`` without ``chad`` says nothing about the adopted white (v4 requires ``wtpt`` = D50 for
    displays, 9.2.36).  We assume D65, the white of every space gain-map formats name, un-adapted with Bradford.
    That is what writes and reads these profiles in practice: libultrahdr writes its sRGB, Display P3 and
    BT.2100 profiles exactly so (Bradford-adapted D65 colorants, ``wtpt`` D50, no ``chad``) and identifies
    them, as skcms does, by comparing the D50 matrix with Bradford-adapted D65 references.  Taking the
    colorants as un-adapted instead (what LittleCMS does for rendering, where it makes no difference) would
    give D50-white "primaries" that match no named space, so every such Display P3 file would fall back to
    sRGB.  (Until issue 11, ``gainmap.formats.icc`` had a second implementation doing that.)
    """
    cols = pcs_matrix(colorants)
    pcs = np.array(PCS_D50_XYZ, dtype=np.float64)
    if colorants.chad is not None:
        inv = np.linalg.inv(np.asarray(colorants.chad, dtype=np.float64))
        white = inv @ pcs
        native = inv @ cols
    else:
        w = None if colorants.white is None else np.asarray(colorants.white, dtype=np.float64)
        if w is None or _close_xy(xyz_to_xy(w), xyz_to_xy(pcs), 0.003):
            w = xy_to_xyz(*WHITE_D65)
        white = w
        native = bradford_matrix(pcs, w / w[1]) @ cols
    prim = tuple(xyz_to_xy(native[:, i]) for i in range(3))
    return prim, xyz_to_xy(white)


def detect_colour_space(colorants: IccColorants, *, tolerance: float = 0.005) -> str | None:
    """Name the colour space of an ICC matrix/TRC profile from its colorants (rXYZ, gXYZ, bXYZ, wtpt, chad).

    Each un-adapted primary (see :func:`native_primaries`) and the white must lie within ``tolerance`` in
    CIE x and y of a named space's values; the closest match wins.  ``None`` when nothing matches (e.g.
    Adobe RGB, DCI-P3 with its DCI white, ProPhoto).  0.005 is about 10x the spread seen between
    real-world sRGB/P3 profiles and an order of magnitude below the distance between any two named spaces.
    """
    try:
        prim, white = native_primaries(colorants)
    except (np.linalg.LinAlgError, ValueError, TypeError):
        return None
    if not all(math.isfinite(v) for xy in (*prim, white) for v in xy):
        return None
    if not _close_xy(white, WHITE_D65, tolerance):
        return None
    best: tuple[float, str] | None = None
    for name, ref in PRIMARIES.items():
        err = max(max(abs(p[0] - r[0]), abs(p[1] - r[1])) for p, r in zip(prim, ref))
        if err <= tolerance and (best is None or err < best[0]):
            best = (err, name)
    return None if best is None else best[1]


def colour_space_of(info: IccProfile) -> tuple[str, str]:
    """The colour space of the pixels a parsed ICC profile describes, and a reason a person can read.

    Order: a ``cicp`` tag with primaries 1/9/12 wins; else the colorant primaries are matched
    (:func:`detect_colour_space`); a profile without colorants (LUT-based, grey) or with unknown primaries
    falls back to sRGB, the documented default of every gain-map reader.
    """
    prefix = ""
    if info.cicp is not None:
        code = int(info.cicp[0])
        name = CICP_PRIMARIES.get(code)
        if name is not None:
            return name, f"ICC cicp tag: colour primaries {code} ({name})"
        prefix = f"ICC cicp primaries {code} not a named space; "
    colorants = info.colorants
    if colorants is None:
        return "srgb", prefix + "ICC profile has no rXYZ/gXYZ/bXYZ colorants (LUT-based or not RGB): sRGB assumed"
    name = detect_colour_space(colorants)
    if name is not None:
        return name, prefix + f"ICC colorant primaries match {name}"
    try:
        prim, white = native_primaries(colorants)
        shown = ", ".join(f"({x:.4f}, {y:.4f})" for x, y in (*prim, white))
    except (np.linalg.LinAlgError, ValueError, TypeError):
        shown = "unusable"
    return "srgb", prefix + f"ICC primaries R, G, B, white {shown} match no named space: sRGB assumed"


def colour_space_from_icc(profile: bytes | None) -> tuple[str, str]:
    """:func:`colour_space_of` an embedded profile's bytes; no profile or an unreadable one -> sRGB."""
    if not profile:
        return "srgb", "no ICC profile: sRGB assumed (the default of every gain-map reader)"
    try:
        info = parse_icc_profile(profile)
    except GainMapError as exc:
        return "srgb", f"unreadable ICC profile ({exc}): sRGB assumed"
    return colour_space_of(info)
