"""Structurally targeted faults: each mutator breaks one thing in a valid gain-map file and says which finding
ids (``specs/checks.toml``) our validator reports for the result.

A mutator takes the bytes of a valid file and a :class:`random.Random` and returns a :class:`Mutation`, or
raises :class:`NotApplicable` when the file lacks the structure it breaks (no ISO block, no XMP...).  The
advertised ``expected`` ids are the ones ``gainmap check`` is guaranteed to report for that fault (the test
suite verifies every mutator on generated files); other findings may come along with them.  Untargeted
byte-level damage (:func:`havoc`) carries no expected ids.

One module per family of structure: :mod:`.mpf`, :mod:`.markers` (JPEG structure and layout), :mod:`.xmp`
(XMP, hdrgm, GContainer), :mod:`.iso`, :mod:`.icc`; :mod:`.base` holds the registry and :class:`Target`,
:mod:`.havoc` the untargeted damage.  :data:`FAMILIES` fixes the registry's order, which :func:`mutate`'s
shuffle depends on.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from gainmap.testing.mutators import icc, iso, markers, mpf, xmp
from gainmap.testing.mutators.base import MUTATORS, Mutation, Mutator, NotApplicable, Target
from gainmap.testing.mutators.havoc import havoc, splice

#: The families in the registry's order: mutate() shuffles the list of names, so a seed means the same
#: mutation only while this order (and each module's order of definitions) stays.
FAMILIES = (mpf, markers, xmp, iso, icc)
_rank = {module.__name__: i for i, module in enumerate(FAMILIES)}
for _m in sorted(MUTATORS.values(), key=lambda m: _rank[m.fn.__module__]):  # stable: definition order kept
    MUTATORS[_m.name] = MUTATORS.pop(_m.name)


def applicable(data: bytes) -> list[str]:
    """Names of the mutators that apply to ``data`` (each tried once with a fixed seed)."""
    out = []
    for name, m in MUTATORS.items():
        try:
            m(data, 0)
        except NotApplicable:
            continue
        out.append(name)
    return out


def mutate(data: bytes, rng: random.Random | int | None = None, names: Iterable[str] | None = None,
           ) -> Mutation:
    """Apply one randomly chosen applicable mutator (from ``names``, default all); NotApplicable if none fits."""
    rng = rng if isinstance(rng, random.Random) else random.Random(rng)
    pool = list(names) if names is not None else list(MUTATORS)
    rng.shuffle(pool)
    target = Target(data)
    for name in pool:
        m = MUTATORS[name]
        try:
            out, ids, note = m.fn(target, rng)
        except NotApplicable:
            continue
        return Mutation(name, bytes(out), frozenset(ids), note)
    raise NotApplicable("no mutator applies to this file")


__all__ = ["MUTATORS", "Mutation", "Mutator", "NotApplicable", "Target", "applicable", "havoc", "mutate",
           "splice"]
