"""Apple's gain-map XMP (apdi + HDRGainMap, formats.md section 8) as a typed view of the raw properties."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gainmap.errors import Problem
from gainmap.formats.xmp.nodes import parse_int, parse_real
from gainmap.formats.xmp.props import APPLE_PROPS


@dataclass(frozen=True)
class AppleXmp:
    """Apple's gain-map XMP (apdi + HDRGainMap); Apple writes elements, attributes are accepted too."""

    aux_type: str | None
    stored_format: int | None
    native_format: int | None
    version: int | None
    headroom: float | None
    description_index: int
    raw: Mapping[str, str]


def apple_view(raw: dict[str, str], index: int, problems: list[Problem], offset: int) -> AppleXmp:
    """Type the Apple properties found (first occurrence of each) on Description ``index``; a value that does
    not parse is recorded as ``xmp.apple.value`` at ``offset`` and read as None."""
    values: dict[str, object] = {}
    for p in APPLE_PROPS:
        text = raw.get(p.name)
        value: object = None
        if text is not None:
            value = text if p.kind == "text" else (parse_int(text) if p.kind == "int" else parse_real(text))
            if value is None:
                problems.append(Problem("xmp.apple.value", offset, 0, f'{p.name}="{text}" is not a valid {p.kind}'))
        values[p.name] = value
    return AppleXmp(values["AuxiliaryImageType"], values["StoredFormat"], values["NativeFormat"],  # type: ignore[arg-type]
                    values["HDRGainMapVersion"], values["HDRGainMapHeadroom"], index, raw)  # type: ignore[arg-type]

