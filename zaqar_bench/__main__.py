"""``python -m zaqar_bench``: the same as ``zaqar-bench``."""

import sys

from zaqar_bench.cli import main

sys.exit(main())
