"""``python -m archiver.cli``: the ``archiver`` command."""

import sys

from archiver.cli.command import main

sys.exit(main())
