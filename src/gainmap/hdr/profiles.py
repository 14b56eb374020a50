"""The ICC profiles gainmap embeds: small v4 matrix/TRC profiles of the named colour spaces with the sRGB curve.

The colour science (colorants, chad) is :func:`gainmap.hdr.color.icc_colorants`; the bytes are
:func:`gainmap.formats.icc.build_matrix_profile`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

from gainmap.formats.icc import build_matrix_profile
from gainmap.hdr.color import PRIMARIES, SRGB_PARAMETRIC, WHITE_D65, icc_colorants

#: ICC parametric curve function 3 (IEC 61966-2-1 form): the sRGB transfer.
_SRGB_CURVE = (3, SRGB_PARAMETRIC)


def make_rgb_profile(description: str, primaries_xy: Sequence[Sequence[float]],
                     white_xy: Sequence[float] = WHITE_D65, trc: str = "srgb",
                     copyright_text: str = "No copyright, use freely") -> bytes:
    """A small ICC v4.3 matrix/TRC display profile (D50 PCS, Bradford chad, 'para' type-3 sRGB curves)."""
    if trc != "srgb":
        raise ValueError(f"unsupported transfer {trc!r} (only 'srgb')")
    if len(primaries_xy) != 3 or not all(math.isfinite(v) and 0 < v < 1 for xy in primaries_xy for v in xy):
        raise ValueError("primaries must be three (x, y) chromaticities in (0, 1)")
    return build_matrix_profile(description, icc_colorants(primaries_xy, white_xy), _SRGB_CURVE, copyright_text)


@cache
def srgb_profile() -> bytes:
    """A generated v4 sRGB profile (matrix/TRC)."""
    return make_rgb_profile("sRGB", PRIMARIES["srgb"], WHITE_D65)


@cache
def display_p3_profile() -> bytes:
    """A generated v4 Display P3 profile (P3 primaries, D65, sRGB transfer)."""
    return make_rgb_profile("Display P3", PRIMARIES["display-p3"], WHITE_D65)


def __getattr__(name: str) -> bytes:
    """``SRGB_PROFILE`` and ``DISPLAY_P3_PROFILE``, generated on first use."""
    if name == "SRGB_PROFILE":
        return srgb_profile()
    if name == "DISPLAY_P3_PROFILE":
        return display_p3_profile()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
