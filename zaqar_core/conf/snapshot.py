"""Option values read once per change of the configuration, not per read.

Reading an option through oslo.config costs a failed attribute lookup, a
``__getattr__`` in Python and oslo.config's own cache lookup; a message
post read about twenty options, a tenth of its instructions. A
:class:`Snapshot` keeps the values it read as plain attributes, and drops
them when oslo.config drops its own cached values, which it does on every
change (an override, a default, a reload, a mutation, a new option): it
leaves a mark of its own in that cache and looks for it on each
:meth:`Snapshot.values`.
"""

from __future__ import annotations

from typing import Any

from oslo_config import cfg

# oslo.config's cache of option values, cleared on every change (private:
# tests pin that clearing it is still what a change does).
_ORACLE = '_ConfigOpts__cache'


class Values:
    """What ``source`` (a ConfigOpts or one of its groups) answered, kept:
    read as the source is (``values.transport.max_message_ttl``,
    ``values.transport['max_message_ttl']``)."""

    def __init__(self, source: Any) -> None:
        self.__dict__['_source'] = source

    def __getattr__(self, name: str) -> Any:
        # Only for names not read yet: the rest are plain attributes.
        value = getattr(self._source, name)
        if isinstance(value, cfg.ConfigOpts.GroupAttr):
            value = Values(value)
        self.__dict__[name] = value
        return value

    def __getitem__(self, name: str) -> Any:
        return getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError('option values are set on the configuration')


class Snapshot:
    """The option values of ``conf``, as it is now, read once per change."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf
        self._mark = object()  # its own: other snapshots refresh apart
        self._values = Values(conf)

    def values(self) -> Values | cfg.ConfigOpts:
        """The values, as the configuration is now (the configuration
        itself, read through, if oslo.config keeps no cache here)."""
        cache = getattr(self._conf, _ORACLE, None)
        if not isinstance(cache, dict):
            return self._conf
        values = self._values
        if self._mark not in cache:
            # Changed since (or first use): read afresh. Marked after the
            # new values exist, so a reader racing this sees old or new.
            values = self._values = Values(self._conf)
            cache[self._mark] = True
        return values
