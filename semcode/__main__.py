"""``python -m semcode``: the ``semcode`` command, where its script is not on PATH."""

import sys

from semcode.cli import main

sys.exit(main())
