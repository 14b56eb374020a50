"""The predictor protocol, the prediction record, the registry, and helpers every predictor shares.

A predictor turns SDR pixels into a gain map plus :class:`~gainmap.metadata.GainMapMetadata`.  Built-ins are
``gmnet`` (default) and ``heuristic``; third-party packages add theirs through the ``gainmap.predictors``
entry-point group, each entry point naming a zero-argument factory (or class) that returns a predictor::

    [project.entry-points."gainmap.predictors"]
    mine = "my_package.module:MyPredictor"
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from gainmap.errors import GainMapError
from gainmap.metadata import GainMapMetadata

ENTRY_POINT_GROUP = "gainmap.predictors"
DEFAULT_PREDICTOR = "gmnet"
#: Offsets written with every prediction (the Ultra HDR defaults); the gain is log2((hdr + k) / (sdr + k)).
OFFSET = 1.0 / 64.0
#: The smallest alternate headroom a prediction declares (stops), so base and alternate headroom differ.
MIN_HEADROOM = 0.05

#: Luminance weights of linear RGB per canonical colour-space name (:func:`gainmap.hdr.color.canonical_name`
#: accepts the other spellings: "bt709", "p3", "rec2020", ...).
LUMA_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "srgb": (0.2126, 0.7152, 0.0722),
    "display-p3": (0.2290, 0.6917, 0.0793),
    "bt2020": (0.2627, 0.6780, 0.0593),
}


def canonical_space(colour_space: str) -> str:
    """The canonical colour-space name, or :class:`GainMapError` naming the accepted ones."""
    try:
        from gainmap.hdr.color import canonical_name
    except ImportError:  # pragma: no cover - the colour module is part of the package
        name = str(colour_space).strip().lower()
    else:
        try:
            name = canonical_name(colour_space)
        except ValueError as exc:
            raise GainMapError(str(exc)) from None
    if name not in LUMA_WEIGHTS:
        raise GainMapError(f"unknown colour space {colour_space!r}; known: {', '.join(LUMA_WEIGHTS)}")
    return name


@dataclass(frozen=True)
class Prediction:
    """A predicted gain map (uint8, h x w or h x w x 3) and the metadata that decodes it."""

    gainmap: np.ndarray
    metadata: GainMapMetadata


@runtime_checkable
class Predictor(Protocol):
    """Anything with a ``name`` and this ``predict`` method is a predictor."""

    name: str

    def predict(self, sdr: np.ndarray, colour_space: str = "srgb", *, max_headroom: float | None = None,
                gainmap_scale: int = 4) -> Prediction:
        """``sdr``: H x W x 3 uint8 sRGB-encoded pixels of the primary; ``max_headroom`` caps the alternate
        headroom (stops); the map is ``ceil(H / gainmap_scale) x ceil(W / gainmap_scale)``."""
        ...


# --------------------------------------------------------------------------------------------------- registry
_REGISTRY: dict[str, Callable[[], Predictor]] = {}
_BUILTINS = {
    "gmnet": "gainmap.predict.gmnet:GMNetPredictor",
    "heuristic": "gainmap.predict.heuristic:HeuristicPredictor",
}


def register(name: str, factory: Callable[[], Predictor]) -> None:
    """Register ``factory`` (a zero-argument callable returning a predictor) under ``name`` (replaces any)."""
    if not name or not isinstance(name, str):
        raise GainMapError(f"predictor name must be a non-empty string, got {name!r}")
    _REGISTRY[name] = factory


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def _load_ref(ref: str) -> Callable[[], Predictor]:
    module, _, attr = ref.partition(":")

    def factory() -> Predictor:
        import importlib

        return getattr(importlib.import_module(module), attr)()

    return factory


def _entry_point_factories() -> dict[str, Callable[[], Predictor]]:
    found: dict[str, Callable[[], Predictor]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        def factory(ep=ep) -> Predictor:
            return ep.load()()

        found[ep.name] = factory
    return found


def _all_factories() -> dict[str, Callable[[], Predictor]]:
    factories = {name: _load_ref(ref) for name, ref in _BUILTINS.items()}
    factories.update(_entry_point_factories())
    factories.update(_REGISTRY)  # explicit registration wins
    return factories


def available() -> list[str]:
    """Names of every predictor: built-ins, entry points of ``gainmap.predictors`` and registered ones."""
    return sorted(_all_factories())


def get_predictor(name: str | None = None) -> Predictor:
    """A new predictor instance by name (default ``gmnet``); unknown names raise :class:`GainMapError`."""
    name = name or DEFAULT_PREDICTOR
    factories = _all_factories()
    if name not in factories:
        raise GainMapError(f"unknown predictor {name!r}; available: {', '.join(sorted(factories))}")
    try:
        predictor = factories[name]()
    except GainMapError:
        raise
    except Exception as exc:  # a broken plug-in must say which one
        raise GainMapError(f"predictor {name!r} could not be loaded: {exc}") from exc
    if not callable(getattr(predictor, "predict", None)):
        raise GainMapError(f"predictor {name!r} has no predict() method")
    return predictor


# --------------------------------------------------------------------------------------------------- helpers
def check_input(sdr: np.ndarray, colour_space: str, max_headroom: float | None, gainmap_scale: int) -> np.ndarray:
    """Validate the common arguments; returns ``sdr`` as a contiguous H x W x 3 uint8 array."""
    sdr = np.asarray(sdr)
    if sdr.ndim == 2:
        sdr = np.repeat(sdr[..., None], 3, axis=2)
    if sdr.ndim != 3 or sdr.shape[2] not in (3, 4) or sdr.shape[0] < 1 or sdr.shape[1] < 1:
        raise GainMapError(f"SDR pixels must be H x W x 3, got shape {sdr.shape}")
    if sdr.dtype != np.uint8:
        raise GainMapError(f"SDR pixels must be uint8, got {sdr.dtype}")
    canonical_space(colour_space)
    if max_headroom is not None and not (math.isfinite(max_headroom) and max_headroom > 0):
        raise GainMapError(f"max_headroom must be a positive number of stops, got {max_headroom!r}")
    if not (isinstance(gainmap_scale, (int, np.integer)) and gainmap_scale >= 1):
        raise GainMapError(f"gainmap_scale must be an integer >= 1, got {gainmap_scale!r}")
    return np.ascontiguousarray(sdr[..., :3])


def map_shape(h: int, w: int, scale: int) -> tuple[int, int]:
    """Gain-map (height, width): ceil division by ``scale``, at least 1 x 1."""
    return max(1, -(-h // scale)), max(1, -(-w // scale))


def resize_float(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a float32 H x W array (bilinear up, box down) with Pillow."""
    if img.shape == (height, width):
        return img.astype(np.float32, copy=False)
    method = Image.Resampling.BOX if height <= img.shape[0] and width <= img.shape[1] else Image.Resampling.BILINEAR
    pil = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32), "F")
    return np.asarray(pil.resize((width, height), method), dtype=np.float32)


def make_prediction(gain: np.ndarray, qmax: float, max_headroom: float | None, *, source: str) -> Prediction:
    """Quantise a log2-gain field in stops (>= 0) with a declared max ``qmax`` into map bytes and metadata.

    The map stores ``gain / max(qmax, MIN_HEADROOM)`` (min 0, gamma 1, offsets 1/64, SDR base, one channel);
    GainMapMax = alternate headroom = that divisor.  ``max_headroom`` scales the whole field down so its maximum
    is at most that many stops (a compression: same bytes, lower GainMapMax, not a clip).  An all-zero field
    still declares ``MIN_HEADROOM`` so base and alternate headroom differ; callers may write a plain SDR file
    when ``prediction.gainmap.max() == 0``.
    """
    qmax = float(qmax) if math.isfinite(qmax) and qmax > 0 else 0.0
    declared = max(qmax, MIN_HEADROOM)
    norm = np.clip(np.nan_to_num(gain / declared), 0.0, 1.0)
    headroom = declared if max_headroom is None else min(declared, float(max_headroom))
    md = GainMapMetadata(gain_map_min=(0.0,), gain_map_max=(headroom,), gamma=(1.0,), base_offset=(OFFSET,),
                         alternate_offset=(OFFSET,), base_hdr_headroom=0.0, alternate_hdr_headroom=headroom,
                         use_base_colour_space=True, source=source)
    return Prediction(np.round(norm * 255.0).astype(np.uint8), md)


def decode_gain(prediction: Prediction) -> np.ndarray:
    """The log2 gain (stops, float32, map resolution, one channel per map channel) a prediction encodes."""
    g = prediction.gainmap.astype(np.float32) / 255.0
    md = prediction.metadata
    chans = md.channels(g.shape[2] if g.ndim == 3 else 1)
    if g.ndim == 2:
        mn, mx, gamma, _, _ = chans[0]
        return (mn + (mx - mn) * np.power(g, 1.0 / gamma)).astype(np.float32)
    return np.stack([(mn + (mx - mn) * np.power(g[..., i], 1.0 / gm)) for i, (mn, mx, gm, _, _)
                     in enumerate(chans)], axis=-1).astype(np.float32)
