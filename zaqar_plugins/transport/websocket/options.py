"""``[drivers:transport:websocket]``: the WebSocket server.

``bind``, ``port``, ``external_port``, ``notification_bind`` and
``notification_port`` are upstream's; this server pushes through the
data store instead of an HTTP back-channel, so the last two are accepted
and unused.
"""

from oslo_config import cfg

GROUP = 'drivers:transport:websocket'

OPTS = [
    cfg.HostAddressOpt('bind', default='127.0.0.1',
                       help='Address on which the WebSocket server '
                            'listens.'),
    cfg.PortOpt('port', default=9000,
                help='Port on which the WebSocket server listens.'),
    cfg.PortOpt('external_port',
                help='Port clients reach the server on, when a proxy '
                     'forwards another one: the opening handshake is '
                     'refused when its Host header names another port.'),
    cfg.HostAddressOpt('notification_bind',
                       deprecated_for_removal=True,
                       deprecated_reason='Pushes travel through the data '
                                         'store; there is no back-channel.',
                       help='Unused (upstream\'s push back-channel).'),
    cfg.PortOpt('notification_port', default=0,
                deprecated_for_removal=True,
                deprecated_reason='Pushes travel through the data store; '
                                  'there is no back-channel.',
                help='Unused (upstream\'s push back-channel).'),
    cfg.IntOpt('workers', min=1,
               sample_default='<number of CPUs>',
               help='Number of server processes. Defaults to the number of '
                    'CPUs.'),
    cfg.IntOpt('threads', default=4, min=1,
               help='Threads per server process that run requests (storage '
                    'and Keystone calls block them; the connections, held '
                    'by one event loop, never wait on them). More threads '
                    'overlap more storage round trips but contend for '
                    'the interpreter: 8 cost 20% more CPU per request than '
                    '2 to 4.'),
    cfg.IntOpt('max_frame_size', default=1024 * 1024, min=65536,
               help='Largest request (a whole message of the WebSocket '
                    'protocol) in bytes; at least twice [transport] '
                    'max_messages_post_size and max_queue_metadata. '
                    'Requests over the API\'s own limits but under this '
                    'one get a 400 reply; larger ones close the connection '
                    '(1009).'),
    cfg.IntOpt('max_send_buffer', default=4 * 1024 * 1024, min=65536,
               help='Bytes of replies and pushes a connection may have '
                    'waiting for a slow reader; past that the server '
                    'closes it (1008).'),
    cfg.FloatOpt('ping_interval', default=30.0, min=0,
                 help='Seconds between pings to an idle client (0: none); '
                      'a client that does not answer within as long is '
                      'disconnected.'),
]


def list_opts() -> list[cfg.Opt]:
    """The transport's options (``[drivers:transport:websocket]``)."""
    return OPTS
