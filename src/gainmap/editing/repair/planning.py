"""Planning: which repair actions would fix a report's findings, in execution order, each with the finding ids
(and offsets) that asked for it, so the plan can be shown before anything changes."""

from __future__ import annotations

from dataclasses import dataclass

from gainmap.analysis.checks.catalogue import catalogue
from gainmap.analysis.report import Report
from gainmap.editing.repair.state import ACTION_ORDER, ACTIONS

#: Actions that subsume others when both are planned.
SUBSUMES = {
    "rebuild-mpf": {"drop-mpf-tags", "move-mpf", "recompute-mpf"},
    "convert-apple": {"iso-from-hdrgm", "hdrgm-from-iso", "rewrite-hdrgm", "add-iso-version", "add-hdrgm-version",
                      "fix-container"},
}


@dataclass(frozen=True)
class PlannedAction:
    """One action of a plan and the finding ids (with offsets) that asked for it."""

    name: str
    fixes: tuple[str, ...]
    offsets: tuple[int | None, ...]

    def describe(self) -> str:
        at = ", ".join(f"{i}@{o}" if o is not None else i for i, o in zip(self.fixes, self.offsets))
        return f"{self.name}: fixes {at}"


def plan(report: Report, *, only: set[str] | None = None, strip_junk: bool = False) -> list[PlannedAction]:
    """The actions that would fix the report's warning- and error-level findings, in execution order."""
    cat = catalogue()
    wanted: dict[str, list[tuple[str, int | None]]] = {}
    for f in report.findings:
        spec = cat.checks.get(f.id)
        name = spec.repair if spec is not None else ""
        if not name or name not in ACTIONS:
            continue
        padding = f.detail.get("looks_like") in ("zeros", "ff-padding")
        if f.severity == "info" and not (name == "strip-junk" and (strip_junk or padding)):
            continue
        if only and not ({f.id, name} & only):
            continue
        wanted.setdefault(name, []).append((f.id, f.offset))
    signalled = bool(report.metadata) or report.six.get("hdrgm") or report.six.get("iso_primary")
    if report.gainmap is None or not signalled:
        # not a gain-map file (a stereo MPO, say) or its map is gone: nothing here restores pixels
        return _in_order({k: v for k, v in wanted.items() if k == "strip-junk"})
    elif report.metadata == ("apple",) and (not only or {"convert-apple"} & only):
        wanted.setdefault("convert-apple", []).append(("apple.gainmap", None))
    for six_id, name in (("six.iso_primary", "add-iso-version"), ("six.iso_gainmap", "iso-from-hdrgm"),
                         ("six.hdrgm", "hdrgm-from-iso"), ("six.container_xmp", "fix-container"),
                         ("six.mpf", "rebuild-mpf"), ("six.icc", "add-icc")):
        key = six_id.split(".", 1)[1]
        if report.six.get(key) or (only and not ({six_id, name} & only)):
            continue
        if report.gainmap is None:
            continue
        wanted.setdefault(name, []).append((six_id, None))
    if set(report.metadata) - {"apple"}:  # already carries ISO or hdrgm: converting again would re-map the map
        wanted.pop("convert-apple", None)
    for big, small in SUBSUMES.items():
        if big in wanted:
            for name in [n for n in ACTION_ORDER if n in small and n in wanted]:  # a set's order varies by run
                wanted[big].extend(wanted.pop(name))
    return _in_order(wanted)


def _in_order(wanted: dict[str, list[tuple[str, int | None]]]) -> list[PlannedAction]:
    """Planned actions in :data:`ACTION_ORDER`, each with the (finding id, offset) pairs that asked for it."""
    return [PlannedAction(n, tuple(i for i, _ in wanted[n]), tuple(o for _, o in wanted[n]))
            for n in ACTION_ORDER if n in wanted]
