"""Photo libraries: walk folders, check every file into one flat row, cache rows, and pair exports with their
originals.

The layer sits between ``editing`` (it asks the repairer for a plan) and ``testing``; the commands ``gainmap
scan`` and ``gainmap diff`` (:mod:`gainmap.cli.scan`, :mod:`gainmap.cli.diff`) are thin wrappers around it.
"""
