"""``python -m titrator``: the same as the ``titrator`` command."""

import sys

from titrator.cli.main import main

sys.exit(main())
