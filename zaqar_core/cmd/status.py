"""``zaqar-status upgrade check``: is this deployment ready for this
release?

Run it with the configuration the servers will use, after installing the
new release and before restarting them::

    zaqar-status --config-file /etc/zaqar/zaqar.conf upgrade check [--json]

It reads the stores' schema versions and the configuration files and
changes nothing. Exit status (oslo.upgradecheck's): 0 every check
passed, 1 at least one warning (look, the upgrade may be fine), 2 at
least one failure (fix it first), 255 a check crashed.

Checks:

``Storage schema``
    The store drivers ``[drivers]`` names are installed, each store
    answers within a second (as the server checks when it starts), and
    each store with a schema is at this release's newest migration. A
    database server that is behind is a failure: run ``zaqar-manage db
    upgrade``. An embedded database that is behind is a warning, since
    the server upgrades it when it starts. A store that does not exist
    yet (an embedded database the server creates) is not created.
``Pools``
    With ``[DEFAULT] pooling``: a pool is registered, unless ``[pooling:
    catalog] enable_virtual_pool`` keeps new queues in the message store
    (a warning otherwise: new queues would be refused); each pool answers
    (a warning for one that does not: its queues answer 503); each pool
    with a schema is at this release's newest (a failure otherwise:
    ``zaqar-manage db upgrade`` upgrades the pools too).
``Policy file``
    The policy file and ``policy.d`` files, if present, are YAML (JSON
    policy files are deprecated by oslo.policy), and every rule they set
    is one this release defines or an alias that other rules refer to. A
    leftover ``policy.json`` that is no longer read is reported too.
``Configuration options``
    What the servers would refuse (an unknown option or group in
    ``[DEFAULT]``, ``[drivers]``, ``[drivers:*]``, ``[keystone_authtoken]``
    or ``[signed_url]``) is a failure; unknown options elsewhere, upstream
    Zaqar options that are accepted here but do nothing, that were
    removed, or that ask for something this release does not do are
    warnings (see :mod:`zaqar_core.conf.checking`).
``Notices``
    What a server says once when it starts about a configuration that
    works but does less than it seems to (:mod:`zaqar_core.notices`).

A missing or unparsable configuration file, or a value its option
refuses, is told in one line per problem on stderr, with exit status 2,
before any check runs: the servers would not start with it either.
"""

from __future__ import annotations

import json
import os
import re
import sys
import warnings

import yaml
from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_upgradecheck import upgradecheck

from zaqar_core import conf as zconf
from zaqar_core import plugins
from zaqar_core import policies
from zaqar_core import uris
from zaqar_core.cmd import common
from zaqar_core.conf import checking
from zaqar_core.conf import opts
from zaqar_core.storage import base as storage_base
from zaqar_core.storage import checks

with warnings.catch_warnings():
    # The drivers' dependencies warn as they load (eventlet, old crypto):
    # nothing an operator running a check can act on.
    warnings.simplefilter('ignore')
    from zaqar_core import bootstrap
    from zaqar_core import notices

Code = upgradecheck.Code
Result = upgradecheck.Result

#: ``rule:NAME`` references in a check string.
RULE_REFERENCE = re.compile(r'\brule:([^\s()]+)')

#: The upstream message pipeline stage that turned notifications on; they
#: are always on here.
NOTIFIER_STAGE = 'zaqar.notification.notifier'

#: Pooling with no way to register a pool.
POOLING_WITHOUT_ADMIN = (
    '[DEFAULT] pooling = true without admin_mode = true: pools are '
    'registered through /v2/pools, which only admin_mode serves; with no '
    'pool, new queues are refused (503) unless [pooling:catalog] '
    'enable_virtual_pool = true keeps them in the message store.')

#: Pooling, and nowhere for a new queue to go.
NO_POOL = ('[DEFAULT] pooling = true and no pool is registered: new queues '
           'are refused (503) until one is ("openstack messaging pool '
           'create"), or [pooling:catalog] enable_virtual_pool = true keeps '
           'them in the message store.')

#: Upstream store drivers this release does not have.
UPSTREAM_ONLY_STORES = ('mongodb', 'swift')

class _Findings:
    """What one check found: the worst code wins, every detail is kept."""

    def __init__(self) -> None:
        self.code = Code.SUCCESS
        self.details: list[str] = []

    def add(self, code: Code, detail: str) -> None:
        self.code = max(self.code, code)
        self.details.append(detail)

    def result(self) -> Result:
        return Result(self.code, ' '.join(self.details) or None)


class Checks(upgradecheck.UpgradeCommands):
    """The upgrade checks of zaqar-core, on one loaded configuration."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__()
        self.conf = conf

    # Storage schema ----------------------------------------------------

    def _check_schema(self) -> Result:
        conf = self.conf
        found = _Findings()
        _check_store_drivers(found, conf)
        if found.code == Code.FAILURE:
            return found.result()
        state = os.path.abspath(conf.state_path)
        if os.path.isdir(state):
            # Only then: resolving the default would create the directory,
            # and a check changes nothing.
            bootstrap.resolve_embedded_defaults(conf)
        for label, kinds in _stores(conf):
            kind = kinds[0]
            cls = bootstrap.driver_class(kind, kind.chosen(conf))
            missing = cls.absent(conf, kind.chosen_group(conf))
            if missing:
                # Checked before connecting, which would create it.
                found.add(Code.SUCCESS,
                          f'The {label}: no database at {missing} yet; '
                          f'the server creates it and its schema when it '
                          f'first starts.')
                continue
            try:
                driver = bootstrap.open_store(conf, kind)
            except Exception as exc:  # whatever the database library raises
                found.add(Code.FAILURE, f'The {label}: cannot open it: '
                                        f'{_first_line(exc)}')
                continue
            try:
                _check_driver_schema(found, label, kind, driver, conf)
            finally:
                driver.close()
        return found.result()

    # Pools -------------------------------------------------------------

    def _check_pools(self) -> Result:
        conf = self.conf
        found = _Findings()
        if not conf.pooling:
            found.add(Code.SUCCESS, 'Pooling is off.')
            return found.result()
        try:
            pools = _registered_pools(conf)
        except Exception as exc:  # whatever the database library raises
            # The storage schema check says why.
            found.add(Code.WARNING, f'Cannot read the pools: '
                                    f'{_first_line(exc)}')
            return found.result()
        if not pools:
            if conf['pooling:catalog'].enable_virtual_pool:
                found.add(Code.SUCCESS, 'No pool is registered: new queues '
                          'go to the message store (enable_virtual_pool).')
            else:
                found.add(Code.WARNING, NO_POOL)
            return found.result()
        answering = 0
        for pool in pools:
            label = f'Pool {pool.name} ({uris.redacted(pool.uri)})'
            try:
                driver = bootstrap.open_store_at(
                    conf, plugins.MESSAGE_STORE, pool.uri, pool.options)
            except Exception as exc:  # whatever the driver raises
                found.add(Code.WARNING, f'{label} cannot be opened: '
                                        f'{_first_line(exc)}')
                continue
            try:
                state = driver.check(bootstrap.CHECK_TIMEOUT)
            finally:
                driver.close()
            if state.needs_upgrade:
                found.add(Code.FAILURE,
                          f'{label}: {state.problem}. Run "zaqar-manage '
                          f'--config-file <zaqar.conf> db upgrade", which '
                          f'upgrades the pools too.')
            elif state.problem:
                found.add(Code.WARNING, f'{label} {state.problem}: its '
                                        f'queues answer 503.')
            else:
                answering += 1
        found.add(Code.SUCCESS, f'{answering} of {len(pools)} pool(s) '
                                f'answer with a current schema.')
        return found.result()

    # Policy file -------------------------------------------------------

    def _check_policy(self) -> Result:
        conf = self.conf
        policy_opts.set_defaults(conf, 'policy.yaml')
        found = _Findings()
        policy_file = conf.oslo_policy.policy_file
        path = conf.find_file(policy_file)
        files = [path] if path else []
        if path is None and os.path.basename(policy_file) == 'policy.yaml':
            legacy = conf.find_file(os.path.join(
                os.path.dirname(policy_file), 'policy.json'))
            if legacy:
                found.add(Code.WARNING,
                          f'{legacy} is not read: only {policy_file} is. '
                          f'Convert it with oslopolicy-convert-json-to-yaml '
                          f'if its rules are still wanted, and remove it.')
        for directory in conf.oslo_policy.policy_dirs:
            found_dir = conf.find_file(directory)
            if found_dir and os.path.isdir(found_dir):
                files += sorted(
                    os.path.join(found_dir, name)
                    for name in os.listdir(found_dir)
                    if not name.startswith('.')
                    and os.path.isfile(os.path.join(found_dir, name)))
        known = {rule.name: rule.check_str for rule in policies.list_rules()}
        for file in files:
            _check_policy_file(found, file, known)
        if not files and found.code == Code.SUCCESS:
            found.add(Code.SUCCESS, 'No policy file: the defaults in code '
                                    'apply.')
        return found.result()

    # Configuration options ---------------------------------------------

    def _check_options(self) -> Result:
        conf = self.conf
        found = _Findings()
        if conf.pooling and not conf.admin_mode:
            found.add(Code.WARNING, POOLING_WITHOUT_ADMIN)
        if conf.enable_deprecated_api_versions:
            found.add(Code.WARNING,
                      '[DEFAULT] enable_deprecated_api_versions has no '
                      'effect (only the v2 API exists); remove it.')
        if conf.unreliable:
            found.add(Code.WARNING,
                      '[DEFAULT] unreliable has no effect (it relaxed '
                      'MongoDB durability checks; there is no MongoDB '
                      'driver); remove it.')
        for option in ('queue_pipeline', 'message_pipeline',
                       'claim_pipeline', 'subscription_pipeline',
                       'topic_pipeline'):
            stages = conf.storage[option]
            if not stages:
                continue
            if set(stages) == {NOTIFIER_STAGE}:
                found.add(Code.WARNING,
                          f'[storage] {option} = {NOTIFIER_STAGE} has no '
                          f'effect: notifications are always on; remove '
                          f'it.')
            else:
                found.add(Code.WARNING,
                          f'[storage] {option} is accepted but not used: '
                          f'pipeline stages ({", ".join(stages)}) are not '
                          f'loaded and will not run.')
        if conf.transport.message_encryption_algorithms == 'RSA':
            found.add(Code.FAILURE,
                      '[transport] message_encryption_algorithms = RSA is '
                      'not implemented: posts to queues with '
                      '_enable_encrypt_messages would be refused. Use '
                      'AES256.')
        transports = plugins.TRANSPORT.names()
        if conf.drivers.transport not in transports:
            found.add(Code.WARNING,
                      f'[drivers] transport = {conf.drivers.transport} is '
                      f'not installed (available: '
                      f'{", ".join(sorted(transports))}): zaqar-server will '
                      f'not start with it. The WSGI application '
                      f'(zaqar_core.wsgi) serves HTTP whatever it says.')
        for finding in checking.check(conf):
            found.add(Code.FAILURE if finding.refused else Code.WARNING,
                      finding.line)
        return found.result()

    # Notices -----------------------------------------------------------

    def _check_notices(self) -> Result:
        found = _Findings()
        for line in notices.collect(self.conf,
                                    bootstrap.load_notifiers(self.conf)):
            found.add(Code.WARNING, line)
        return found.result()

    _upgrade_checks = (
        ('Storage schema', _check_schema),
        ('Pools', _check_pools),
        ('Policy file', _check_policy),
        ('Configuration options', _check_options),
        ('Notices', _check_notices),
    )


def _check_store_drivers(found: _Findings, conf: cfg.ConfigOpts) -> None:
    for kind in (plugins.MESSAGE_STORE, plugins.MANAGEMENT_STORE):
        name = kind.chosen(conf)
        known = kind.names()
        if name in known:
            continue
        hint = (f' (upstream\'s {name} driver is not part of this '
                f'release; see the upgrade guide)'
                if name in UPSTREAM_ONLY_STORES else '')
        found.add(Code.FAILURE,
                  f'[drivers] {kind.option} = {name} is not installed '
                  f'(available: {", ".join(known) or "none"}){hint}; the '
                  f'servers will not start.')


def _registered_pools(conf: cfg.ConfigOpts) -> list:
    """The pools the management store holds (none when the store does not
    exist yet: a check creates nothing)."""
    kind = plugins.MANAGEMENT_STORE
    name = kind.chosen(conf)
    if name not in kind.names() or bootstrap.driver_class(kind, name).absent(
            conf, kind.chosen_group(conf)):
        return []
    control = bootstrap.open_store(conf, kind)
    try:
        pools: list = []
        while page := control.pool_controller.list(
                pools[-1].name if pools else None, 100):
            pools += page
        return pools
    finally:
        control.close()


def _stores(conf: cfg.ConfigOpts
            ) -> list[tuple[str, tuple[plugins.Kind, ...]]]:
    """(label, kinds) of each store to check: one entry when both kinds
    are one store (the same driver at the same URI)."""
    places = [(kind.chosen(conf), uris.store_uri(conf, kind))
              for kind in plugins.STORES]
    if places[0] == places[1]:
        return [('message and management store', plugins.STORES)]
    return [(kind.label, (kind,)) for kind in plugins.STORES]


def _check_driver_schema(found: _Findings, label: str, kind: plugins.Kind,
                         driver: storage_base.DriverBase,
                         conf: cfg.ConfigOpts) -> None:
    state = driver.check(bootstrap.CHECK_TIMEOUT)
    if state.problem and not state.needs_upgrade:
        # The server would refuse to start: the same line.
        found.add(Code.FAILURE, checks.describe(checks.Report(
            label, checks.uri_of(conf, kind.label), state), conf))
        return
    head = driver.schema_head()
    if head is None:
        found.add(Code.SUCCESS, f'The {label}: no schema to migrate.')
        return
    try:
        version = driver.schema_version()
    except Exception as exc:  # whatever the database library raises
        found.add(Code.FAILURE, f'The {label}: cannot read the schema '
                                f'version: {_first_line(exc)}')
        return
    if version == head:
        found.add(Code.SUCCESS, f'The {label}: schema at {head}.')
        return
    at = f'at {version}' if version else 'empty'
    if driver.auto_upgrade:
        found.add(Code.WARNING,
                  f'The {label}: schema {at}, this release needs {head}. '
                  f'The server upgrades this embedded database when it '
                  f'starts; "zaqar-manage db upgrade" does it now.')
    else:
        found.add(Code.FAILURE,
                  f'The {label}: schema {at}, this release needs {head}. '
                  f'Run "zaqar-manage --config-file <zaqar.conf> db '
                  f'upgrade" before starting the servers.')


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _check_policy_file(found: _Findings, path: str,
                       known: dict[str, str]) -> None:
    try:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        found.add(Code.FAILURE, f'{path} cannot be read ({exc}).')
        return
    try:
        rules = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        found.add(Code.FAILURE, f'{path} is not valid YAML ({exc}); '
                                f'policy checks would fail.')
        return
    if rules is None:
        return
    if not isinstance(rules, dict) or \
            not all(isinstance(v, str) for v in rules.values()):
        found.add(Code.FAILURE, f'{path} must map rule names to check '
                                f'strings.')
        return
    if _is_json(text):
        found.add(Code.WARNING,
                  f'{path} is JSON, which oslo.policy deprecated: convert '
                  f'it with oslopolicy-convert-json-to-yaml.')
    defined = set(known) | set(rules)
    referenced = {name for check in [*known.values(), *rules.values()]
                  for name in RULE_REFERENCE.findall(check)}
    unknown = sorted(set(rules) - set(known) - referenced)
    if unknown:
        found.add(Code.WARNING,
                  f'{path} sets rules this release does not define, which '
                  f'have no effect: {", ".join(unknown)}.')
    undefined = sorted({name for check in rules.values()
                        for name in RULE_REFERENCE.findall(check)}
                       - defined)
    if undefined:
        found.add(Code.WARNING,
                  f'{path} refers to rules defined nowhere, which always '
                  f'deny: {", ".join(undefined)}.')


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    """``zaqar-status``."""
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    opts.set_defaults()
    # upgradecheck.main's own steps, with oslo.config's errors and the
    # values the servers would refuse told in one line each.
    upgradecheck.register_cli_options(conf, Checks(conf))
    try:
        checking.parse(conf, sys.argv[1:] if argv is None else argv,
                       project=common.PROJECT)
        invalid = [finding.line for finding in checking.check(conf)
                   if finding.kind is checking.Kind.INVALID]
        if invalid:
            raise checking.ConfigError(invalid)
    except checking.ConfigError as exc:
        for line in exc.lines:
            print(f'zaqar-status: {line}', file=sys.stderr)
        return common.CONFIG_REFUSED
    # Where UpgradeCommands.check reads --json from.
    upgradecheck.CONF = conf
    return upgradecheck.run(conf)


if __name__ == '__main__':
    sys.exit(main())
