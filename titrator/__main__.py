"""``python -m titrator``: the same as the ``titrator`` command."""

import sys

from titrator.cli import main

sys.exit(main())
