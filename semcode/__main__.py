"""``python -m semcode``: the ``semcode`` command, where its script is not on PATH."""

import sys

from semcode.interfaces.cli import main

sys.exit(main())
