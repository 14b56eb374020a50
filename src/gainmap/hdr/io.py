"""Reading and writing linear HDR images (float32 ``(H, W, 3)``, 1.0 = SDR white) with well-kept libraries.

=========== ======================================== ==================================================
Extension   Read                                     Write
=========== ======================================== ==================================================
.exr        ``OpenEXR`` (v3 API); RGB(A), R/G/B or Y  half (default) or float RGB, ZIP; a
            channels; ``chromaticities`` converted    ``chromaticities`` attribute for non-sRGB spaces
.hdr .pic   ``imagecodecs.rgbe_decode`` (Radiance)    not written
.tif .tiff  ``tifffile``, float samples only          float32 RGB
.npy        ``numpy.load`` (no pickles)               ``numpy.save``
.png        ``imagecodecs.png_decode``; 16-bit with   16-bit PQ (default) or HLG, BT.2020 primaries, and a
            cICP: PQ/HLG/sRGB/linear; no cICP: sRGB   ``cICP`` chunk spliced in after IHDR (the encoder
                                                      has no metadata option)
=========== ======================================== ==================================================

Files that carry primaries (EXR chromaticities, PNG cICP) are converted to ``colour_space``; others are
taken to be in it already.  Writes go to a temporary file in the destination folder, then ``os.replace``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gainmap.atomic import replace_with
from gainmap.formats import png
from gainmap.hdr import color

READ_EXTENSIONS = (".exr", ".hdr", ".pic", ".tif", ".tiff", ".npy", ".png")
WRITE_EXTENSIONS = (".exr", ".tif", ".tiff", ".npy", ".png")


# ------------------------------------------------------------------------------------------ helpers
def _as_rgb(arr: np.ndarray, source: str) -> np.ndarray:
    """(H, W, 3) float32 from (H, W), (H, W, 1), (H, W, 3/4) or planar (3/4, H, W)."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[0] in (3, 4) and a.shape[2] not in (1, 3, 4):
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 2:
        a = a[:, :, np.newaxis]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"{source}: expected an RGB image, got shape {np.shape(arr)}")
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3], dtype=np.float32)


def _matrix_from_chromaticities(chroma: tuple[float, ...], dst: str) -> np.ndarray | None:
    """RGB -> ``dst`` matrix for (rx, ry, gx, gy, bx, by, wx, wy); None when already ``dst``."""
    prim = ((chroma[0], chroma[1]), (chroma[2], chroma[3]), (chroma[4], chroma[5]))
    white = (chroma[6], chroma[7])
    for name, ref in color.PRIMARIES.items():
        if all(abs(p[i] - r[i]) <= 1e-4 for p, r in zip(prim, ref) for i in (0, 1)) and \
                all(abs(white[i] - color.WHITE_D65[i]) <= 1e-4 for i in (0, 1)):
            return None if name == dst else np.asarray(color.conversion_matrix(name, dst))
    to_xyz = color.rgb_to_xyz_matrix(prim, white)
    adapt = color.bradford_matrix(color.xy_to_xyz(*white), color.xy_to_xyz(*color.WHITE_D65))
    return color.xyz_to_rgb(dst) @ adapt @ to_xyz


def _apply_matrix(rgb: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    if m is None:
        return rgb
    return np.matmul(rgb, m.T.astype(np.float32)).astype(np.float32, copy=False)


# --------------------------------------------------------------------------------------------- PNG
def _read_png(path: Path, colour_space: str) -> np.ndarray:
    import imagecodecs

    data = path.read_bytes()
    cicp = next((p for t, _o, p in png.chunks(data) if t == b"cICP" and len(p) == 4), None)
    raw = np.asarray(imagecodecs.png_decode(data))
    pixels = _as_rgb(raw, str(path))
    signal = pixels / np.float32(65535.0 if raw.dtype == np.uint16 else 255.0)
    prim_name, transfer = "srgb", color.CICP_TRANSFER["srgb"]
    if cicp is not None:
        prim_name = color.CICP_PRIMARIES.get(cicp[0], "")
        transfer = cicp[1]
        if not prim_name:
            raise ValueError(f"{path}: cICP colour primaries {cicp[0]} not supported")
    if transfer == color.CICP_TRANSFER["pq"]:
        linear = color.pq_to_linear(signal)
    elif transfer == color.CICP_TRANSFER["hlg"]:
        if prim_name != "bt2020":
            raise ValueError(f"{path}: HLG is only defined here with BT.2020 primaries")
        linear = color.hlg_to_linear(signal)
    elif transfer == color.CICP_TRANSFER["linear"]:
        linear = signal
    elif transfer in (1, 6, 13, 14, 15):
        linear = color.srgb_to_linear(signal) if transfer == 13 else color.bt709_to_linear(signal)
    else:
        raise ValueError(f"{path}: cICP transfer {transfer} not supported")
    return color.convert(linear, prim_name, colour_space) if prim_name != colour_space else linear


def _write_png(path: Path, linear: np.ndarray, colour_space: str, transfer: str) -> None:
    import imagecodecs

    rgb2020 = color.convert(linear, colour_space, "bt2020")
    np.maximum(rgb2020, 0.0, out=rgb2020)
    signal = color.linear_to_pq(rgb2020) if transfer == "pq" else color.linear_to_hlg(rgb2020)
    codes = np.floor(np.clip(signal, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
    encoded = png.add_cicp(bytes(imagecodecs.png_encode(codes)), color.CICP_CODE["bt2020"], color.CICP_TRANSFER[transfer])
    replace_with(path, lambda tmp: Path(tmp).write_bytes(encoded))


# --------------------------------------------------------------------------------------------- EXR
def _read_exr(path: Path, colour_space: str) -> np.ndarray:
    import OpenEXR

    # The header and pixel buffers belong to the File object: copy what is needed before it closes.
    with OpenEXR.File(str(path)) as f:
        chroma = f.header().get("chromaticities")
        chroma = None if chroma is None else tuple(float(v) for v in chroma)
        channels = f.channels()
        if "RGBA" in channels or "RGB" in channels:
            rgb = _as_rgb(channels.get("RGB", channels.get("RGBA")).pixels, str(path)).copy()
        elif all(c in channels for c in "RGB"):
            rgb = np.stack([np.array(channels[c].pixels, dtype=np.float32) for c in "RGB"], axis=-1)
        elif "Y" in channels and "RY" not in channels:
            rgb = _as_rgb(channels["Y"].pixels, str(path)).copy()
        else:
            raise ValueError(f"{path}: no RGB or Y channels (found {', '.join(sorted(channels))})")
    if chroma is not None:
        rgb = _apply_matrix(rgb, _matrix_from_chromaticities(chroma, colour_space))
    elif colour_space != "srgb":
        rgb = _apply_matrix(rgb, np.asarray(color.conversion_matrix("srgb", colour_space)))
    return rgb


def _write_exr(path: Path, linear: np.ndarray, colour_space: str, half: bool) -> None:
    import OpenEXR

    header: dict[str, object] = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    if colour_space != "srgb":
        prim = color.PRIMARIES[colour_space]
        header["chromaticities"] = (*prim[0], *prim[1], *prim[2], *color.WHITE_D65)
    pixels = np.ascontiguousarray(linear, dtype=np.float16 if half else np.float32)

    def write(tmp: str) -> None:
        with OpenEXR.File(header, {"RGB": pixels}) as f:
            f.write(tmp)

    replace_with(path, write)


# ------------------------------------------------------------------------------------------ public
def read_hdr_image(path: str | os.PathLike[str], *, colour_space: str = "srgb") -> np.ndarray:
    """A linear float32 (H, W, 3) image from .exr, .hdr/.pic, .tif/.tiff (float), .npy or .png.

    Alpha is dropped, grey is repeated to RGB.  Values are returned as stored (no exposure normalisation);
    files that name their primaries are converted to ``colour_space``.
    """
    p = Path(path)
    space = color.canonical_name(colour_space)
    ext = p.suffix.lower()
    if ext == ".exr":
        return _read_exr(p, space)
    if ext in (".hdr", ".pic"):
        import imagecodecs

        return _as_rgb(imagecodecs.rgbe_decode(p.read_bytes()), str(p))
    if ext in (".tif", ".tiff"):
        import tifffile

        data = tifffile.imread(str(p))
        if not np.issubdtype(data.dtype, np.floating):
            raise ValueError(f"{p}: TIFF samples are {data.dtype}, expected floating point (linear HDR)")
        return _as_rgb(data, str(p))
    if ext == ".npy":
        data = np.load(str(p), allow_pickle=False)
        if not np.issubdtype(data.dtype, np.floating):
            raise ValueError(f"{p}: array dtype {data.dtype}, expected floating point")
        return _as_rgb(data, str(p))
    if ext == ".png":
        return _read_png(p, space)
    raise ValueError(f"{p}: unsupported extension {ext!r}; expected one of {', '.join(READ_EXTENSIONS)}")


def write_hdr_image(path: str | os.PathLike[str], linear: np.ndarray, *, half: bool = True,
                    transfer: str | None = None, colour_space: str = "srgb") -> None:
    """Write linear float (H, W, 3) in ``colour_space`` primaries, the format chosen by the extension.

    ``half`` picks half floats for EXR.  ``transfer`` is for PNG only: ``"pq"`` (default) or ``"hlg"``
    (1000-nit reference, BT.2100 OOTF; light above the peak clips); other formats take ``None``/``"linear"``.
    PNG stores BT.2020 primaries (out-of-gamut negatives clipped) at 16 bits with a cICP chunk.
    """
    p = Path(path)
    space = color.canonical_name(colour_space)
    arr = np.asarray(linear)
    if arr.ndim != 3 or arr.shape[2] != 3 or not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"expected float (H, W, 3), got {arr.dtype} {arr.shape}")
    ext = p.suffix.lower()
    if ext == ".png":
        tf = "pq" if transfer is None else transfer.lower()
        if tf not in ("pq", "hlg"):
            raise ValueError(f"PNG transfer must be 'pq' or 'hlg', got {transfer!r}")
        _write_png(p, arr, space, tf)
        return
    if transfer not in (None, "linear"):
        raise ValueError(f"{ext} stores linear values; transfer {transfer!r} applies to .png only")
    if ext == ".exr":
        _write_exr(p, arr, space, half)
    elif ext in (".tif", ".tiff"):
        import tifffile

        data = np.ascontiguousarray(arr, dtype=np.float32)
        replace_with(p, lambda tmp: tifffile.imwrite(tmp, data, photometric="rgb"))
    elif ext == ".npy":
        data = np.ascontiguousarray(arr, dtype=np.float32)

        def save(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, data, allow_pickle=False)

        replace_with(p, save)
    else:
        raise ValueError(f"{p}: unsupported extension {ext!r}; expected one of {', '.join(WRITE_EXTENSIONS)}")
