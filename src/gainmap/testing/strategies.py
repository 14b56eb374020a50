"""hypothesis strategies for gain-map metadata, whole valid gain-map files and targeted faults.

Every strategy draws through the same sampler as ``gainmap fuzz`` (:mod:`gainmap.testing.generate`), so what
hypothesis finds can be reproduced from a :class:`~gainmap.testing.generate.FileSpec` and shrinks towards
small, plain files::

    from hypothesis import given
    from gainmap.testing import gainmap_files, mutated_files

    @given(gainmap_files())
    def test_my_decoder_reads_valid_files(data):
        assert my_decoder(data) is not None

    @given(mutated_files())
    def test_my_validator_flags_faults(m):
        assert m.expected <= my_validator_ids(m.data)
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from hypothesis import assume
from hypothesis import strategies as st

from gainmap.metadata import GainMapMetadata
from gainmap.testing.generate import FORMS, XMP_FORMS, FileSpec, build_file, sample_metadata, sample_spec
from gainmap.testing.mutators import MUTATORS, Mutation, NotApplicable, Target


class HypothesisDraw:
    """A :class:`~gainmap.testing.generate.Draw` over hypothesis' ``draw`` (so examples shrink)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float) -> float:
        return self._draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

    def choice(self, options: Sequence):
        return self._draw(st.sampled_from(tuple(options)))

    def boolean(self) -> bool:
        return self._draw(st.booleans())


@st.composite
def metadata(draw: st.DrawFn, *, channels: int | None = None, base_is_hdr: bool | None = None,
             use_base_colour_space: bool | None = True) -> GainMapMetadata:
    """Valid :class:`GainMapMetadata`: 1 or 3 channels, edge values (0, equal min and max, extreme gamma and
    offsets, headrooms 1/64 stop apart), both headroom directions.  ``None`` for an argument draws it."""
    return sample_metadata(HypothesisDraw(draw), channels=channels, base_is_hdr=base_is_hdr,
                           use_base_colour_space=use_base_colour_space)


@st.composite
def file_specs(draw: st.DrawFn, *, forms: Sequence[str] = FORMS, xmp_forms: Sequence[str] = XMP_FORMS,
               base_is_hdr: bool | None = None, channels: int | None = None, trailing: bool = True,
               extended_xmp: bool = True) -> FileSpec:
    """:class:`FileSpec` values over the whole space (sizes, 4:2:0/4:2:2/4:4:4, progressive, restart
    intervals, MPF byte order, ISO/XMP/both, XMP attribute/element/Seq form, ExtendedXMP, ICC, trailing
    data); the arguments narrow it."""
    return sample_spec(HypothesisDraw(draw), forms=forms, xmp_forms=xmp_forms, base_is_hdr=base_is_hdr,
                       channels=channels, trailing=trailing, extended_xmp=extended_xmp)


def gainmap_files(**narrow: object) -> st.SearchStrategy[bytes]:
    """Bytes of whole valid gain-map files (see :func:`file_specs` for the arguments)."""
    return file_specs(**narrow).map(build_file)  # type: ignore[arg-type]


@st.composite
def mutated_files(draw: st.DrawFn, mutators: Iterable[str] | None = None, **narrow: object) -> Mutation:
    """A :class:`~gainmap.testing.mutators.Mutation` of a valid file: its ``data`` and the finding ids
    (``expected``) our validator reports for it.  ``mutators`` limits the mutator names used."""
    names = sorted(mutators) if mutators is not None else sorted(MUTATORS)
    data = build_file(draw(file_specs(**narrow)))  # type: ignore[arg-type]
    order = draw(st.permutations(names))
    seed = draw(st.integers(0, 2**32 - 1))
    target = Target(data)
    for name in order:
        try:
            out, ids, note = MUTATORS[name].fn(target, random.Random(seed))
        except NotApplicable:
            continue
        return Mutation(name, bytes(out), frozenset(ids), note)
    assume(False)
    raise AssertionError("unreachable")


__all__ = ["HypothesisDraw", "file_specs", "gainmap_files", "metadata", "mutated_files"]
