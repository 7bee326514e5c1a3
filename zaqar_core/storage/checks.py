"""Whether each store answers and has a current schema, in words for an
operator: at start (:func:`zaqar_core.bootstrap.check_stores`), in
``/v2/ping`` and in ``/v2/health``."""

from __future__ import annotations

import dataclasses
import shlex

from oslo_config import cfg

from zaqar_core import plugins
from zaqar_core import uris
from zaqar_core.storage import base
from zaqar_core.storage.stores import Stores

MESSAGE_STORE = plugins.MESSAGE_STORE.label
MANAGEMENT_STORE = plugins.MANAGEMENT_STORE.label

_KINDS = {kind.label: kind for kind in plugins.STORES}


@dataclasses.dataclass(frozen=True)
class Report:
    """What was found of one store."""

    label: str  # MESSAGE_STORE or MANAGEMENT_STORE
    uri: str  # password hidden; '' when the driver has no ``uri``
    state: base.StoreState

    @property
    def ok(self) -> bool:
        return self.state.problem is None


def uri_of(conf: cfg.ConfigOpts, label: str) -> str:
    """The configured URI of a store, secrets hidden ('' if none)."""
    return uris.store_uri(conf, _KINDS[label]) or ''


def check(conf: cfg.ConfigOpts, stores: Stores,
          timeout: float) -> list[Report]:
    """Check the management store, then the message store, each within
    about ``timeout`` seconds."""
    return [Report(label, uri_of(conf, label), driver.check(timeout))
            for label, driver in ((MANAGEMENT_STORE, stores.control),
                                  (MESSAGE_STORE, stores.home))]


def upgrade_command(conf: cfg.ConfigOpts) -> str:
    """The command that upgrades the schema, with the configuration files
    in use."""
    words = ['zaqar-manage']
    for path in conf.config_file or ():
        words += ['--config-file', path]
    if getattr(conf, 'config_dir', None):
        words += ['--config-dir', conf.config_dir]
    return shlex.join([*words, 'db', 'upgrade'])


def describe(report: Report, conf: cfg.ConfigOpts,
             detailed: bool = True) -> str:
    """One line for an operator: the store, its URI (when ``detailed``),
    what is wrong and, when an upgrade fixes it, the command.

    Without ``detailed``, for anyone who may ping: neither the URI nor
    the configuration files are shown.
    """
    where = f' ({report.uri})' if detailed and report.uri else ''
    # Database errors span lines; each store gets one.
    problem = ' '.join(str(report.state.problem).split())
    line = f'The {report.label}{where} {problem}'
    if report.state.needs_upgrade:
        command = upgrade_command(conf) if detailed else \
            'zaqar-manage db upgrade'
        line += f'; run {command}'
    return line
