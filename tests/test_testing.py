"""gainmap.testing: the generated files are valid (our validator, libultrahdr) and cover the parameter space;
every mutator produces the finding ids it advertises."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gainmap.testing as gt
from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.validate import check_bytes
from gainmap.formats import iso21496
from gainmap.metadata import GainMapMetadata
from gainmap.model.reader import read
from gainmap.testing import (
    MUTATORS,
    FileSpec,
    NotApplicable,
    RandomDraw,
    build_file,
    file_specs,
    havoc,
    metadata,
    mutate,
    mutated_files,
    random_spec,
    sample_metadata,
    splice,
)
from gainmap.testing.mutators import FAMILIES

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _found(data: bytes) -> set[str]:
    return {f.id for f in check_bytes(data).findings}


def _errors(data: bytes) -> list[str]:
    return [f"{f.id}: {f.message}" for f in check_bytes(data).findings if f.severity == "error"]


# ---------------------------------------------------------------------------------------------- metadata
def _assert_valid_metadata(md: GainMapMetadata) -> None:
    assert md.channel_count in (1, 3)
    for lo, hi in zip(md.gain_map_min, md.gain_map_max):
        assert lo <= hi
    assert all(g > 0 for g in md.gamma)
    assert all(o >= 0 for o in (*md.base_offset, *md.alternate_offset))
    assert md.base_hdr_headroom >= 0 and md.alternate_hdr_headroom >= 0
    assert abs(md.base_hdr_headroom - md.alternate_hdr_headroom) >= 1 / 64 - 1e-12
    assert md.is_finite()


@settings(max_examples=60, deadline=None)
@given(metadata(channels=None, base_is_hdr=None, use_base_colour_space=None))
def test_metadata_strategy_is_valid_and_round_trips_through_iso(md):
    _assert_valid_metadata(md)
    back = iso21496.iso_to_metadata(iso21496.parse_iso(iso21496.build_iso(iso21496.metadata_to_iso(md))))
    assert back.approx_equal(md, tol=1e-9)
    if md.use_base_colour_space:
        assert GainMapMetadata.from_hdrgm(md.to_hdrgm()).approx_equal(md.single_channel(), tol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_metadata_strategy_honours_its_arguments(data):
    channels = data.draw(st.sampled_from((1, 3)))
    hdr_base = data.draw(st.booleans())
    md = data.draw(metadata(channels=channels, base_is_hdr=hdr_base))
    assert md.channel_count == channels
    assert md.base_is_hdr is hdr_base
    assert md.use_base_colour_space


def test_metadata_sampler_covers_edges_and_both_directions():
    draw = RandomDraw(1)
    mds = [sample_metadata(draw, use_base_colour_space=None) for _ in range(400)]
    for md in mds:
        _assert_valid_metadata(md)
    assert {md.channel_count for md in mds} == {1, 3}
    assert {md.base_is_hdr for md in mds} == {True, False}
    assert {md.use_base_colour_space for md in mds} == {True, False}
    values = Counter(v for md in mds for v in (*md.gain_map_min, *md.gamma, *md.base_offset))
    for edge in (0.0, -4.0, 4.0, 1 / 16, 8.0, 1.0):
        assert values[edge] > 0, edge
    assert any(lo == hi for md in mds for lo, hi in zip(md.gain_map_min, md.gain_map_max))
    assert any(md.base_hdr_headroom == 0.0 for md in mds)


# ---------------------------------------------------------------------------------------------- valid files
def test_spec_sampler_covers_the_parameter_space():
    specs = [random_spec(random.Random(i)) for i in range(300)]
    seen = {name: {getattr(s, name) for s in specs} for name in
            ("subsampling", "progressive", "byte_order", "forms", "xmp_form", "icc", "trailing", "scale",
             "gainmap_channels")}
    assert seen["subsampling"] == {"4:2:0", "4:2:2", "4:4:4"}
    assert seen["progressive"] == {True, False}
    assert seen["byte_order"] == {"MM", "II"}
    assert seen["forms"] == {"xmp+iso", "iso", "xmp"}
    assert seen["xmp_form"] == {"attribute", "element", "seq"}
    assert seen["icc"] == {"srgb", "p3", None}
    assert seen["trailing"] == {"", "zeros", "ff", "text", "mp4"}
    assert seen["scale"] == {1, 2, 4}
    assert seen["gainmap_channels"] == {1, 3}
    assert any(s.restart for s in specs) and any(not s.restart for s in specs)
    assert any(s.extended_xmp for s in specs) and any(not s.extended_xmp for s in specs)
    assert any(s.extra != (0, 0) for s in specs)


def test_build_file_is_deterministic():
    spec = random_spec(7)
    assert build_file(spec) == build_file(spec)
    assert build_file(spec) != build_file(random_spec(8))


def _assert_matches_spec(spec: FileSpec, data: bytes) -> None:
    gmf = read(data)
    assert gmf.gainmap is not None
    primary, gm = gmf.primary, gmf.gainmap
    assert (primary.width, primary.height) == (spec.width, spec.height)
    assert (gm.width, gm.height, gm.components) == (spec.gainmap_width, spec.gainmap_height,
                                                    spec.gainmap_channels)
    assert primary.progressive is spec.progressive
    assert (primary.first("dri", header_only=False) is not None) is bool(spec.restart)
    assert primary.mpf.byte_order == spec.byte_order
    assert (primary.first("icc") is not None) is (spec.icc is not None)
    assert bool([s for s in primary.segments() if s.kind == "extended_xmp"]) is bool(spec.extended_xmp)
    assert bool(gmf.gaps) is bool(spec.trailing)
    sources = gmf.metadata_sources()
    md = spec.metadata
    if spec.write_iso:
        assert sources["iso"].approx_equal(md, tol=1e-9)
    else:
        assert "iso" not in sources
    if spec.write_xmp:
        assert "hdrgm" in sources
        want = md if spec.xmp_form == "seq" else md.collapse_channels()  # Seq keeps every channel
        assert sources["hdrgm"].approx_equal(want, tol=1e-9)
        assert gm.xmp.hdrgm["GainMapMax"].form == spec.xmp_form
    else:
        assert "hdrgm" not in sources


@SLOW
@given(file_specs())
def test_generated_files_are_what_the_spec_says_and_check_clean(spec):
    data = build_file(spec)
    _assert_matches_spec(spec, data)
    assert _errors(data) == [], spec.describe()


@pytest.mark.parametrize("seed", range(12))
def test_seeded_files_check_clean(seed):
    spec = random_spec(1000 + seed)
    data = build_file(spec)
    _assert_matches_spec(spec, data)
    assert _errors(data) == [], spec.describe()


@SLOW
@given(file_specs(xmp_forms=("attribute",), base_is_hdr=False))
def test_libultrahdr_decodes_files_with_attribute_xmp_or_iso(spec):
    imagecodecs = pytest.importorskip("imagecodecs")
    assert spec.libultrahdr_readable
    out = imagecodecs.ultrahdr_decode(build_file(spec))
    assert out.shape == (spec.height, spec.width, 4)
    assert math.isfinite(float(out.astype("float32").max()))


def test_libultrahdr_refuses_what_it_cannot_read():
    """The other half of FileSpec.libultrahdr_readable: element/Seq-only XMP and an HDR base are refused."""
    imagecodecs = pytest.importorskip("imagecodecs")
    md = GainMapMetadata(gain_map_max=(2.0,), alternate_hdr_headroom=2.0)
    for spec in (FileSpec(metadata=md, forms="xmp", xmp_form="element"),
                 FileSpec(metadata=md, forms="xmp", xmp_form="seq"),
                 FileSpec(metadata=GainMapMetadata(gain_map_max=(2.0,), base_hdr_headroom=2.0,
                                                   alternate_hdr_headroom=0.0))):
        assert not spec.libultrahdr_readable
        with pytest.raises(imagecodecs.UltrahdrError):
            imagecodecs.ultrahdr_decode(build_file(spec))


# ---------------------------------------------------------------------------------------------- mutators
#: Base files on which every mutator applies somewhere.
BASES = {
    "full": FileSpec(metadata=GainMapMetadata(gain_map_max=(2.5,), alternate_hdr_headroom=2.5),
                     extended_xmp=800, extended_chunk=300),
    "little-endian-p3": FileSpec(byte_order="II", icc="p3", subsampling="4:4:4", scale=2, seed=3,
                                 metadata=GainMapMetadata(gain_map_min=(-0.5,), gain_map_max=(3.0,),
                                                          alternate_hdr_headroom=3.0)),
    "progressive-rst": FileSpec(progressive=True, restart=2, gainmap_width=16, gainmap_height=12, seed=5,
                                trailing="zeros", trailing_size=40),
    "multichannel": FileSpec(metadata=GainMapMetadata(gain_map_min=(0.0, 0.0, -0.25),
                                                      gain_map_max=(2.5, 2.25, 2.0), gamma=(1.0, 1.0, 1.25),
                                                      alternate_hdr_headroom=2.5),
                             gainmap_channels=3, xmp_form="attribute", seed=9),
}
_BUILT: dict[str, bytes] = {}


def _base(name: str) -> bytes:
    if name not in _BUILT:
        _BUILT[name] = build_file(BASES[name])
    return _BUILT[name]


def test_bases_are_clean():
    for name in BASES:
        assert _errors(_base(name)) == [], name


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_mutator_triggers_its_advertised_ids(name):
    m = MUTATORS[name]
    known = set(catalogue().checks)
    applied = 0
    for base in BASES:
        original = _base(base)
        for seed in range(3):
            try:
                mutation = m(original, seed)
            except NotApplicable:
                continue
            applied += 1
            assert mutation.name == name
            assert mutation.expected, f"{name} advertises no ids"
            assert mutation.expected <= known
            assert mutation.data != original
            found = _found(mutation.data)
            assert mutation.expected <= found, (base, seed, mutation.note, sorted(found))
    assert applied, f"{name} applied to none of the base files"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.filter_too_much])
@given(mutated_files())
def test_mutated_files_trigger_their_expected_ids(mutation):
    assert mutation.expected <= _found(mutation.data), mutation.note


def test_mutate_picks_an_applicable_mutator_and_is_reproducible():
    data = _base("full")
    a, b = mutate(data, 3), mutate(data, 3)
    assert a == b
    assert a.name in MUTATORS
    names = {mutate(data, seed).name for seed in range(40)}
    assert len(names) > 10


def test_registry_keeps_the_families_in_order():
    """mutate() shuffles the registry's list of names, so a seed names the same mutation only while the order
    stays: each family module's mutators are one block, in FAMILIES order, and every mutator is in a family."""
    modules = [m.fn.__module__ for m in MUTATORS.values()]
    blocks = [name for i, name in enumerate(modules) if i == 0 or modules[i - 1] != name]
    assert blocks == [family.__name__ for family in FAMILIES]
    assert list(MUTATORS)[:2] == ["mpf-offset", "mpf-size"] and list(MUTATORS)[-1] == "icc-size"


def test_mutators_refuse_files_without_their_structure():
    iso_only = build_file(FileSpec(forms="iso"))
    with pytest.raises(NotApplicable):
        MUTATORS["xmp-iso-mismatch"](iso_only, 0)
    with pytest.raises(NotApplicable):
        mutate(iso_only, 0, ["hdrgm-nan", "swap-xmp"])
    xmp_only = build_file(FileSpec(forms="xmp"))
    assert "iso-zero-denominator" not in gt.applicable(xmp_only)
    assert "iso-zero-denominator" in gt.applicable(iso_only)


def test_havoc_and_splice_are_seeded():
    data = _base("full")
    assert havoc(data, 5) == havoc(data, 5)
    assert havoc(data, 5) != data
    assert splice(data, _base("multichannel"), 2) == splice(data, _base("multichannel"), 2)


def test_public_api():
    for name in gt.__all__:
        assert getattr(gt, name) is not None
    with pytest.raises(AttributeError):
        gt.no_such_thing  # noqa: B018
