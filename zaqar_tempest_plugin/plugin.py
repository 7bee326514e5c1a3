"""The tempest plugin entry point."""

from __future__ import annotations

import os

from oslo_config import cfg
from tempest import config
from tempest.test_discover import plugins

from zaqar_tempest_plugin import config as messaging_config

#: Where the service clients live (one module exports them all).
CLIENTS_MODULE = 'zaqar_tempest_plugin.services.messaging'


class ZaqarTempestPlugin(plugins.TempestPlugin):
    """Registers the ``[messaging]`` options, the messaging service clients
    and the tests under ``zaqar_tempest_plugin/tests``."""

    def load_tests(self) -> tuple[str, str]:
        base_path = os.path.split(os.path.dirname(
            os.path.abspath(__file__)))[0]
        full_test_dir = os.path.join(base_path, 'zaqar_tempest_plugin',
                                     'tests')
        return full_test_dir, base_path

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        config.register_opt_group(conf, config.service_available_group,
                                  messaging_config.SERVICE_AVAILABLE_OPTS)
        config.register_opt_group(conf, messaging_config.messaging_group,
                                  messaging_config.MESSAGING_OPTS)

    def get_opt_lists(self) -> list[tuple[str, list[cfg.Opt]]]:
        return [
            (messaging_config.messaging_group.name,
             messaging_config.MESSAGING_OPTS),
            (config.service_available_group.name,
             messaging_config.SERVICE_AVAILABLE_OPTS),
        ]

    def get_service_clients(self) -> list[dict]:
        params = config.service_client_config(
            messaging_config.messaging_group.name)
        params.update({
            'name': 'messaging_v2',
            'service_version': 'messaging.v2',
            'module_path': CLIENTS_MODULE,
            'client_names': [
                'QueuesClient', 'MessagesClient', 'ClaimsClient',
                'SubscriptionsClient', 'TopicsClient', 'SignedUrlClient',
                'SystemClient', 'PoolingClient',
            ],
        })
        return [params]
