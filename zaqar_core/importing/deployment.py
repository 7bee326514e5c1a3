"""Where an upstream deployment keeps its data: read from upstream's own
config file (or given as URIs), and the readers of those stores.

Only the handful of options that say where the data is are read, with
upstream's defaults (its default stores are MongoDB, which no reader
serves: a file that names no driver gets a clear error, not a guess).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from oslo_config import cfg
from stevedore import driver as stevedore_driver
from stevedore import exception as stevedore_errors
from stevedore import extension

from zaqar_core import uris
from zaqar_core.importing import sources

# Upstream's defaults (zaqar/conf/drivers.py and transport.py of 23.x);
# each store's default URI is its reader's.
_UPSTREAM_DEFAULT_STORE = 'mongodb'
_UPSTREAM_DEFAULT_KEY = 'AES256'
_NAMESPACES = {'management_store': sources.MANAGEMENT_NAMESPACE,
               'message_store': sources.MESSAGES_NAMESPACE}


def _readers(namespace: str) -> dict[str, type]:
    """The reader classes of ``namespace``, by upstream driver name."""
    manager = extension.ExtensionManager(namespace, invoke_on_load=False)
    return {ext.name: ext.plugin for ext in manager}


@dataclasses.dataclass(frozen=True)
class Deployment:
    """Where upstream's data is."""

    message_driver: str
    message_uri: str
    management_driver: str
    management_uri: str
    #: ``[transport] message_encryption_key``: opens encrypted bodies.
    encryption_key: str
    #: ``[DEFAULT] pooling``: messages live in the pools too.
    pooling: bool = False

    def describe(self) -> str:
        return (f'message store {self.message_driver} '
                f'({uris.redacted(self.message_uri)}), management store '
                f'{self.management_driver} '
                f'({uris.redacted(self.management_uri)})')


def driver_of_uri(uri: str) -> str:
    """Upstream's driver name for a store at ``uri``, by its scheme."""
    for namespace in _NAMESPACES.values():
        for name, reader in _readers(namespace).items():
            if reader.serves(uri):
                return name
    scheme = uri.partition(':')[0].lower()
    for name in sources.UNSUPPORTED:
        if scheme.startswith(name):
            return name
    raise sources.SourceError(f'No upstream store is at a {scheme}:// '
                              f'URI ({uris.redacted(uri)})')


def from_uris(message_uri: str, management_uri: str,
              encryption_key: str | None = None,
              pooling: bool = False) -> Deployment:
    """A deployment given by its stores' URIs."""
    return Deployment(driver_of_uri(message_uri), message_uri,
                      driver_of_uri(management_uri), management_uri,
                      _UPSTREAM_DEFAULT_KEY if encryption_key is None
                      else encryption_key, pooling)


def from_config_file(path: str) -> Deployment:
    """The deployment upstream's config file at ``path`` describes.

    Raises:
        SourceError: no such file, or it cannot be parsed.
    """
    if not Path(path).is_file():
        raise sources.SourceError(f'No upstream config file at {path}')
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.StrOpt('message_store', default=_UPSTREAM_DEFAULT_STORE),
        cfg.StrOpt('management_store', default=_UPSTREAM_DEFAULT_STORE),
    ], group='drivers')
    conf.register_opt(cfg.BoolOpt('pooling', default=False))
    conf.register_opt(cfg.StrOpt('message_encryption_key',
                                 default=_UPSTREAM_DEFAULT_KEY,
                                 secret=True), group='transport')
    for kind, namespace in _NAMESPACES.items():
        for name, reader in _readers(namespace).items():
            conf.register_opt(cfg.StrOpt('uri', default=reader.default_uri,
                                         secret=True),
                              group=f'drivers:{kind}:{name}')
    try:
        conf([], project='zaqar', default_config_files=[path],
             default_config_dirs=[])
    except (cfg.Error, ValueError) as exc:
        raise sources.SourceError(
            f'The upstream config file {path} cannot be read: {exc}'
        ) from exc

    def uri(kind: str, name: str) -> str:
        try:
            return conf[f'drivers:{kind}:{name}'].uri
        except cfg.NoSuchOptError:
            return ''

    message = conf.drivers.message_store
    management = conf.drivers.management_store
    return Deployment(message, uri('message_store', message), management,
                      uri('management_store', management),
                      conf.transport.message_encryption_key or '',
                      conf.pooling)


def _open(namespace: str, driver: str, uri: str, what: str):
    reason = sources.UNSUPPORTED.get(driver)
    if reason is not None:
        raise sources.SourceError(
            f'Upstream\'s {driver} {what} cannot be imported: {reason}.')
    try:
        return stevedore_driver.DriverManager(
            namespace, driver, invoke_on_load=True,
            invoke_args=(uri,)).driver
    except stevedore_errors.NoMatches:
        raise sources.SourceError(
            f'No reader for upstream\'s {driver} {what}') from None


def open_management(deployment: Deployment) -> sources.ManagementSource:
    return _open(sources.MANAGEMENT_NAMESPACE, deployment.management_driver,
                 deployment.management_uri, 'management store')


def open_messages(driver: str, uri: str) -> sources.MessageSource:
    """The reader of a message store (the configured one or a pool's)."""
    return _open(sources.MESSAGES_NAMESPACE, driver, uri, 'message store')
