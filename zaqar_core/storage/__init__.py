"""The storage contracts and errors that plugins implement and raise."""

from zaqar_core.storage import errors
from zaqar_core.storage.base import ClaimControllerBase
from zaqar_core.storage.base import ClaimInfo
from zaqar_core.storage.base import ControlDriverBase
from zaqar_core.storage.base import DataDriverBase
from zaqar_core.storage.base import DeadLetter
from zaqar_core.storage.base import Listening
from zaqar_core.storage.base import Message
from zaqar_core.storage.base import MessageControllerBase
from zaqar_core.storage.base import NewMessage
from zaqar_core.storage.base import QueueControllerBase
from zaqar_core.storage.base import QueueStats
from zaqar_core.storage.base import SignalControllerBase
from zaqar_core.storage.base import Subscription
from zaqar_core.storage.base import SubscriptionControllerBase

__all__ = [
    'ClaimControllerBase', 'ClaimInfo', 'ControlDriverBase',
    'DataDriverBase', 'DeadLetter', 'Listening', 'Message',
    'MessageControllerBase', 'NewMessage', 'QueueControllerBase',
    'QueueStats', 'SignalControllerBase', 'Subscription',
    'SubscriptionControllerBase', 'errors',
]
