"""Repair: plan named actions from the validator's findings, apply them to the model, let the writer recompute.

Each action is a small function registered under the name that ``specs/checks.toml`` gives in a check's
``repair`` field, so the plan (which actions, fixing which finding ids) can be shown before anything changes.
Actions edit metadata segments only; the writer recomputes segment lengths, MPF sizes and offsets and
``Item:Length``.  Two guarantees are enforced, not just intended:

* the primary image's entropy-coded data, quantisation and Huffman tables and frame header are unchanged
  (:func:`primary_fingerprint` before and after; a difference aborts the repair);
* a file that needs nothing comes back byte-identical, and repairing twice equals repairing once.

Metadata truth when the forms disagree: the reader's precedence (:data:`gainmap.model.policy.METADATA_PRECEDENCE`:
ISO 21496-1, which carries per-channel values and is what libultrahdr and Chrome prefer, then hdrgm, then Apple),
skipping sets repair cannot write (:func:`~gainmap.editing.repair.state.writable`).  hdrgm XMP is always written in attribute
form, prefix ``hdrgm``, on the first Description, as a single channel (:meth:`GainMapMetadata.collapse_channels`);
per-channel values stay in ISO.

Modules: :mod:`~.state` (error, per-pass state, action registry, metadata truth), :mod:`~.edits` (shared segment
edits, the primary fingerprint), :mod:`~.actions` and :mod:`~.mpf_actions` (metadata and MP-index actions),
:mod:`~.apple_convert` (Apple to ISO + hdrgm), :mod:`~.planning` (findings to a plan), :mod:`~.passes` (the
pass loop behind :func:`repair`).
"""

from __future__ import annotations

# The action modules register their actions in ACTIONS when imported; the package imports them all so a plan
# sees every action whichever submodule a caller imports first.
from gainmap.editing.repair import actions, apple_convert, mpf_actions
from gainmap.editing.repair.actions import choose_icc
from gainmap.editing.repair.apple_convert import apple_to_log_lut
from gainmap.editing.repair.edits import primary_fingerprint
from gainmap.editing.repair.passes import MAX_PASSES, RepairResult, repair
from gainmap.editing.repair.planning import PlannedAction, plan
from gainmap.editing.repair.state import ACTION_ORDER, ACTIONS, RepairError, RepairState, truth_metadata

__all__ = [
    "ACTIONS", "ACTION_ORDER", "MAX_PASSES", "PlannedAction", "RepairError", "RepairResult", "RepairState",
    "actions", "apple_convert", "apple_to_log_lut", "choose_icc", "mpf_actions", "plan", "primary_fingerprint",
    "repair", "truth_metadata",
]
