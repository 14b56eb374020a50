"""The ``gainmap`` command line (the top layer: nothing below imports it)."""

from gainmap.cli.main import main

__all__ = ["main"]
