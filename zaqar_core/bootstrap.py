"""Bootstrap: reads configuration and loads every driver through
stevedore, and nothing else."""

from collections.abc import Iterator

from oslo_config import cfg
from oslo_log import log
from stevedore import driver as stevedore_driver
from stevedore import extension

from zaqar_core import plugins
from zaqar_core import policy
from zaqar_core.api.service import Api
from zaqar_core.notification import outbox
from zaqar_core.notification.base import NotifierBase
from zaqar_core.notification.events import Emitter
from zaqar_core.storage import checks
from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage import pools as pooling
from zaqar_core.storage.base import DriverBase as StoreDriver
from zaqar_core.storage.base import StoreOptions
from zaqar_core.storage.base import StoreState
from zaqar_core.storage.stores import Stores
from zaqar_core.transport.base import DriverBase as TransportBase

LOG = log.getLogger(__name__)

DATA_NAMESPACE = plugins.MESSAGE_STORE.namespace
CONTROL_NAMESPACE = plugins.MANAGEMENT_STORE.namespace
TRANSPORT_NAMESPACE = plugins.TRANSPORT.namespace
NOTIFIER_NAMESPACE = plugins.NOTIFIERS


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


def _reraise(manager, entrypoint, exc) -> None:
    raise exc


def driver_class(kind: plugins.Kind, name: str) -> type:
    """The class of the ``kind`` driver ``name``, not instantiated.

    Raises:
        BootstrapError: no such driver; the message lists the known ones.
    """
    # Checked first so that the error is this one line, not stevedore's
    # warning followed by a traceback.
    if name not in kind.names():
        raise BootstrapError(
            f'Unknown {kind.label} driver "{name}" (namespace '
            f'{kind.namespace}); available: '
            f'{", ".join(kind.names()) or "none"}.')
    return stevedore_driver.DriverManager(
        kind.namespace, name, on_load_failure_callback=_reraise).driver


def resolve_embedded_defaults(conf: cfg.ConfigOpts) -> list[str]:
    """Let each store's driver place a store the configuration leaves
    unplaced (an embedded database in ``state_path``, say): see
    :meth:`~zaqar_core.storage.base.DriverBase.resolve_default`.

    Returns:
        The URIs given, one per store given one.
    """
    given = []
    for kind in plugins.STORES:
        cls = driver_class(kind, kind.chosen(conf))
        uri = cls.resolve_default(conf, kind.chosen_group(conf))
        if uri:
            given.append(uri)
    return given


def open_store(conf: cfg.ConfigOpts, kind: plugins.Kind) -> StoreDriver:
    """The store ``[drivers]`` configures for ``kind``, opened."""
    name = kind.chosen(conf)
    return driver_class(kind, name)(
        conf, StoreOptions(conf[kind.group(name)]))


def driver_classes(kind: plugins.Kind, first: str | None = None
                   ) -> Iterator[tuple[str, type]]:
    """Each installed ``kind`` driver that loads, by name (``first``
    first); one that does not load is logged and passed over."""
    names = kind.names()
    if first in names:
        names = [first, *(name for name in names if name != first)]
    for name in names:
        try:
            cls = driver_class(kind, name)
        except Exception as exc:  # whatever importing the plugin raises
            LOG.error('The %s driver %s cannot be loaded: %s', kind.label,
                      name, exc)
            continue
        yield name, cls


def driver_for_uri(kind: plugins.Kind, uri: str) -> str:
    """The name of the ``kind`` driver that serves ``uri``.

    Raises:
        BootstrapError: no installed driver serves it.
    """
    for name, cls in driver_classes(kind):
        if cls.serves(uri):
            return name
    scheme = uri.partition(':')[0]
    raise BootstrapError(f'No {kind.label} driver serves "{scheme}" URIs.')


def open_store_at(conf: cfg.ConfigOpts, kind: plugins.Kind, uri: str,
                  options: dict | None = None) -> StoreDriver:
    """A store opened from its URI alone: the driver is the one that
    serves the URI's scheme, its settings are its configured group's
    under ``uri`` and those of ``options`` that name one of its options
    (others are kept by the caller, unused, as upstream). Nothing reaches
    the configuration, nor any other store.

    Raises:
        PoolUnusable: no driver serves ``uri``, or an option's value is
            not one the driver takes.
        StorageError: the store cannot be opened.
    """
    try:
        name = driver_for_uri(kind, uri)
    except BootstrapError as exc:
        raise pooling.PoolUnusable(str(exc)) from None
    group = kind.group(name)
    overrides = _typed_options(group, options or {})
    overrides['uri'] = uri
    return driver_class(kind, name)(
        conf, StoreOptions(conf[group], overrides))


def _typed_options(group: str, options: dict) -> dict:
    """The values of ``options`` that name an option of ``group``, as
    that option's type reads them."""
    declared = {opt.dest: opt
                for opt in plugins.driver_options().get(group, ())}
    typed = {}
    for key, value in options.items():
        opt = declared.get(key)
        if opt is None or key == 'uri':
            continue
        try:
            typed[key] = None if value is None else opt.type(value)
        except (TypeError, ValueError) as exc:
            raise pooling.PoolUnusable(
                f'Option {key}: {value!r} is not valid ({exc}).') from None
    return typed


class PoolOpener:
    """Opens the message stores of pools (see
    :class:`~zaqar_core.storage.stores.PoolOpener`)."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def open(self, uri: str, options: dict) -> StoreDriver:
        return open_store_at(self.conf, plugins.MESSAGE_STORE, uri, options)

    def capabilities(self, uri: str) -> tuple[str, ...]:
        try:
            name = driver_for_uri(plugins.MESSAGE_STORE, uri)
        except BootstrapError:
            return ()
        return driver_class(plugins.MESSAGE_STORE, name).capabilities


def upgrade_embedded_stores(conf: cfg.ConfigOpts) -> None:
    """Bring embedded stores, which have no operator to run migrations,
    to the newest schema; other stores are left alone.

    Safe in several processes at once (each worker of a WSGI server may
    start with it): the store serialises concurrent upgrades.
    """
    stores = load_stores(conf)
    try:
        for driver in (stores.control, stores.home):
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
    for kind in plugins.STORES:
        label = kind.label
        try:
            # Opening a store may connect (and retry): an unreachable one
            # may fail here.
            driver = open_store(conf, kind)
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
        if state.notice:
            LOG.warning('The %s (%s) %s', label,
                        checks.uri_of(conf, label), state.notice)
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
    data = open_store(conf, plugins.MESSAGE_STORE)
    try:
        control = open_store(conf, plugins.MANAGEMENT_STORE)
    except BaseException:
        data.close()
        raise
    stores = Stores(control=control, data=data, pool_opener=PoolOpener(conf))
    if conf.pooling:
        catalog = conf['pooling:catalog']
        stores.place_queues(virtual_pool=catalog.enable_virtual_pool,
                            cache_ttl=catalog.cache_ttl,
                            gathered=[(outbox.PROJECT, outbox.QUEUE)])
    return stores


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
    cls = driver_class(plugins.TRANSPORT, name or conf.drivers.transport)
    return cls(conf, lambda: make_api(conf))
