"""Located records: ``locate`` parses exactly as construct does and gives every field the address it came from."""

from __future__ import annotations

import pytest
from construct import Int16ub
from hypothesis import given, settings
from hypothesis import strategies as st

from gainmap.formats import iso21496, jpeg
from gainmap.formats.located import Span, Spans, field_construct, locate, span


def _leaves(value, path=""):
    if isinstance(value, dict):
        for k, v in value.items():
            if not k.startswith("_"):
                yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([0x00, 0x80, 0x40, 0xC0]), st.binary(min_size=136, max_size=136), st.integers(0, 10**6))
def test_iso_full_layout_parses_as_construct_and_every_leaf_is_at_its_span(flags, rest, base):
    payload = b"\x00\x00\x00\x00" + bytes([flags]) + rest
    expected = iso21496.FullMetadata.parse(payload)
    value, spans = locate(iso21496.FullMetadata, payload, base=base)
    assert value == expected
    n_leaves = 0
    for path, leaf in _leaves(value):
        where = span(spans, path)
        raw = payload[where.offset - base:where.end - base]
        field = path.split(".")[1] if path.startswith("channels[") else path.split(".")[0]
        signed = path.endswith(".n") and iso21496.SIGNED.get(field, False)
        assert int.from_bytes(raw, "big", signed=signed) == leaf, path
        n_leaves += 1
    channels = 3 if flags & 0x80 else 1
    assert n_leaves == 3 + 2 * 2 + channels * 5 * 2  # versions, flags, two headrooms, 5 fractions a channel
    assert span(spans, "channels").end == base + iso21496.full_length(channels)


def test_paths_read_like_the_specification_table():
    payload = bytes(141)
    payload = payload[:4] + b"\x80" + payload[5:]
    _, spans = locate(iso21496.FullMetadata, payload, base=1000)
    assert span(spans, "flags") == Span(1004, 1)
    assert span(spans, "base_hdr_headroom.d") == Span(1009, 4)
    assert span(spans, "channels[1].gain_map_max") == Span(1000 + 21 + 40 + 8, 8)
    assert spans.owner(1000 + 21 + 40 + 8 + 5) == "channels[1].gain_map_max.d"
    assert [p for p, _ in spans.under("channels[2].gamma")] == ["channels[2].gamma.n", "channels[2].gamma.d",
                                                               "channels[2].gamma"]


def test_nested_arrays_and_rebuilt_counts():
    sof = bytes([8, 0, 16, 0, 32, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
    value, spans = locate(jpeg.FrameHeader, sof, base=20)
    assert value == jpeg.FrameHeader.parse(sof)
    assert span(spans, "component_count") == Span(25, 1)
    assert span(spans, "components[2].quant_table") == Span(20 + 6 + 3 * 2 + 2, 1)


def test_unknown_path_names_the_fields_that_exist():
    _, spans = locate(jpeg.RestartInterval, b"\x00\x10")
    with pytest.raises(KeyError, match="interval"):
        span(spans, "intervall")


def test_short_input_raises_as_construct_does():
    with pytest.raises(Exception) as located_error:
        locate(jpeg.FrameHeader, b"\x08\x00")
    with pytest.raises(Exception) as construct_error:
        jpeg.FrameHeader.parse(b"\x08\x00")
    assert type(located_error.value) is type(construct_error.value)


def test_spans_shift_and_leaf_schema():
    _, spans = locate(Int16ub, b"\x01\x02", prefix="length")
    assert spans == Spans({"length": Span(0, 2)})
    assert spans.shifted(10)["length"] == Span(10, 2)


def test_field_construct_builds_a_field_in_its_own_encoding():
    assert field_construct(iso21496.FullMetadata, "channels[2].gain_map_min.n").build(-1) == b"\xff" * 4
    assert field_construct(iso21496.FullMetadata, "flags").build(0x41) == b"\x41"  # the Rebuild unwrapped
    with pytest.raises(KeyError, match="not a single value"):
        field_construct(iso21496.FullMetadata, "channels[0].gamma")
    with pytest.raises(KeyError, match="no field"):
        field_construct(iso21496.FullMetadata, "channels[0].gama.n")
