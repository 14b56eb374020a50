"""The pass loop: check, plan, apply on the model, write, re-read, verify the primary's fingerprint; again while
a pass reveals more work (at most :data:`MAX_PASSES`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from gainmap.analysis.report import Report
from gainmap.analysis.validate import check_file
from gainmap.editing.repair.edits import primary_fingerprint
from gainmap.editing.repair.planning import PlannedAction, plan
from gainmap.editing.repair.state import ACTIONS, RepairError, RepairState
from gainmap.metadata import MetadataConversionError
from gainmap.model.container import GainMapFile
from gainmap.model.reader import read


@dataclass
class RepairResult:
    """What :func:`repair` did: the plan, notes per action, the new bytes, and the reports before and after."""

    source: str
    plan: list[PlannedAction]
    notes: list[tuple[str, str]]
    data: bytes
    before: Report
    after: Report
    changed: bool


#: Most passes :func:`repair` makes; a pass can reveal work for the next (junk hid the gain map, say).
MAX_PASSES = 3


def repair(source: str | bytes | GainMapFile, *, only: set[str] | None = None, strip_junk: bool = False,
           name: str | None = None) -> RepairResult:
    """Plan and apply repairs; returns the repaired bytes and both reports (nothing is written to disk).

    When the repaired file still plans actions (the first pass uncovered more, e.g. a gain map that junk hid),
    further passes run, at most :data:`MAX_PASSES` in all, until the bytes stop changing; the result's plan
    and notes are those of every pass, later passes' notes marked "(pass N)".
    """
    if isinstance(source, GainMapFile):
        data = source.to_bytes()
        label = name or source.source
    elif isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), name or "<bytes>"
    else:
        with open(source, "rb") as fh:
            data = fh.read()
        label = name or str(source)
    model = read(data, name=label)  # each version of the bytes is parsed once, for checking and repairing
    before = check_file(model, data)
    fingerprint: str | None = None
    all_steps: list[PlannedAction] = []
    notes: list[tuple[str, str]] = []
    report, current = before, data
    for n in range(1, MAX_PASSES + 1):
        actions = plan(report, only=only, strip_junk=strip_junk)
        if not actions:
            break
        if fingerprint is None:
            fingerprint = primary_fingerprint(model.primary)
        out, pass_notes = _apply(model, actions, RepairState(strip_junk=strip_junk))
        model = read(out, name=label)
        if primary_fingerprint(model.primary) != fingerprint:
            raise RepairError(f"{label}: internal error: the primary image's coded data would change; "
                              "nothing written")
        all_steps += actions
        notes += [(a, note if n == 1 else f"(pass {n}) {note}") for a, note in pass_notes]
        if out == current:
            break
        report, current = check_file(model, out), out
    return RepairResult(label, all_steps, notes, current, before, report, current != data)


def _apply(gmf: GainMapFile, actions: list[PlannedAction], state: RepairState) -> tuple[bytes, list[tuple[str, str]]]:
    """Run one pass of actions on the model; an action that raises RepairError is undone and noted."""
    notes = []
    for step in actions:
        saved = copy.deepcopy((gmf, state))  # an action that gives up half-way must leave no trace
        try:
            notes.append((step.name, ACTIONS[step.name](gmf, state)))
        except (RepairError, MetadataConversionError) as exc:  # e.g. a value no 32-bit fraction holds
            gmf, state = saved
            notes.append((step.name, f"not done: {exc}"))
    return gmf.to_bytes(recompute=True), notes
