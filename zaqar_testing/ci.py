"""What ``CI=true`` changes: a backend or tool the tests need and cannot
use fails them instead of skipping them, so CI never passes by skipping.
"""

from __future__ import annotations

import os

IN_CI = os.environ.get('CI', '').lower() in ('1', 'true', 'yes')


def unavailable(reason: str) -> None:
    """A backend or tool we cannot use: fail under CI, skip elsewhere."""
    import pytest  # tools/ use IN_CI without pytest

    if IN_CI:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
