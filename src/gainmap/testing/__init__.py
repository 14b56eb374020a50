"""Testing tools for gain-map encoders, decoders and validators (ours included).

* Valid files across the parameter space: :class:`FileSpec`, :func:`random_spec`, :func:`build_file`,
  :func:`random_file`, and hypothesis strategies :func:`metadata`, :func:`file_specs`, :func:`gainmap_files`.
* Targeted faults that carry the finding ids they trigger: :data:`MUTATORS`, :func:`mutate`,
  :class:`Mutation`, :func:`mutated_files`; untargeted damage: :func:`havoc`, :func:`splice`.
* Fuzzing an external decoder or a Python callable: :func:`gainmap.testing.fuzz.fuzz` (``gainmap fuzz``).
* Fuzzing ourselves: :mod:`gainmap.testing.selffuzz` (``gainmap selffuzz``).

The hypothesis strategies need ``hypothesis`` (``pip install gainmap[test]``); everything else does not.
See docs/fuzzing.md.
"""

from __future__ import annotations

from typing import Any

from gainmap.testing.generate import (
    FileSpec,
    RandomDraw,
    build_file,
    gainmap_packet,
    random_file,
    random_spec,
    sample_metadata,
    sample_spec,
)
from gainmap.testing.mutators import (
    MUTATORS,
    Mutation,
    Mutator,
    NotApplicable,
    applicable,
    havoc,
    mutate,
    splice,
)

_STRATEGIES = ("metadata", "file_specs", "gainmap_files", "mutated_files", "HypothesisDraw")


def __getattr__(name: str) -> Any:
    """The hypothesis strategies, imported on first use (hypothesis is an optional dependency)."""
    if name in _STRATEGIES:
        from gainmap.testing import strategies

        return getattr(strategies, name)
    raise AttributeError(f"module 'gainmap.testing' has no attribute {name!r}")


__all__ = [
    "MUTATORS", "FileSpec", "HypothesisDraw", "Mutation", "Mutator", "NotApplicable", "RandomDraw", "applicable",
    "build_file", "file_specs", "gainmap_files", "gainmap_packet", "havoc", "metadata", "mutate", "mutated_files",
    "random_file", "random_spec", "sample_metadata", "sample_spec", "splice",
]
