"""Bootstrap: reads configuration and loads every driver through
stevedore, and nothing else."""

import os

from oslo_config import cfg
from oslo_log import log
from stevedore import driver as stevedore_driver
from stevedore import extension

from zaqar_core import policy
from zaqar_core.api.service import Api
from zaqar_core.conf import sqlalchemy_stores
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.events import Emitter
from zaqar_core.storage import checks
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage.base import StoreState
from zaqar_core.storage.stores import Stores
from zaqar_core.transport.base import DriverBase as TransportBase

LOG = log.getLogger(__name__)

DATA_NAMESPACE = 'zaqar_core.storage.data'
CONTROL_NAMESPACE = 'zaqar_core.storage.control'
TRANSPORT_NAMESPACE = 'zaqar_core.transport'
NOTIFIER_NAMESPACE = 'zaqar_core.notifiers'

SQLITE_FILE = 'zaqar.sqlite'


#: Seconds each store has to answer :func:`check_stores`: both together
#: stay within the 3 s a start may spend on them.
CHECK_TIMEOUT = 1.0


class BootstrapError(Exception):
    """The configuration names something that cannot be loaded."""


class StoresUnavailable(BootstrapError):
    """A store does not answer, or its schema is not current.

    The message has one line per such store: which store, its URI
    (password hidden), what is wrong, and the command that fixes a
    schema.
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__('\n'.join(lines))
        self.lines = lines


def load_driver(namespace: str, name: str, what: str, *args):
    """Instantiate the plugin ``name`` of ``namespace`` with ``args``.

    Raises:
        BootstrapError: no such plugin; the message lists the known ones.
    """
    # Checked first so that the error is this one line, not stevedore's
    # warning followed by a traceback.
    known = sorted(extension.ExtensionManager(namespace).names())
    if name not in known:
        raise BootstrapError(
            f'Unknown {what} driver "{name}" (namespace {namespace}); '
            f'available: {", ".join(known) or "none"}.')
    return stevedore_driver.DriverManager(
        namespace, name, invoke_on_load=True, invoke_args=args,
        on_load_failure_callback=_reraise).driver


def _reraise(manager, entrypoint, exc) -> None:
    raise exc


def resolve_sqlite_default(conf: cfg.ConfigOpts) -> str | None:
    """Point unset SQL store URIs at one SQLite file in ``state_path``.

    Returns:
        The URI used, or None when every SQL store has a URI.
    """
    groups = []
    if conf.drivers.message_store == 'sqlalchemy':
        groups.append(sqlalchemy_stores.MESSAGE_GROUP)
    if conf.drivers.management_store == 'sqlalchemy':
        groups.append(sqlalchemy_stores.MANAGEMENT_GROUP)
    unset = [g for g in groups if not conf[g].uri]
    if not unset:
        return None
    state = os.path.abspath(conf.state_path)
    os.makedirs(state, mode=0o750, exist_ok=True)
    uri = f'sqlite:///{os.path.join(state, SQLITE_FILE)}'
    for group in unset:
        conf.set_override('uri', uri, group=group)
    return uri


def upgrade_embedded_stores(conf: cfg.ConfigOpts) -> None:
    """Bring embedded stores (SQLite), which have no operator to run
    migrations, to the newest schema; other stores are left alone.

    Safe in several processes at once (each worker of a WSGI server may
    start with it): the store serialises concurrent upgrades.
    """
    stores = load_stores(conf)
    try:
        for driver in (stores.control, stores.data):
            if driver.auto_upgrade:
                driver.upgrade()
    finally:
        # Connections must not cross into forked workers.
        stores.close()


def check_stores(conf: cfg.ConfigOpts) -> None:
    """Check that each store answers (within :data:`CHECK_TIMEOUT`) and
    that its schema, if it has one, is current; call it after
    :func:`upgrade_embedded_stores`.

    With ``[storage] allow_degraded_start``, what is wrong is logged as
    warnings instead of raised.

    Raises:
        StoresUnavailable: a store fails, and degraded starts are not
            allowed.
        BootstrapError: a store's driver is unknown.
    """
    lines = []
    for label, namespace, name in (
            (checks.MANAGEMENT_STORE, CONTROL_NAMESPACE,
             conf.drivers.management_store),
            (checks.MESSAGE_STORE, DATA_NAMESPACE,
             conf.drivers.message_store)):
        try:
            # Opening an SQL store connects (and retries): an unreachable
            # one fails here.
            driver = load_driver(namespace, name, label, conf)
        except storage_errors.StorageError as exc:
            report = checks.Report(label, checks.uri_of(conf, label),
                                   StoreState(f'cannot be opened: {exc}'))
            lines.append(checks.describe(report, conf))
            continue
        try:
            state = driver.check(CHECK_TIMEOUT)
        finally:
            # Connections must not cross into forked workers.
            driver.close()
        if state.problem:
            lines.append(checks.describe(checks.Report(
                label, checks.uri_of(conf, label), state), conf))
    if not lines:
        return
    if conf.storage.allow_degraded_start:
        for line in lines:
            LOG.warning('%s (starting anyway: [storage] '
                        'allow_degraded_start = true)', line)
        return
    raise StoresUnavailable(lines)


def load_stores(conf: cfg.ConfigOpts) -> Stores:
    """The data and control drivers ``[drivers]`` names."""
    data = load_driver(DATA_NAMESPACE, conf.drivers.message_store,
                       'message store', conf)
    control = load_driver(CONTROL_NAMESPACE, conf.drivers.management_store,
                          'management store', conf)
    return Stores(control=control, data=data)


def load_notifiers(conf: cfg.ConfigOpts) -> dict[str, NotifierBase]:
    """Every installed notifier plugin, by the URI scheme it serves.

    A plugin that cannot load (a missing library, say) is logged and left
    out: subscribing with its scheme then gives a 400.
    """
    def skip(manager, entrypoint, exc) -> None:
        LOG.error('Notifier %s is not available: %s', entrypoint.name, exc)

    manager = extension.ExtensionManager(
        NOTIFIER_NAMESPACE, invoke_on_load=True, invoke_args=(conf,),
        on_load_failure_callback=skip)
    return {ext.name: ext.obj for ext in manager}


def make_api(conf: cfg.ConfigOpts) -> Api:
    """The API service over freshly loaded stores and notifiers."""
    return Api(conf, load_stores(conf), policy.make_enforcer(conf),
               load_notifiers(conf), Emitter(conf))


def load_transport(conf: cfg.ConfigOpts,
                   name: str | None = None) -> TransportBase:
    """The transport ``name`` (default: the one ``[drivers] transport``
    names), ready to listen."""
    return load_driver(TRANSPORT_NAMESPACE, name or conf.drivers.transport,
                       'transport', conf, lambda: make_api(conf))
