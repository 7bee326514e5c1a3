"""The WSGI application, for operators who run their own WSGI server::

    uwsgi --ini etc/uwsgi.ini    # module = zaqar_core.wsgi:application
    gunicorn -w 4 -b 127.0.0.1:8888 zaqar_core.wsgi:application

It is the app ``zaqar-server`` serves: the same stores, API and middleware
(Keystone auth included), the same garbage-collection thread, and on an
embedded store the same schema upgrade at start. The transport is
``[drivers] transport`` if it is a WSGI application, else the installed
transport that is. Configuration
comes from the files listed in ``ZAQAR_CONFIG_FILE`` (comma-separated),
else from oslo.config's usual search (``~/.zaqar/zaqar.conf``,
``/etc/zaqar/zaqar.conf``, ...). ``[drivers:transport:wsgi]`` does not
apply: the WSGI server's own settings do.

Importing this module builds the app, storage connections included, so
import it in each worker process (uWSGI ``lazy-apps = true``, gunicorn
without ``--preload``): connections must not cross a fork.
"""

import ctypes
import os
from typing import Any

from oslo_config import cfg

from zaqar_core import bootstrap
from zaqar_core import plugins
from zaqar_core.cmd import common
from zaqar_core.transport.base import WsgiDriver

CONFIG_ENV = 'ZAQAR_CONFIG_FILE'


def config_files() -> list[str]:
    """The files ``ZAQAR_CONFIG_FILE`` lists, in order."""
    return [path.strip() for path in _getenv(CONFIG_ENV).split(',')
            if path.strip()]


def _getenv(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        # uWSGI from the pyuwsgi wheel starts Python before it applies its
        # "env = NAME=value" settings, so os.environ (copied at start)
        # lacks them; the process environment has them.
        libc_getenv = ctypes.CDLL(None).getenv
        libc_getenv.restype = ctypes.c_char_p
        value = (libc_getenv(name.encode()) or b'').decode()
    return value


def load_app(files: list[str] | None = None) -> Any:
    """The WSGI app configured by ``files`` (default: as documented
    above).

    Raises:
        ConfigError: a configuration ``zaqar-server`` would refuse (see
            :mod:`zaqar_core.conf.checking`), before anything is created
            or connected; its message is one line.
        BootstrapError, StorageError: as ``zaqar-server`` would stop on.
        RuntimeError: in the uWSGI master (``lazy-apps`` off).
    """
    _refuse_uwsgi_master()
    argv = []
    for path in config_files() if files is None else files:
        argv += ['--config-file', path]
    # Searched under zaqar-server's name, not the WSGI server's. Raised
    # rather than exiting: the WSGI server reports it in its own way.
    conf = common.load_config(argv, prog='zaqar-server')
    bootstrap.resolve_embedded_defaults(conf)
    bootstrap.upgrade_embedded_stores(conf)
    transport = bootstrap.load_transport(conf, wsgi_transport(conf))
    return transport.app()


def wsgi_transport(conf: cfg.ConfigOpts) -> str:
    """The transport whose app this is: ``[drivers] transport`` if it is
    a WSGI application, else the first installed one that is.

    Raises:
        BootstrapError: no installed transport is.
    """
    for name, cls in bootstrap.driver_classes(plugins.TRANSPORT,
                                              conf.drivers.transport):
        if issubclass(cls, WsgiDriver):
            return name
    raise bootstrap.BootstrapError(
        'No installed transport is a WSGI application.')


def _refuse_uwsgi_master() -> None:
    """Under uWSGI, build the app in the workers only: in the master, its
    storage connections would be shared by every worker forked after."""
    try:
        import uwsgi  # importable only inside uWSGI
    except ImportError:
        return
    if uwsgi.worker_id() == 0:
        raise RuntimeError('zaqar_core.wsgi must load in each worker: set '
                           '"lazy-apps = true" in the uWSGI configuration.')


application = load_app()
