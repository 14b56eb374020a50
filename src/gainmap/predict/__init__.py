"""Gain-map prediction from SDR pixels: the predictor protocol, the registry and the built-in predictors.

>>> from gainmap.predict import get_predictor
>>> pred = get_predictor("heuristic").predict(sdr_uint8)   # doctest: +SKIP
>>> pred.gainmap.shape, pred.metadata.gain_map_max          # doctest: +SKIP
"""

from gainmap.predict.base import (
    DEFAULT_PREDICTOR,
    ENTRY_POINT_GROUP,
    Prediction,
    Predictor,
    available,
    get_predictor,
    register,
    unregister,
)

__all__ = ["DEFAULT_PREDICTOR", "ENTRY_POINT_GROUP", "Prediction", "Predictor", "available", "get_predictor",
           "register", "unregister"]
