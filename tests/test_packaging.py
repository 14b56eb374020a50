"""The package list in pyproject.toml names every package in src/, and the catalogue ships in the wheel."""

from __future__ import annotations

import sys

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_package_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT / "src").parts) for p in (ROOT / "src").rglob("__init__.py")}
    found.add("gainmap.specs")
    assert found == listed


def test_catalogue_is_importable_as_package_data():
    from importlib.resources import files

    assert "[[check]]" in files("gainmap.specs").joinpath("checks.toml").read_text()
