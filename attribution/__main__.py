"""``python -m attribution``: the same as the ``attribution`` command."""

import sys

from attribution.cli import main

if __name__ == "__main__":
    sys.exit(main())
