"""The ``gainmap`` command line (the top layer: nothing below imports it).

:mod:`gainmap.cli.main` assembles the parser and dispatches to one module per command (``check``, ``inspect``,
``repair``, ``decode``, ``measure``, ``build``, ``restore``, ``eval``, ``fuzz``, ``selffuzz``), each with
``configure(parser)`` and ``run(args)``; :mod:`gainmap.cli.common` holds what they share (exit codes, the usage
error, the one mapping from exceptions to messages and exit codes).
"""

from gainmap.cli.main import main

__all__ = ["main"]
