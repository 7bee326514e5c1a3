"""``zaqar-bridge``: post OpenStack notifications into project queues.

Runs until SIGTERM or SIGINT, then finishes the notifications in hand.
Run as many as needed: bridges with the same ``[bridge] pool`` share the
work.
"""

import signal
import sys
import threading

from oslo_log import log

from zaqar_core.cmd import common

LOG = log.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    conf = common.parse_config(argv)
    # Imported once parse_config has set up logging and filtered
    # warnings (cmd/logs.py): oslo.messaging's dependencies warn as they
    # load.
    import oslo_messaging

    from zaqar_core import bootstrap
    from zaqar_core.bridge import rules
    from zaqar_core.bridge import service
    from zaqar_core.storage import errors as storage_errors

    setup_errors = (bootstrap.BootstrapError, storage_errors.StorageError,
                    rules.ConfigError, oslo_messaging.MessagingException)
    try:
        # Before touching any store: a typo should cost nothing.
        rules.check_template(conf.bridge.queue_name)
        service.check_ttl(conf)
        bootstrap.resolve_embedded_defaults(conf)
        bootstrap.upgrade_embedded_stores(conf)
        bridge = service.Bridge(conf)
    except setup_errors as exc:
        print(f'zaqar-bridge: {exc}', file=sys.stderr)
        return 1
    stopping = threading.Event()
    consuming = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        if not consuming.is_set():
            # Still connecting to the bus (which retries forever):
            # nothing in hand to finish.
            raise SystemExit(0)
        # Only flag it: stopping the listener from a signal handler
        # could deadlock on locks the interrupted code holds.
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        bridge.start()
        consuming.set()
    except SystemExit:
        # Stopped before consuming was flagged, mostly while connecting:
        # close what is open (the broker requeues what it had sent).
        bridge.close()
        LOG.info('zaqar-bridge stopped while connecting to the bus')
        raise
    while not stopping.wait(1.0):
        pass
    LOG.info('zaqar-bridge stopping')
    bridge.stop()
    LOG.info('zaqar-bridge stopped')
    return 0


if __name__ == '__main__':
    sys.exit(main())
