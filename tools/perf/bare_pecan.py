"""The framework ceiling: a bare Pecan app that answers any request with
201 and a small JSON body, served exactly as ``zaqar-server`` serves the
Zaqar API (same server, same ``[drivers:transport:wsgi]`` options)::

    python tools/perf/bare_pecan.py --config-file zaqar.conf
    wrk -t2 -c16 -d10s --latency -s tools/perf/post.lua \\
        http://127.0.0.1:8888/v2/queues/q/messages

Zaqar's requests per second over this one's is the share of the framework
ceiling the API reaches.
"""

import pecan

from zaqar_core.cmd import common


class Root:
    @pecan.expose('json')
    def _default(self, *remainder: str) -> dict:
        pecan.response.status = 201
        return {'status': 'created'}


def make_app() -> pecan.Pecan:
    return pecan.Pecan(Root())


def main(argv: list[str] | None = None) -> None:
    # Imported here: hotpath.py uses make_app() on trees without it.
    from zaqar_plugins.transport.wsgi import server
    server.serve(common.parse_config(argv), make_app)


if __name__ == '__main__':
    main()
