"""``python -m gainmap.cli COMMAND ...``: the ``gainmap`` command without the installed script."""

import sys

from gainmap.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
