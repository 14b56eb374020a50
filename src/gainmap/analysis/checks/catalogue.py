"""The check catalogue (specs/checks.toml) and the viewer model (specs/viewers.toml), loaded and validated.

Both files are data: ids, titles, severities, fixes and repair names live in ``checks.toml``; what each viewer
needs lives in ``viewers.toml``.  This module reads them, checks that they are well-formed and consistent with
each other, and exposes them as frozen dataclasses.  :func:`catalogue` returns the shipped files, loaded once.

The files are found as the package resource ``gainmap.specs`` (an installed package maps the repository's
top-level ``specs/`` there), falling back to ``specs/`` next to ``src/`` in a checkout.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

SEVERITIES: tuple[str, ...] = ("error", "warning", "info")
VIEWERS: tuple[str, ...] = ("chrome", "android", "apple", "libultrahdr", "libavif", "adobe")
EVIDENCE: tuple[str, ...] = ("code", "reported", "spec")
ORIGINS: tuple[str, ...] = ("reader", "check", "presence", "internal")
#: The six presence checks, in display order (the JSON ``checks`` keys); catalogue ids are ``six.<name>``.
SIX: tuple[str, ...] = ("mpf", "container_xmp", "hdrgm", "iso_primary", "iso_gainmap", "icc")
INTERNAL_FAILURE = "internal.check-failed"
SCHEMA_VERSION = 1

_ID = r"[a-z][a-z0-9]*\.[a-z0-9]+(?:[-_][a-z0-9]+)*"
_ID_RE = re.compile(rf"^{_ID}$")
#: Scopes a blocked_by/unless id may carry: ``id@primary`` (a finding on the primary), ``id@secondary`` (on any
#: other image, such as the gain map).
SCOPES = ("primary", "secondary")
_SCOPED_ID_RE = re.compile(rf"^{_ID}(?:@(?:{'|'.join(SCOPES)}))?$")
_TERM_RE = re.compile(rf"^(?:!{_ID}|{_ID}(?:\|{_ID})*)$")  # id, !id, or a|b|...
_CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:\.[a-z0-9]+(?:[-_][a-z0-9]+)*)+$")
_REPAIR_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_CHECK_KEYS = {"id", "title", "severity", "breaks", "explanation", "fix", "repair", "evidence", "source"}
_CHECK_OPTIONAL = {"origin", "aliases"}
_VIEWER_KEYS = {"label", "name", "covers", "evidence", "note", "sources", "requires", "blocked_by", "route"}
_ROUTE_KEYS = {"name", "when", "unless"}
_ROUTE_OPTIONAL = {"final", "note"}


class CatalogueError(ValueError):
    """``checks.toml`` or ``viewers.toml`` is malformed or inconsistent."""


@dataclass(frozen=True)
class CheckSpec:
    """One catalogue entry."""

    id: str
    title: str
    severity: str
    breaks: tuple[str, ...]
    explanation: str
    fix: str
    repair: str
    evidence: str
    source: str
    origin: str = "check"
    #: Reader problem codes reported under this id.
    aliases: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class Route:
    """One way a viewer can find usable gain-map metadata (see the header of ``viewers.toml``)."""

    name: str
    when: tuple[str, ...]
    unless: tuple[str, ...]
    final: bool = False
    note: str = ""


@dataclass(frozen=True)
class ViewerSpec:
    """What one viewer needs before it shows HDR."""

    key: str
    label: str
    name: str
    covers: str
    evidence: str
    note: str
    sources: tuple[str, ...]
    requires: tuple[str, ...]
    blocked_by: tuple[str, ...]
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class Catalogue:
    """The validated contents of both spec files."""

    families: dict[str, str]
    checks: dict[str, CheckSpec]
    viewers: dict[str, ViewerSpec]
    #: Reader problem code -> the catalogue id it is reported under.
    aliases: dict[str, str]

    def __getitem__(self, check_id: str) -> CheckSpec:
        return self.checks[check_id]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self.checks

    def resolve(self, code: str) -> str | None:
        """The catalogue id for a check id or a reader problem code (an alias); None if unknown."""
        return code if code in self.checks else self.aliases.get(code)

    def severity(self, check_id: str) -> str:
        return self.checks[check_id].severity

    def by_family(self) -> dict[str, list[CheckSpec]]:
        """Checks grouped by family, families in declaration order, checks in file order."""
        out: dict[str, list[CheckSpec]] = {f: [] for f in self.families}
        for spec in self.checks.values():
            out[spec.family].append(spec)
        return out

    def repairs(self) -> dict[str, list[str]]:
        """Repair action name -> the check ids it fixes."""
        out: dict[str, list[str]] = {}
        for spec in self.checks.values():
            if spec.repair:
                out.setdefault(spec.repair, []).append(spec.id)
        return out


# ---------------------------------------------------------------------------------------------- locating
def _repo_specs_dir() -> Path:
    return Path(__file__).resolve().parents[3] / "specs"


def spec_text(name: str) -> str:
    """The text of ``specs/<name>``: the packaged resource if installed, else the checkout's file."""
    try:
        resource = resources.files("gainmap.specs").joinpath(name)
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
        pass
    path = _repo_specs_dir() / name
    if not path.is_file():
        raise CatalogueError(f"cannot find {name}: neither the gainmap.specs package nor {path} has it")
    return path.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- validation
def _parse_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogueError(f"{what}: not valid TOML: {exc}") from exc


def _need(cond: object, where: str, message: str) -> None:
    if not cond:
        raise CatalogueError(f"{where}: {message}")


def _str(table: dict[str, Any], key: str, where: str, *, empty: bool = False) -> str:
    value = table.get(key)
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: '{key}' must be a string, got {value!r}")
    _need(empty or bool(value.strip()), where, f"'{key}' must not be empty")
    return value


def _str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key)
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise CatalogueError(f"{where}: '{key}' must be a list of strings, got {value!r}")
    _need(len(set(value)) == len(value), where, f"'{key}' lists an entry twice: {value!r}")
    return tuple(value)


def _keys(table: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = required - table.keys()
    unknown = table.keys() - required - optional
    _need(not missing, where, f"missing key(s) {sorted(missing)}")
    _need(not unknown, where, f"unknown key(s) {sorted(unknown)}")


def _schema(doc: dict[str, Any], what: str) -> None:
    _need(doc.get("schema_version") == SCHEMA_VERSION, what,
          f"schema_version must be {SCHEMA_VERSION}, got {doc.get('schema_version')!r}")


def _load_checks(doc: dict[str, Any]) -> tuple[dict[str, str], dict[str, CheckSpec]]:
    what = "checks.toml"
    _schema(doc, what)
    _need(set(doc) <= {"schema_version", "families", "check"}, what, f"unknown top-level keys {sorted(doc)}")
    families: Any = doc.get("families")  # TOML values: Any until checked
    _need(isinstance(families, dict) and families, what, "[families] must map family names to titles")
    for fam, title in families.items():
        _need(re.fullmatch(r"[a-z][a-z0-9]*", fam) is not None, what, f"bad family name {fam!r}")
        _need(isinstance(title, str) and bool(title.strip()), what, f"family {fam!r} needs a title")
    entries: Any = doc.get("check")
    _need(isinstance(entries, list) and entries, what, "needs at least one [[check]]")
    checks: dict[str, CheckSpec] = {}
    for n, entry in enumerate(entries):
        where = f"{what} check #{n + 1}"
        _need(isinstance(entry, dict), where, "must be a table")
        if isinstance(entry.get("id"), str):
            where = f"{what} {entry['id']}"
        _keys(entry, _CHECK_KEYS, _CHECK_OPTIONAL, where)
        cid = _str(entry, "id", where)
        _need(_ID_RE.match(cid) is not None, where, f"id {cid!r} is not 'family.name' in lower case")
        _need(cid not in checks, where, f"duplicate id {cid!r}")
        _need(cid.split(".", 1)[0] in families, where, f"family of {cid!r} is not declared in [families]")
        severity = _str(entry, "severity", where)
        _need(severity in SEVERITIES, where, f"severity {severity!r} is not one of {SEVERITIES}")
        breaks = _str_list(entry, "breaks", where)
        bad = [v for v in breaks if v not in VIEWERS]
        _need(not bad, where, f"unknown viewer(s) {bad} in breaks (known: {VIEWERS})")
        repair = _str(entry, "repair", where, empty=True)
        _need(repair == "" or _REPAIR_RE.match(repair) is not None, where,
              f"repair {repair!r} must be empty or a lower-case-dashed action name")
        evidence = _str(entry, "evidence", where)
        _need(evidence in EVIDENCE, where, f"evidence {evidence!r} is not one of {EVIDENCE}")
        origin = _str(entry, "origin", where) if "origin" in entry else "check"
        _need(origin in ORIGINS, where, f"origin {origin!r} is not one of {ORIGINS}")
        aliases = _str_list(entry, "aliases", where) if "aliases" in entry else ()
        for alias in aliases:
            _need(_CODE_RE.match(alias) is not None, where,
                  f"alias {alias!r} is not a dotted lower-case code")
        checks[cid] = CheckSpec(
            id=cid, title=_str(entry, "title", where), severity=severity, breaks=breaks,
            explanation=_str(entry, "explanation", where), fix=_str(entry, "fix", where), repair=repair,
            evidence=evidence, source=_str(entry, "source", where), origin=origin, aliases=aliases)
    names = [cid for cid in checks] + [a for spec in checks.values() for a in spec.aliases]
    clashes = sorted({n for n in names if names.count(n) > 1})
    _need(not clashes, what, f"aliases must be unique and differ from every id: {clashes}")
    six_ids = {f"six.{name}" for name in SIX}
    present = {cid for cid, spec in checks.items() if spec.family == "six"}
    _need(present == six_ids, what,
          f"the six family must hold exactly {sorted(six_ids)}, has {sorted(present)}")
    wrong = [cid for cid in six_ids if checks[cid].origin != "presence"]
    _need(not wrong, what, f"{sorted(wrong)} must have origin = \"presence\"")
    _need(INTERNAL_FAILURE in checks, what, f"{INTERNAL_FAILURE!r} must be in the catalogue")
    return dict(families), checks


def term_ids(term: str) -> list[str]:
    """The catalogue ids a viewer-rule term mentions: ``"!x"`` -> [x], ``"a|b"`` -> [a, b], ``"x@primary"`` -> [x]."""
    return [t.split("@", 1)[0] for t in term.lstrip("!").split("|")]


def _terms(table: dict[str, Any], key: str, where: str, *, plain: bool,
           used: list[tuple[str, str]]) -> tuple[str, ...]:
    """A list of rule terms; ``plain`` lists (blocked_by, unless) take ids, optionally scoped (``id@primary``,
    ``id@secondary``).  Each term is recorded in ``used`` with its context, to be checked against the catalogue
    once all are read."""
    values = _str_list(table, key, where)
    for t in values:
        ok = _SCOPED_ID_RE.match(t) if plain else _TERM_RE.match(t)
        form = "an id or id@primary / id@secondary" if plain else "'id', '!id' or 'a|b'"
        _need(ok is not None, where, f"bad term {t!r} in '{key}': use {form}")
        used.append((t, f"{where} {key}"))
    return values


def _load_viewers(doc: dict[str, Any], checks: dict[str, CheckSpec]) -> dict[str, ViewerSpec]:
    what = "viewers.toml"
    _schema(doc, what)
    _need(set(doc) <= {"schema_version", "viewer"}, what, f"unknown top-level keys {sorted(doc)}")
    table: Any = doc.get("viewer")
    _need(isinstance(table, dict), what, "needs a [viewer.<name>] table per viewer")
    _need(set(table) == set(VIEWERS), what, f"must describe exactly {VIEWERS}, has {sorted(table)}")
    viewers: dict[str, ViewerSpec] = {}
    for key, entry in table.items():
        where = f"{what} viewer.{key}"
        _need(isinstance(entry, dict), where, "must be a table")
        _keys(entry, _VIEWER_KEYS, set(), where)
        evidence = _str(entry, "evidence", where)
        _need(evidence in EVIDENCE, where, f"evidence {evidence!r} is not one of {EVIDENCE}")
        note = _str(entry, "note", where, empty=True)
        _need(evidence == "code" or bool(note.strip()), where,
              "a viewer whose behaviour is not read in code needs a note saying so")
        used: list[tuple[str, str]] = []  # (term, context): checked against the catalogue below
        requires = _terms(entry, "requires", where, plain=False, used=used)
        blocked_by = _terms(entry, "blocked_by", where, plain=True, used=used)
        raw_routes: Any = entry.get("route")
        _need(isinstance(raw_routes, list) and raw_routes, where, "needs at least one [[viewer.X.route]]")
        routes = []
        for n, r in enumerate(raw_routes):
            rwhere = f"{where} route #{n + 1}"
            _need(isinstance(r, dict), rwhere, "must be a table")
            _keys(r, _ROUTE_KEYS, _ROUTE_OPTIONAL, rwhere)
            final = r.get("final", False)
            _need(isinstance(final, bool), rwhere, "'final' must be true or false")
            when = _terms(r, "when", rwhere, plain=False, used=used)
            _need(bool(when), rwhere, "'when' needs at least one term")
            routes.append(Route(name=_str(r, "name", rwhere), when=when,
                                unless=_terms(r, "unless", rwhere, plain=True, used=used), final=final,
                                note=_str(r, "note", rwhere, empty=True) if "note" in r else ""))
        names = [r.name for r in routes]
        _need(len(set(names)) == len(names), where, f"route names must be unique: {names}")
        for term, ctx in used:
            for cid in term_ids(term):
                _need(cid in checks, ctx, f"{cid!r} is not a catalogue id")
                # Everything that can cost this viewer HDR must say so in the catalogue's `breaks`.
                against = (term.startswith("!") or cid.startswith("six.")
                           or not ctx.endswith(("when", "requires")))
                _need(not against or key in checks[cid].breaks, ctx,
                      f"{cid!r} decides {key}'s verdict but its `breaks` in checks.toml omits {key!r}")
        viewers[key] = ViewerSpec(
            key=key, label=_str(entry, "label", where), name=_str(entry, "name", where),
            covers=_str(entry, "covers", where), evidence=evidence, note=note,
            sources=_str_list(entry, "sources", where), requires=requires, blocked_by=blocked_by,
            routes=tuple(routes))
    return viewers


def load_catalogue(checks_text: str | None = None, viewers_text: str | None = None) -> Catalogue:
    """Parse and validate both spec files (the shipped ones unless texts are given).

    Raises :class:`CatalogueError` naming the file, the entry and what is wrong.
    """
    checks_doc = _parse_toml(spec_text("checks.toml") if checks_text is None else checks_text, "checks.toml")
    viewers_doc = _parse_toml(spec_text("viewers.toml") if viewers_text is None else viewers_text,
                              "viewers.toml")
    families, checks = _load_checks(checks_doc)
    viewers = _load_viewers(viewers_doc, checks)
    viewers = {k: viewers[k] for k in VIEWERS}
    aliases = {alias: spec.id for spec in checks.values() for alias in spec.aliases}
    return Catalogue(families=families, checks=checks, viewers=viewers, aliases=aliases)


def load_catalogue_files(checks_path: str | Path, viewers_path: str | Path) -> Catalogue:
    """:func:`load_catalogue` from two files on disk."""
    return load_catalogue(Path(checks_path).read_text(encoding="utf-8"),
                          Path(viewers_path).read_text(encoding="utf-8"))


@cache
def catalogue() -> Catalogue:
    """The shipped catalogue, loaded and validated once per process."""
    return load_catalogue()
