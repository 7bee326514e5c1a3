#!/usr/bin/env python3
"""The functional stack's command line (``up``, ``status``, ``env``,
``clients``, ``down``): see :mod:`zaqar_testing.stack`. Runs with any
Python 3.11, the checkout's packages on the path or not."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zaqar_testing.stack import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
