"""Entry point for ``oslo-config-generator`` (``oslo.config.opts``)."""

from oslo_middleware import cors

from zaqar_core import conf as zconf


def list_opts() -> list[tuple[str | None, list]]:
    """Every option of this project, grouped as ``(group, opts)`` pairs."""
    result: dict = {}
    for module in zconf.MODULES:
        for group, opts in module.list_opts().items():
            result.setdefault(group, []).extend(opts)
    return sorted(result.items(), key=lambda item: item[0] or '')


def set_defaults() -> None:
    """Our defaults for library options (``oslo.config.opts.defaults``)."""
    cors.set_defaults(
        allow_headers=['X-Auth-Token', 'X-Identity-Status', 'X-Roles',
                       'X-Service-Catalog', 'X-User-Id', 'X-Tenant-Id',
                       'X-OpenStack-Request-ID', 'X-Trace-Info',
                       'X-Trace-HMAC', 'Client-id'],
        expose_headers=['X-Auth-Token', 'X-Subject-Token',
                        'X-Service-Token', 'X-OpenStack-Request-ID'],
        allow_methods=['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'],
    )
