"""Training data: HDR sources -> packed file -> on-the-fly synthetic (SDR, gain) pairs; real corpus pairs.

numpy + Pillow only (no torch), so :mod:`gainmap.predict.evaluate` can reuse the corpus helpers.

Gain convention everywhere (matches the metadata the predictors write: min 0, gamma 1, offsets 1/64)::

    G = log2((Y_hdr + 1/64) / (Y_sdr + 1/64)),  Y = Rec.709 luminance of linear RGB, 1.0 = SDR white

Synthesis of one sample (``synthesize``): a linear HDR view is exposure-normalised (median luminance to a random
key), a random global tone curve ``T`` (extended Reinhard, Hable, ACES fit, exponential, knee) renders the SDR
(per channel or on luminance), which is sRGB-encoded, 8-bit quantised and sometimes JPEG round-tripped; the HDR
rendition is the same curve on a display with ``2**H`` headroom, ``T_H(x) = 2**H * T(x / 2**H)``, so shadows keep
gain ~0 and highlights get up to ``H`` stops, as phone gain maps do; half the HDR renditions also get an exposure
lift of up to 1.5 stops before the curve (phone HDR renditions brighten midtones too).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from gainmap.hdr import color
from gainmap.predict.training import splits

OFFSET = 1.0 / 64.0
LOG2_P = 4.0  #: dataset peak in stops: q = Qmax / LOG2_P
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
THUMB = 256
PACK_NAME = "gmnet_pack.npz"


# ----------------------------------------------------------------------------------------------- colour helpers
srgb_to_linear = color.srgb_to_linear


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """sRGB encoding of linear values clipped to [0, 1]."""
    return color.linear_to_srgb(np.clip(np.asarray(v, np.float32), 0.0, 1.0))


_SRGB_LUT = srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)


def u8_to_linear(sdr: np.ndarray) -> np.ndarray:
    """8-bit sRGB-encoded pixels to linear float32 through a 256-entry table."""
    return _SRGB_LUT[sdr]


def luminance(rgb: np.ndarray) -> np.ndarray:
    return rgb @ LUMA


def log2_gain(y_hdr: np.ndarray, y_sdr: np.ndarray) -> np.ndarray:
    return np.log2((np.maximum(y_hdr, 0) + OFFSET) / (np.maximum(y_sdr, 0) + OFFSET)).astype(np.float32)


def _xyz_matrix(chroma: tuple[float, ...]) -> np.ndarray:
    """RGB -> XYZ for primaries/white (rx, ry, gx, gy, bx, by, wx, wy), as OpenEXR lists chromaticities."""
    rx, ry, gx, gy, bx, by, wx, wy = chroma
    return color.rgb_to_xyz_matrix(((rx, ry), (gx, gy), (bx, by)), (wx, wy))


REC709 = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)


def resize(img: np.ndarray, size: tuple[int, int], method: int = Image.Resampling.BILINEAR) -> np.ndarray:
    """Resize a float HxW or HxWxC array to ``size`` = (width, height) with Pillow, per channel ('F' mode)."""
    if img.ndim == 2:
        return np.asarray(Image.fromarray(np.ascontiguousarray(img, np.float32), "F").resize(size, method))
    return np.stack([resize(img[..., c], size, method) for c in range(img.shape[2])], axis=-1)


def resize_u8(img: np.ndarray, size: tuple[int, int], method: int = Image.Resampling.BICUBIC) -> np.ndarray:
    return np.asarray(Image.fromarray(img).resize(size, method, reducing_gap=3.0 if method != Image.Resampling.BOX else None))


def working_size(h: int, w: int, long_side: int) -> tuple[int, int]:
    """(height, width) with the long side at most ``long_side``, both even and >= 2."""
    s = min(1.0, long_side / max(h, w))
    return max(2, 2 * round(h * s / 2)), max(2, 2 * round(w * s / 2))


# ----------------------------------------------------------------------------------------------- reading sources
def read_hdr(path: str | Path) -> np.ndarray:
    """A linear HDR image (Radiance .hdr or OpenEXR) as float32 HxWx3, Rec.709 primaries, negatives clamped."""
    path = Path(path)
    if path.suffix.lower() == ".hdr":
        import imagecodecs

        rgb = np.asarray(imagecodecs.rgbe_decode(path.read_bytes()), np.float32)[..., :3]
    else:
        import OpenEXR

        with OpenEXR.File(str(path)) as exr:
            header = exr.header()
            channels = exr.channels()
            key = "RGBA" if "RGBA" in channels else "RGB"
            rgb = np.asarray(channels[key].pixels, np.float32)[..., :3]
            chroma = header.get("chromaticities")
        if chroma is not None and not np.allclose(chroma, REC709, atol=1e-3):
            m = np.linalg.inv(_xyz_matrix(REC709)) @ _xyz_matrix(tuple(float(c) for c in chroma))
            rgb = rgb @ m.T.astype(np.float32)
    rgb = np.nan_to_num(rgb, nan=0.0, posinf=0.0, neginf=0.0)
    return np.maximum(rgb, 0.0).astype(np.float32)


def read_manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def rgbe_encode(rgb: np.ndarray) -> np.ndarray:
    """Radiance shared-exponent encoding (uint8 HxWx4): compact storage for the pack."""
    top = rgb.max(axis=-1)
    mant, exp = np.frexp(top)
    scale = np.where(top > 1e-32, mant * 256.0 / np.maximum(top, 1e-38), 0.0)
    out = np.zeros(rgb.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.clip(rgb * scale[..., None], 0, 255).astype(np.uint8)
    out[..., 3] = np.where(top > 1e-32, np.clip(exp + 128, 0, 255), 0).astype(np.uint8)
    return out


def rgbe_decode(rgbe: np.ndarray) -> np.ndarray:
    e = rgbe[..., 3].astype(np.int32)
    f = np.where(e > 0, np.ldexp(1.0, e - 136), 0.0).astype(np.float32)
    return (rgbe[..., :3].astype(np.float32) + 0.5) * f[..., None] * (e[..., None] > 0)


def load_corpus_pair(path: str | Path, long_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(SDR uint8 HxWx3 primary decoded with Pillow, true HDR float32 HxWx3 linear from libultrahdr).

    With ``long_side`` both are reduced (SDR bicubic in sRGB, HDR box-averaged in linear) to the same size.
    """
    import imagecodecs

    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        sdr = np.asarray(im.convert("RGB"))
    hdr = np.asarray(imagecodecs.ultrahdr_decode(data, dtype="float16"))[..., :3]
    if hdr.shape[:2] != sdr.shape[:2]:
        raise ValueError(f"{path}: HDR {hdr.shape[:2]} and SDR {sdr.shape[:2]} disagree")
    if long_side is not None and max(sdr.shape[:2]) > long_side:
        h, w = working_size(sdr.shape[0], sdr.shape[1], long_side)
        sdr = resize_u8(sdr, (w, h))
        hdr = resize(np.nan_to_num(hdr.astype(np.float32)), (w, h), Image.Resampling.BOX)
    return sdr, np.maximum(np.nan_to_num(hdr.astype(np.float32)), 0.0)


def corpus_gain(sdr: np.ndarray, hdr: np.ndarray) -> np.ndarray:
    """Luminance log2 gain of a true HDR rendition over its SDR primary (unclipped)."""
    return log2_gain(luminance(hdr), luminance(u8_to_linear(sdr)))


# ----------------------------------------------------------------------------------------------- pack
def build_pack(shared: Path, out_dir: Path, *, real_long_side: int = 512, exr_long_side: int = 768,
               log=print) -> Path:
    """Pack the trainable HDR sources (RGBE) and real corpus pairs into ``out_dir/gmnet_pack.npz`` (< 64 MiB)."""
    arrays: dict[str, np.ndarray] = {}
    names: list[str] = []
    for row in read_manifest(shared / "hdr" / "MANIFEST.tsv"):
        name = row["file"]
        if not splits.trainable_licence(row["license"]):
            log(f"skip {name}: licence {row['license'][:30]}")
            continue
        rgb = read_hdr(shared / "hdr" / name)
        kind = "pano" if name.endswith(".hdr") else "photo"
        if kind == "photo" and max(rgb.shape[:2]) > exr_long_side:
            h, w = working_size(rgb.shape[0], rgb.shape[1], exr_long_side)
            rgb = resize(rgb, (w, h), Image.Resampling.BOX)
        split = "val" if name in splits.VAL_HDR else "train"
        key = f"hdr/{split}/{kind}/{len(names):03d}"
        arrays[key] = rgbe_encode(rgb)
        names.append(f"{key}\t{name}")
    manifest = {r["file"]: r for r in read_manifest(shared / "corpus" / "MANIFEST.tsv")}
    for name in splits.TRAIN_CORPUS:
        corpus_row = manifest.get(name)
        if corpus_row is None or not splits.trainable_licence(corpus_row["license_of_repo"]):
            log(f"skip corpus {name}: missing or licence")
            continue
        sdr, hdr = load_corpus_pair(shared / "corpus" / name, real_long_side)
        gain = np.clip(corpus_gain(sdr, hdr), 0.0, LOG2_P)
        key = f"real/{len(names):03d}"
        arrays[key + "/sdr"] = sdr
        arrays[key + "/gain"] = np.round(gain / LOG2_P * 65535).astype(np.uint16)
        names.append(f"{key}\t{name}")
    arrays["index"] = np.array(names)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / PACK_NAME
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as allow_pickle
    log(f"packed {len(names)} sources into {path} ({path.stat().st_size / 2**20:.1f} MiB)")
    return path


@dataclass
class Pack:
    """The decoded pack: lists of linear HDR sources and real (SDR, gain) pairs."""

    panos: list[np.ndarray]
    photos: list[np.ndarray]
    val_sources: list[tuple[str, np.ndarray]]
    real: list[tuple[np.ndarray, np.ndarray]]

    @classmethod
    def load(cls, path: Path) -> Pack:
        panos: list[np.ndarray] = []
        photos: list[np.ndarray] = []
        val: list[tuple[str, np.ndarray]] = []
        real: list[tuple[np.ndarray, np.ndarray]] = []
        with np.load(path) as z:
            for entry in z["index"]:
                key = str(entry).split("\t")[0]
                if key.startswith("hdr/"):
                    rgb = rgbe_decode(z[key])
                    _, split, kind, _ = key.split("/")
                    if split == "val":
                        val.append((kind, rgb))
                    else:
                        (panos if kind == "pano" else photos).append(rgb)
                else:
                    gain = z[key + "/gain"].astype(np.float32) * (LOG2_P / 65535)
                    real.append((z[key + "/sdr"], gain))
        return cls(panos, photos, val, real)


# ----------------------------------------------------------------------------------------------- views
ASPECTS = ((4, 3), (3, 4), (3, 2), (2, 3), (16, 9), (1, 1))


def _view_shape(rng: np.random.Generator, long_side: int) -> tuple[int, int]:
    a, b = ASPECTS[rng.integers(len(ASPECTS))]
    w = long_side if a >= b else round(long_side * a / b)
    h = long_side if b >= a else round(long_side * b / a)
    return h - h % 2, w - w % 2


def equirect_view(pano: np.ndarray, h: int, w: int, fov_deg: float, yaw: float, pitch: float) -> np.ndarray:
    """A gnomonic (rectilinear) view of a lat-long panorama, bilinear, horizontal FOV ``fov_deg``."""
    ph, pw = pano.shape[:2]
    f = (w / 2) / math.tan(math.radians(fov_deg) / 2)
    xs = np.arange(w, dtype=np.float32) - (w - 1) / 2
    ys = (h - 1) / 2 - np.arange(h, dtype=np.float32)
    x, y = np.meshgrid(xs, ys)
    z = np.full_like(x, f)
    cp, sp = math.cos(pitch), math.sin(pitch)
    y2, z2 = y * cp + z * sp, -y * sp + z * cp
    lon = np.arctan2(x, z2) + yaw
    lat = np.arctan2(y2, np.hypot(x, z2))
    col = (lon / (2 * math.pi) + 0.5) * pw - 0.5
    row = (0.5 - lat / math.pi) * ph - 0.5
    c0 = np.floor(col).astype(np.int64)
    r0 = np.clip(np.floor(row).astype(np.int64), 0, ph - 2)
    fc = (col - c0)[..., None]
    fr = np.clip(row - r0, 0, 1)[..., None]
    c0, c1 = c0 % pw, (c0 + 1) % pw
    top = pano[r0, c0] * (1 - fc) + pano[r0, c1] * fc
    bot = pano[r0 + 1, c0] * (1 - fc) + pano[r0 + 1, c1] * fc
    return (top * (1 - fr) + bot * fr).astype(np.float32)


def random_view(rng: np.random.Generator, panos: list[np.ndarray], photos: list[np.ndarray],
                long_side: int) -> np.ndarray:
    """A random camera-like view: a rectilinear cut of a panorama or a crop/rescale of a photo; flips, WB."""
    h, w = _view_shape(rng, long_side)
    use_photo = photos and (not panos or rng.random() < 0.35)
    if use_photo:
        src = photos[rng.integers(len(photos))]
        sh, sw = src.shape[:2]
        scale = rng.uniform(0.55, 1.0)
        ch, cw = int(sh * scale), int(sh * scale * w / h)
        if cw > sw:
            cw, ch = int(sw * scale), int(sw * scale * h / w)
        y0, x0 = rng.integers(0, sh - ch + 1), rng.integers(0, sw - cw + 1)
        view = resize(src[y0:y0 + ch, x0:x0 + cw], (w, h), Image.Resampling.BOX if ch > h else Image.Resampling.BILINEAR)
    else:
        src = panos[rng.integers(len(panos))]
        view = equirect_view(src, h, w, rng.uniform(60, 100), rng.uniform(-math.pi, math.pi),
                             math.radians(rng.uniform(-15, 30)))
    if rng.random() < 0.5:
        view = view[:, ::-1]
    wb = np.exp(rng.normal(0, 0.06, 3)).astype(np.float32)
    return np.ascontiguousarray(view * wb)


# ----------------------------------------------------------------------------------------------- tone curves
def _reinhard(x: np.ndarray, p: float) -> np.ndarray:
    w = p
    return x * (1 + x / (w * w)) / (1 + x)


def _hable_raw(x: np.ndarray) -> np.ndarray:
    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return (x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f


def _hable(x: np.ndarray, p: float) -> np.ndarray:
    return _hable_raw(2.0 * x) / _hable_raw(np.asarray(p, np.float32))


def _aces(x: np.ndarray, p: float) -> np.ndarray:
    x = x * p
    return x * (2.51 * x + 0.03) / (x * (2.43 * x + 0.59) + 0.14)


def _expo(x: np.ndarray, p: float) -> np.ndarray:
    return 1.0 - np.exp(-p * x)


def _knee(x: np.ndarray, p: float) -> np.ndarray:
    t = p
    return np.where(x < t, x, t + (1 - t) * (1 - np.exp(-(x - t) / (1 - t))))


CURVES = {
    "reinhard": (_reinhard, (1.5, 12.0)),
    "hable": (_hable, (4.0, 16.0)),
    "aces": (_aces, (0.6, 1.6)),
    "expo": (_expo, (0.8, 2.0)),
    "knee": (_knee, (0.5, 0.9)),
}


def tone_map(x: np.ndarray, curve: str, p: float, headroom_stops: float = 0.0) -> np.ndarray:
    """``2**H * T(x / 2**H)`` clipped to ``[0, 2**H]`` (H = 0 gives the SDR rendition)."""
    fn, _ = CURVES[curve]
    k = np.float32(2.0 ** headroom_stops)
    return np.clip(fn(np.maximum(x, 0) / k, p) * k, 0, k).astype(np.float32)


def jpeg_round_trip(sdr: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(sdr).save(buf, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        return np.asarray(im.convert("RGB"))


def synthesize(view: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(SDR uint8 HxWx3, gain float32 HxW in stops, >= 0) from a linear HDR view."""
    y = luminance(view)
    med = float(np.median(y)) or float(y.mean()) or 1.0
    key = math.exp(rng.uniform(math.log(0.06), math.log(0.3)))
    scene = view * np.float32(key / max(med, 1e-8))
    curve = list(CURVES)[rng.integers(len(CURVES))]
    lo, hi = CURVES[curve][1]
    p = float(rng.uniform(lo, hi))
    headroom = float(rng.uniform(1.0, LOG2_P))
    # real HDR renditions often lift midtones too (Pixel: ~1.5 stops at mid-grey): an exposure lift for some
    lift = np.float32(2.0 ** (rng.uniform(0.0, 1.5) if rng.random() < 0.5 else 0.0))
    per_channel = rng.random() < 0.5
    if per_channel:
        sdr_lin = tone_map(scene, curve, p)
        hdr = tone_map(scene * lift, curve, p, headroom)
    else:
        ys = luminance(scene)[..., None]
        ratio = scene / np.maximum(ys, 1e-8)
        sdr_lin = np.clip(ratio * tone_map(ys, curve, p), 0, 1)
        hdr = ratio * tone_map(ys * lift, curve, p, headroom)
    enc = linear_to_srgb(sdr_lin)
    if rng.random() < 0.3:  # mild saturation change, as camera renderings do
        s = np.float32(rng.uniform(0.85, 1.25))
        luma = enc @ LUMA
        enc = np.clip(luma[..., None] + (enc - luma[..., None]) * s, 0, 1)
    sdr = np.round(enc * 255).astype(np.uint8)
    if rng.random() < 0.6:
        sdr = jpeg_round_trip(sdr, int(rng.integers(70, 96)))
    gain = np.clip(log2_gain(luminance(hdr), luminance(u8_to_linear(sdr))), 0.0, LOG2_P)
    return sdr, gain


def thumbnail(sdr: np.ndarray) -> np.ndarray:
    """The whole image squashed to 256x256, bicubic (aspect ratio ignored, as the reference)."""
    return resize_u8(sdr, (THUMB, THUMB), Image.Resampling.BICUBIC)


def qmax_of(gain: np.ndarray) -> float:
    """The image's headroom in stops: the 99.9th percentile of its gain (robust to single pixels)."""
    return float(min(np.percentile(gain, 99.9), LOG2_P))


@dataclass
class Sample:
    sdr: np.ndarray  # uint8 HxWx3 (whole image)
    gain: np.ndarray  # float32 HxW stops
    thumb: np.ndarray  # uint8 256x256x3
    qmax: float


def make_sample(sdr: np.ndarray, gain: np.ndarray) -> Sample:
    return Sample(sdr, gain.astype(np.float32), thumbnail(sdr), qmax_of(gain))


class SamplePool:
    """A pool of whole-image samples refreshed a few at a time, so synthesis costs a fraction of a step.

    Every batch draws random crops (and flips) from the pool; each refresh replaces ``refresh`` samples with new
    synthetic views (or, with probability ``p_real``, real corpus pairs).
    """

    def __init__(self, pack: Pack, rng: np.random.Generator, *, size: int = 64, refresh: int = 4,
                 long_side: int = 384, p_real: float = 0.2) -> None:
        self.pack, self.rng, self.refresh, self.long_side = pack, rng, refresh, long_side
        self.p_real = p_real if pack.real else 0.0
        self.pool = [self._new() for _ in range(size)]

    def _new(self) -> Sample:
        if self.rng.random() < self.p_real:
            sdr, gain = self.pack.real[self.rng.integers(len(self.pack.real))]
            if self.rng.random() < 0.5:
                sdr, gain = sdr[:, ::-1], gain[:, ::-1]
            return make_sample(np.ascontiguousarray(sdr), np.ascontiguousarray(gain))
        long_side = int(self.rng.integers(self.long_side * 5 // 8, self.long_side + 1))  # scale jitter
        view = random_view(self.rng, self.pack.panos, self.pack.photos, long_side)
        return make_sample(*synthesize(view, self.rng))

    def batch(self, n: int, crop: int) -> dict[str, np.ndarray]:
        for _ in range(self.refresh):
            self.pool[self.rng.integers(len(self.pool))] = self._new()
        idx = self.rng.integers(len(self.pool), size=n)
        return collate([self.pool[i] for i in idx], crop, self.rng)


def collate(samples: list[Sample], crop: int, rng: np.random.Generator | None) -> dict[str, np.ndarray]:
    """NCHW float32 arrays: sdr (crop), thumb, ngm and qgm targets, qmax; centre crops when ``rng`` is None."""
    sdr_b, ngm_b, qgm_b, thumb_b, q_b = [], [], [], [], []
    for s in samples:
        h, w = s.gain.shape
        ch, cw = min(crop, h - h % 2), min(crop, w - w % 2)
        if rng is None:
            y0, x0 = (h - ch) // 2, (w - cw) // 2
        else:
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        sdr = s.sdr[y0:y0 + ch, x0:x0 + cw]
        gain = s.gain[y0:y0 + ch, x0:x0 + cw]
        if (ch, cw) != (crop, crop):  # small images: pad by edge replication
            pad = ((0, crop - ch), (0, crop - cw))
            sdr = np.pad(sdr, pad + ((0, 0),), mode="edge")
            gain = np.pad(gain, pad, mode="edge")
        ngm = np.clip(gain / s.qmax, 0, 1) if s.qmax > 1e-3 else np.zeros_like(gain)
        sdr_b.append(sdr.transpose(2, 0, 1))
        ngm_b.append(ngm[None])
        qgm_b.append((ngm * (s.qmax / LOG2_P))[None])
        thumb_b.append(s.thumb.transpose(2, 0, 1))
        q_b.append(s.qmax / LOG2_P)
    return {
        "sdr": np.stack(sdr_b).astype(np.float32) / 255.0,
        "thumb": np.stack(thumb_b).astype(np.float32) / 255.0,
        "ngm": np.stack(ngm_b).astype(np.float32),
        "qgm": np.stack(qgm_b).astype(np.float32),
        "q": np.asarray(q_b, np.float32),
    }


def validation_samples(pack: Pack, *, n_views: int = 24, long_side: int = 384, seed: int = 12345) -> list[Sample]:
    """Fixed synthetic validation samples from the held-out HDR scenes (same seed, same samples)."""
    rng = np.random.default_rng(seed)
    panos = [rgb for kind, rgb in pack.val_sources if kind == "pano"]
    photos = [rgb for kind, rgb in pack.val_sources if kind == "photo"]
    if not panos and not photos:
        return []
    return [make_sample(*synthesize(random_view(rng, panos, photos, long_side), rng)) for _ in range(n_views)]
