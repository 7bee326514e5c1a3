"""Where drivers plug in: the stevedore namespaces the core loads them
from, and where each driver's options live.

A driver is an entry point named as ``[drivers]`` names it (``message_store
= redis``). Its options are in ``[drivers:<kind>:<name>]`` (upstream's
layout) and are declared by the driver's package: a callable returning a
list of :class:`oslo_config.cfg.Opt`, registered under the same name in
the kind's options namespace. This module imports no driver: listing
the options imports only the modules that declare them.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import metadata

from oslo_config import cfg
from oslo_log import log

LOG = log.getLogger(__name__)

NOTIFIERS = 'zaqar_core.notifiers'


@dataclasses.dataclass(frozen=True)
class Kind:
    """A kind of driver that ``[drivers]`` chooses."""

    option: str  # the [drivers] option naming the driver
    namespace: str  # the driver's entry points
    options_namespace: str  # the callables declaring its options
    label: str  # what an operator calls it

    def group(self, name: str) -> str:
        """The group of driver ``name``'s options."""
        return f'drivers:{self.option}:{name}'

    def chosen(self, conf: cfg.ConfigOpts) -> str:
        """The name of the driver ``conf`` chooses."""
        return conf.drivers[self.option]

    def chosen_group(self, conf: cfg.ConfigOpts) -> str:
        """The option group of the driver ``conf`` chooses."""
        return self.group(self.chosen(conf))

    def names(self) -> list[str]:
        """The installed drivers of this kind, by name."""
        return entry_point_names(self.namespace)


STORE_OPTIONS = 'zaqar_core.storage.options'

MESSAGE_STORE = Kind('message_store', 'zaqar_core.storage.data',
                     STORE_OPTIONS, 'message store')
MANAGEMENT_STORE = Kind('management_store', 'zaqar_core.storage.control',
                        STORE_OPTIONS, 'management store')
TRANSPORT = Kind('transport', 'zaqar_core.transport',
                 'zaqar_core.transport.options', 'transport')

#: The two stores, in the order checks report them.
STORES = (MANAGEMENT_STORE, MESSAGE_STORE)
KINDS = (*STORES, TRANSPORT)


@functools.cache
def entry_point_names(namespace: str) -> list[str]:
    """The names registered in ``namespace``, sorted, without loading
    them."""
    return sorted({ep.name for ep in metadata.entry_points(group=namespace)})


@functools.cache
def driver_options() -> dict[str, list[cfg.Opt]]:
    """The options of every installed driver, by group (read once per
    process).

    A declaration that cannot load is logged and left out: its driver
    cannot load either, and the server says so when it is chosen.
    """
    result: dict[str, list[cfg.Opt]] = {}
    for kind in KINDS:
        for ep in metadata.entry_points(group=kind.options_namespace):
            if ep.name not in kind.names():
                continue
            try:
                # Called once per group: a group owns its Opt objects.
                result[kind.group(ep.name)] = list(ep.load()())
            except Exception as exc:  # whatever importing the plugin raises
                LOG.error('The options of the %s driver %s cannot be '
                          'loaded: %s', kind.label, ep.name, exc)
    return result
