"""What a transport plugin (``zaqar_core.transport``) implements."""

import abc
from collections.abc import Callable

from oslo_config import cfg

from zaqar_core.api.service import Api

ApiFactory = Callable[[], Api]


class DriverBase(abc.ABC):
    """Entry class of a transport plugin.

    Args:
        conf: the registered configuration.
        api_factory: builds the :class:`Api` (and so the storage
            connections). Transports that fork call it in each child.
    """

    def __init__(self, conf: cfg.ConfigOpts,
                 api_factory: ApiFactory) -> None:
        self.conf = conf
        self.api_factory = api_factory

    @abc.abstractmethod
    def listen(self) -> None:
        """Serve until asked to stop (SIGTERM or SIGINT)."""
