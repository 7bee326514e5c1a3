"""The bridge as a service: an oslo.messaging notification listener whose
endpoint posts into the stores."""

import oslo_messaging
from oslo_config import cfg
from oslo_log import log

from zaqar_core import bootstrap
from zaqar_core.api.service import Api
from zaqar_core.bridge.endpoint import Endpoint
from zaqar_core.bridge.rules import ConfigError
from zaqar_core.bridge.rules import Rules

LOG = log.getLogger(__name__)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def targets(conf: cfg.ConfigOpts) -> list[oslo_messaging.Target]:
    """One target per exchange and topic of ``[bridge]``."""
    # None: the transport's own [DEFAULT] control_exchange.
    exchanges: list[str | None] = list(_unique(conf.bridge.exchanges)) \
        or [None]
    return [oslo_messaging.Target(exchange=exchange, topic=topic)
            for exchange in exchanges
            for topic in _unique(conf.bridge.topics)]


def check_ttl(conf: cfg.ConfigOpts) -> None:
    """Refuse a ``message_ttl`` the API would refuse for every message.

    Raises:
        ConfigError: it is outside the ``[transport]`` bounds.
    """
    low, high = conf.transport.min_message_ttl, \
        conf.transport.max_message_ttl
    if not low <= conf.bridge.message_ttl <= high:
        raise ConfigError(f'[bridge] message_ttl {conf.bridge.message_ttl} '
                          f'is outside [transport] min_message_ttl and '
                          f'max_message_ttl ({low}..{high}).')


class Bridge:
    """Consumes notifications and posts them as messages until stopped.

    Args:
        conf: the registered and parsed configuration.
        api: the API service to post through (default: one over the
            configured stores, closed by :meth:`close`).

    Raises:
        ConfigError: ``[bridge]`` options that cannot work.
        oslo_messaging.MessagingException: the transport URL is unusable.
    """

    def __init__(self, conf: cfg.ConfigOpts, api: Api | None = None) -> None:
        rules = Rules.from_conf(conf)
        check_ttl(conf)
        self._own_api = api is None
        self.api = api or bootstrap.make_api(conf)
        self.endpoint = Endpoint(self.api, rules,
                                 _unique(conf.bridge.priorities))
        self.targets = targets(conf)
        self.transport = oslo_messaging.get_notification_transport(conf)
        self.listener = oslo_messaging.get_notification_listener(
            self.transport, self.targets, [self.endpoint],
            executor='threading', allow_requeue=True,
            pool=conf.bridge.pool or None)

    def start(self) -> None:
        """Start consuming; returns once connected to the bus (which is
        retried until it answers)."""
        self.listener.start()
        LOG.info('zaqar-bridge consuming %s',
                 ', '.join(f'{t.exchange or "(control_exchange)"}/'
                           f'{t.topic}' for t in self.targets))

    def stop(self) -> None:
        """Stop consuming, finish the notifications in hand, close."""
        # Cut short any wait before a requeue.
        self.endpoint.stopping.set()
        self.listener.stop()
        self.listener.wait()
        self.close()

    def close(self) -> None:
        self.transport.cleanup()
        if self._own_api:
            # Queue events still in hand go out before the stores close.
            if self.api.events is not None:
                self.api.events.close()
            self.api.stores.close()
