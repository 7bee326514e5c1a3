"""``[drivers:transport:wsgi]``: the HTTP server."""

from oslo_config import cfg

GROUP = 'drivers:transport:wsgi'

OPTS = [
    cfg.HostAddressOpt('bind', default='127.0.0.1',
                       help='Address on which the HTTP server listens.'),
    cfg.PortOpt('port', default=8888,
                help='Port on which the HTTP server listens.'),
    cfg.IntOpt('workers', min=1,
               sample_default='<number of CPUs>',
               help='Number of server processes. Defaults to the number of '
                    'CPUs.'),
    cfg.IntOpt('threads', default=1, min=1,
               help='Requests that work at once in each server process. '
                    'With 1, zaqar-server runs them one at a time on the '
                    'process\'s event loop, which spent the least CPU per '
                    'request on every store measured; more runs them on '
                    'that many threads, for a store far away on the '
                    'network, where a request mostly waits for it. '
                    'Requests that wait for messages (long polling) get '
                    'threads of their own, [transport] '
                    'max_waiting_requests of them. Under another WSGI '
                    'server, its own settings decide.'),
    cfg.IntOpt('client_timeout', default=30, min=1, max=60,
               help='Seconds a client has to send the head of a request '
                    '(request line and headers), on a new connection or '
                    'on one kept alive after a response: an idle or slow '
                    'client is then disconnected. Idle connections hold no '
                    'thread. It has as long again for the body, and is '
                    'answered 408 after that. Behind a load balancer that '
                    'keeps connections to the server alive, set it above '
                    'the balancer\'s own idle timeout.'),
    cfg.BoolOpt('access_log', default=False,
                help='Log one line per request at INFO: client address, '
                     'method, path (credentials in the query string '
                     'masked), status, duration in milliseconds and the '
                     'request id the response carries. Written by the '
                     'application, so it applies under any WSGI server, '
                     'zaqar_core.wsgi included. Always on with debug.'),
]


def list_opts() -> list[cfg.Opt]:
    """The transport's options (``[drivers:transport:wsgi]``)."""
    return OPTS
