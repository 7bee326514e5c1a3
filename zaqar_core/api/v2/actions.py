"""Imports every v2 action module so that each registers its actions."""

from zaqar_core.api.v2 import claims  # noqa: F401
from zaqar_core.api.v2 import flavors  # noqa: F401
from zaqar_core.api.v2 import messages  # noqa: F401
from zaqar_core.api.v2 import openapi  # noqa: F401
from zaqar_core.api.v2 import pools  # noqa: F401
from zaqar_core.api.v2 import queues  # noqa: F401
from zaqar_core.api.v2 import subscriptions  # noqa: F401
from zaqar_core.api.v2 import system  # noqa: F401
from zaqar_core.api.v2 import topics  # noqa: F401
