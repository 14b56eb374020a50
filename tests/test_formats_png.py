"""The PNG chunk schema: built chunks carry the right length and CRC, and located chunks point at their bytes."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from gainmap.formats import png


@settings(max_examples=50, deadline=None)
@given(st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4, max_size=4).map(str.encode),
       st.binary(max_size=300))
def test_built_chunk_has_length_and_crc(ctype, payload):
    raw = png.chunk(ctype, payload)
    assert int.from_bytes(raw[:4], "big") == len(payload)
    assert raw[4:8] == ctype and raw[8:-4] == payload
    assert int.from_bytes(raw[-4:], "big") == zlib.crc32(ctype + payload)
    found = png.located_chunks(png.SIGNATURE + raw)
    assert [(c.type, c.data) for c, _w, _s in found] == [(ctype, payload)]
    _chunk, where, spans = found[0]
    assert where.offset == len(png.SIGNATURE) and where.length == len(raw)
    assert spans["data"].offset == len(png.SIGNATURE) + 8


def _pillow_png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3)).save(out, "PNG")
    return out.getvalue()


def test_cicp_goes_right_after_ihdr_and_pillow_still_reads_the_file():
    data = png.add_cicp(_pillow_png(), 9, 16)
    types = [t for t, _o, _d in png.chunks(data)]
    assert types[:2] == [b"IHDR", b"cICP"] and types[-1] == b"IEND"
    assert next(d for t, _o, d in png.chunks(data) if t == b"cICP") == bytes([9, 16, 0, 1])
    with Image.open(io.BytesIO(data)) as im:
        im.load()  # Pillow verifies the CRCs of the chunks it reads
        assert im.size == (4, 4)


def test_truncated_chunk_stops_quietly_and_non_png_is_refused():
    data = _pillow_png()
    assert [t for t, _o, _d in png.chunks(data[:40])] == [b"IHDR"]
    with pytest.raises(ValueError, match="not a PNG"):
        png.chunks(b"GIF89a")
