"""Configuration checks: run right after oslo.config reads the files, so
that a mistake stops a command before it creates, connects or migrates
anything.

Each finding is one line naming the file, ``[group] option`` and the
problem. Findings are refusals or warnings:

* a file that is missing or does not parse, and a value its option's type
  refuses, are refused, always;
* an option or group that neither this server nor upstream Zaqar reads is
  refused in :data:`GUARDED_GROUPS` (a typo there can turn authentication
  off or put data somewhere else), a warning elsewhere; ``[DEFAULT]
  strict_config = false`` turns these refusals into warnings;
* what upstream Zaqar reads and this server does not, what upstream itself
  removed, and old option names are warnings.

"This server reads" means the options of the oslo.config namespaces in
:data:`NAMESPACES` (this project's and those of the libraries it uses,
the list ``etc/oslo-config-generator/zaqar.conf`` gives the sample
generator) with their deprecated names, plus the options of the
keystoneauth1 plugin that ``auth_type`` names in :data:`AUTH_GROUPS`.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import glob
import os
import warnings
from collections.abc import Iterable
from collections.abc import Sequence
from importlib import metadata

from keystoneauth1 import loading
from oslo_config import cfg
from stevedore import named

from zaqar_core.conf import upstream_options

#: The entry-point group oslo-config-generator reads.
OPTS_ENTRY_POINTS = 'oslo.config.opts'

#: keystoneauth1's plugins, by ``auth_type`` name.
AUTH_PLUGIN_ENTRY_POINTS = 'keystoneauth1.plugin'

#: The option namespaces of this server and of the libraries it uses.
NAMESPACES = (
    'zaqar_core',
    'keystonemiddleware.auth_token',
    'oslo.config',          # [DEFAULT] config_source
    'oslo.log',
    'oslo.messaging',       # the bridge and the events bus
    'oslo.middleware.cors',
    'oslo.middleware.http_proxy_to_wsgi',
    'oslo.policy',
)

#: Groups where an unknown option is refused rather than warned about:
#: they choose authentication, the stores and the signing key.
GUARDED_GROUPS = ('DEFAULT', 'drivers', 'keystone_authtoken', 'signed_url')
GUARDED_PREFIXES = ('drivers:',)

#: Groups that hold a keystoneauth1 plugin: their options depend on
#: ``auth_type`` (and ``auth_section`` may move them to another group).
AUTH_GROUPS = ('keystone_authtoken', 'trustee')

#: Upstream groups removed (upstream 2025.2): ignored there too.
IGNORED_GROUPS = {
    'limits:transport': 'removed upstream in 2025.2 (its options are in '
                        '[transport])',
    'drivers:storage:mongodb': 'removed upstream in 2025.2',
    'drivers:storage:redis': 'removed upstream in 2025.2 (use '
                             '[drivers:message_store:redis] and '
                             '[drivers:management_store:redis])',
    'drivers:storage:sqlalchemy': 'removed upstream in 2025.2 (use '
                                  '[drivers:management_store:sqlalchemy])',
}

#: Upstream options removed from groups this release reads.
REMOVED_OPTIONS = {
    ('transport', 'max_message_size'): 'removed upstream in 2025.2; '
                                       'max_messages_post_size applies',
}

#: Why upstream groups this server does not read do nothing here.
UNUSED_GROUP_REASONS = {
    'cache': 'auth_token caches through [keystone_authtoken] '
             'memcached_servers',
    'drivers:management_store:mongodb': 'this release has no MongoDB '
                                        'driver',
    'drivers:message_store:mongodb': 'this release has no MongoDB driver',
    'drivers:message_store:swift': 'this release has no Swift driver',
    'oslo_reports': 'this release installs no oslo.reports handlers',
    'profiler': 'this release does not support OSprofiler',
    'profiler_jaeger': 'this release does not support OSprofiler',
    'profiler_otlp': 'this release does not support OSprofiler',
}

#: Why upstream options this server does not read do nothing here.
UNUSED_OPTION_REASONS = {
    ('DEFAULT', 'log_config'): 'an old oslo.log name; use '
                               'log_config_append',
    ('DEFAULT', 'logdir'): 'an old oslo.log name; use log_dir',
    ('DEFAULT', 'logfile'): 'an old oslo.log name; use log_file',
    ('trustee', 'auth_plugin'): 'an old name; use auth_type',
    ('trustee', 'tenant_id'): 'an old name; use project_id',
    ('trustee', 'tenant_name'): 'an old name; use project_name',
    ('trustee', 'user_name'): 'an old name; use username',
}

#: Parsed files: (path, {group: {option: [values]}}), in reading order.
Parsed = list[tuple[str, dict[str, dict[str, list[str]]]]]


class Kind(enum.Enum):
    """What a finding is about."""

    #: A missing or unparsable file, or a value its option refuses.
    INVALID = 'invalid'
    #: An option or group nothing reads.
    UNKNOWN = 'unknown'
    #: Read by upstream Zaqar, or removed upstream; ignored here.
    UNUSED = 'unused'
    #: An old option name, still read (oslo.config logs these itself
    #: when the option is read).
    DEPRECATED = 'deprecated'


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem, one line; ``refused`` ones stop the command."""

    kind: Kind
    line: str
    refused: bool = False


class ConfigError(Exception):
    """The configuration is refused; ``lines`` says why, one per
    problem."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        super().__init__('; '.join(self.lines))


@dataclasses.dataclass(frozen=True)
class _Known:
    opt: cfg.Opt
    #: ``[group] name`` to write instead, when this is an old name.
    current: str | None = None


# Parsing ---------------------------------------------------------------


def parse(conf: cfg.ConfigOpts, argv: list[str], **kwargs: object) -> None:
    """``conf(argv, **kwargs)``, with oslo.config's file errors turned
    into a :class:`ConfigError` of one line."""
    try:
        conf(argv, **kwargs)
    except cfg.ConfigFilesNotFoundError as exc:
        raise ConfigError([f'{path}: no such config file'
                           for path in exc.config_files]) from None
    except cfg.ConfigFilesPermissionDeniedError as exc:
        raise ConfigError([f'{path}: cannot read this config file'
                           for path in exc.config_files]) from None
    except cfg.ConfigDirNotFoundError as exc:
        raise ConfigError([f'{exc.config_dir}: no such config '
                           f'directory']) from None
    except cfg.ConfigFileParseError as exc:
        raise ConfigError([f'{exc.config_file}: cannot parse: '
                           f'{_one_line(exc.msg)}']) from None
    except cfg.Error as exc:
        raise ConfigError([_one_line(str(exc))]) from None


def config_files(conf: cfg.ConfigOpts) -> list[str]:
    """The configuration files read, in the order oslo.config read
    them."""
    files = list(conf.config_file or [])
    dirs = conf.config_dir or []
    for directory in [dirs] if isinstance(dirs, str) else dirs:
        files += sorted(glob.glob(os.path.join(directory, '*.conf')))
    return [file for file in files if os.path.isfile(file)]


def _read(paths: Iterable[str]) -> Parsed:
    parsed = []
    for path in paths:
        raw: dict[str, dict[str, list[str]]] = {}
        try:
            cfg.ConfigParser(path, raw).parse()
        except (OSError, cfg.ParseError):
            continue  # oslo.config already refused it
        sections: dict[str, dict[str, list[str]]] = {}
        for group, options in raw.items():
            merged = sections.setdefault(_group_name(group), {})
            for option, values in options.items():
                merged.setdefault(option, []).extend(values)
        parsed.append((path, sections))
    return parsed


# What is known ---------------------------------------------------------


def _group_name(group: object) -> str:
    """As oslo.config names groups: ``DEFAULT``, others in lower case."""
    if group is None:
        return 'DEFAULT'
    name = getattr(group, 'name', None) or str(group)
    return name if name == 'DEFAULT' else name.lower()


@functools.cache
def _namespace_opts() -> tuple[tuple[str, cfg.Opt], ...]:
    with warnings.catch_warnings():
        # Importing oslo.messaging warns about eventlet and old crypto,
        # neither of which the server uses; not the operator's business.
        warnings.simplefilter('ignore')
        manager = named.NamedExtensionManager(
            OPTS_ENTRY_POINTS, names=NAMESPACES, invoke_on_load=True)
    return tuple((_group_name(group), opt)
                 for ext in manager for group, opts in ext.obj
                 for opt in opts)


def _auth_opts(auth_type: str | None) -> list[cfg.Opt]:
    """What a keystoneauth1 group may hold with this ``auth_type``; an
    unknown plugin is reported as a bad value, so it adds nothing."""
    opts = [*loading.get_auth_common_conf_options(),
            *loading.get_session_conf_options()]
    if auth_type and auth_type in _auth_plugins():
        opts += loading.get_auth_plugin_conf_options(auth_type)
    return opts


@functools.cache
def _auth_plugins() -> frozenset[str]:
    # Names from the entry points, without importing every plugin (some
    # fail to import for want of optional libraries, noisily).
    return frozenset(entry.name for entry in metadata.entry_points(
        group=AUTH_PLUGIN_ENTRY_POINTS))


def _last(parsed: Parsed, group: str, option: str) -> str | None:
    """The value that wins for ``[group] option``: the last one read."""
    return _last_with_file(parsed, group, option)[1]


def _last_with_file(parsed: Parsed, group: str,
                    option: str) -> tuple[str, str | None]:
    """The file name and value that win for ``[group] option``."""
    found: tuple[str, str | None] = ('', None)
    for path, sections in parsed:
        values = sections.get(group, {}).get(option)
        if values:
            found = (os.path.basename(path), values[-1])
    return found


def _auth_groups(parsed: Parsed) -> dict[str, str | None]:
    """The keystoneauth1 groups and the ``auth_type`` each one uses."""
    groups: dict[str, str | None] = {}
    for group in AUTH_GROUPS:
        auth_type = _last(parsed, group, 'auth_type')
        groups[group] = auth_type
        section = _last(parsed, group, 'auth_section')
        if section:
            groups[_group_name(section)] = (
                _last(parsed, _group_name(section), 'auth_type')
                or auth_type)
    return groups


def known_options(parsed: Parsed) -> dict[str, dict[str, _Known]]:
    """Every option name this server reads, by group."""
    known: dict[str, dict[str, _Known]] = {}
    pairs = list(_namespace_opts())
    for group, auth_type in _auth_groups(parsed).items():
        pairs += [(group, opt) for opt in _auth_opts(auth_type)]
    for group, opt in pairs:
        names = known.setdefault(group, {})
        names.setdefault(opt.dest, _Known(opt))
        for old in opt.deprecated_opts:
            old_group = _group_name(old.group) if old.group else group
            old_name = (old.name or opt.dest).replace('-', '_')
            known.setdefault(old_group, {}).setdefault(
                old_name, _Known(opt, f'[{group}] {opt.dest}'))
    return known


# Checking --------------------------------------------------------------


def check(conf: cfg.ConfigOpts) -> list[Finding]:
    """What the configuration files of ``conf`` set that is unknown,
    unused or invalid, one finding per problem, in file order."""
    parsed = _read(config_files(conf))
    known = known_options(parsed)
    strict = _strict(parsed)
    findings = []
    for path, sections in parsed:
        name = os.path.basename(path)
        for group, options in sections.items():
            if options:
                findings += _check_group(name, group, options, known, strict)
    findings += _check_values(parsed, known)
    return findings


def _strict(parsed: Parsed) -> bool:
    # Read from the files rather than from conf: a bad value must not
    # stop the checks that report it.
    value = _last(parsed, 'DEFAULT', 'strict_config')
    try:
        return True if value is None else cfg.types.Boolean()(value)
    except ValueError:
        return True


def _guarded(group: str) -> bool:
    # Case-blind: oslo.config reads [DEFAULT] only so spelled, so a
    # [default] section is a group nothing reads, and as dangerous.
    group = group.lower()
    return group in {name.lower() for name in GUARDED_GROUPS} or \
        group.startswith(GUARDED_PREFIXES)


def _check_group(name: str, group: str, options: dict[str, list[str]],
                 known: dict[str, dict[str, _Known]],
                 strict: bool) -> list[Finding]:
    upstream = upstream_options.OPTIONS
    version = upstream_options.UPSTREAM_VERSION
    refused = strict and _guarded(group)
    if group in IGNORED_GROUPS:
        return [Finding(Kind.UNUSED, f'{name}: [{group}] is ignored: '
                        f'{IGNORED_GROUPS[group]}.')]
    if group not in known and group in upstream:
        why = UNUSED_GROUP_REASONS.get(group)
        return [Finding(Kind.UNUSED,
                        f'{name}: [{group}] is accepted for compatibility '
                        f'with upstream Zaqar {version}, has no effect here'
                        + (f': {why}.' if why else '.'))]
    if group not in known:
        hint = _closest(group, [*known, *upstream], lower=True)
        return [Finding(Kind.UNKNOWN,
                        f'{name}: [{group}] is not a known group'
                        + (f' (did you mean [{hint}]?)' if hint else ''),
                        refused)]
    findings = []
    for option in options:
        entry = known[group].get(option)
        if entry and entry.current:
            findings.append(Finding(
                Kind.DEPRECATED, f'{name}: [{group}] {option} is a '
                                 f'deprecated name; use {entry.current}.'))
        elif entry:
            continue
        elif (group, option) in REMOVED_OPTIONS:
            findings.append(Finding(
                Kind.UNUSED, f'{name}: [{group}] {option} is ignored: '
                f'{REMOVED_OPTIONS[group, option]}.'))
        elif option in upstream.get(group, ()):
            why = UNUSED_OPTION_REASONS.get((group, option))
            findings.append(Finding(
                Kind.UNUSED,
                f'{name}: [{group}] {option} is accepted for compatibility '
                f'with upstream Zaqar {version}, has no effect here'
                + (f': {why}.' if why else '.')))
        else:
            hint = _closest(option, [*known[group], *upstream.get(group, ())])
            findings.append(Finding(
                Kind.UNKNOWN,
                f'{name}: [{group}] {option} is not a known option'
                + (f' (did you mean {hint}?)' if hint else ''), refused))
    return findings


def _closest(word: str, candidates: Iterable[str],
             lower: bool = False) -> str | None:
    """The candidate nearest ``word``; '-' and '_' (and, for groups,
    case) count as the same."""
    def key(text: str) -> str:
        text = text.replace('-', '_')
        return text.lower() if lower else text

    by_key = {key(candidate): candidate for candidate in candidates}
    matches = difflib.get_close_matches(key(word), list(by_key), n=1,
                                        cutoff=0.6)
    return by_key[matches[0]] if matches else None


def _check_values(parsed: Parsed,
                  known: dict[str, dict[str, _Known]]) -> list[Finding]:
    """Convert each value that takes effect as its option's type would
    when read. Done on the raw text rather than through ``conf``: reading
    ``conf`` would log deprecations before logging is set up."""
    winners: dict[tuple[str, str], tuple[str, str, list[str]]] = {}
    for path, sections in parsed:
        for group, options in sections.items():
            for option, values in options.items():
                entry = known.get(group, {}).get(option)
                if entry:
                    winners[group, option] = (path, option, values)
    findings = []
    for (group, option), (path, _name, values) in winners.items():
        entry = known[group][option]
        # A multi-valued option keeps every line; others keep the last.
        for value in values if entry.opt.multi else values[-1:]:
            problem = _problem(entry.opt, value)
            if problem:
                shown = '****' if entry.opt.secret else value
                findings.append(Finding(
                    Kind.INVALID,
                    f'{os.path.basename(path)}: [{group}] {option} = '
                    f'{shown}: {problem}', refused=True))
    for group, auth_type in _auth_groups(parsed).items():
        if auth_type and auth_type not in _auth_plugins():
            hint = _closest(auth_type, _auth_plugins())
            name = _last_with_file(parsed, group, 'auth_type')[0]
            findings.append(Finding(
                Kind.INVALID,
                f'{name}: [{group}] auth_type = {auth_type}: no such '
                f'keystoneauth1 plugin'
                + (f' (did you mean {hint}?)' if hint else ''),
                refused=True))
    return findings


def _problem(opt: cfg.Opt, value: str) -> str | None:
    """Why ``opt`` refuses ``value``, in a few words; None if it takes
    it."""
    if '$' in value:
        return None  # a substitution, known only once conf resolves it
    try:
        opt.type(value)  # one line's value, for multi-valued ones too
    except ValueError as exc:
        return _explain(opt.type, exc)
    return None


def _explain(kind: object, exc: ValueError) -> str:
    text = _one_line(str(exc))
    choices = getattr(kind, 'choices', None)
    if choices:
        return 'must be one of ' + ', '.join(
            repr(choice) for choice in choices)
    if isinstance(kind, cfg.types.Port):
        return 'not a valid port number (0-65535)'
    if isinstance(kind, cfg.types.Boolean):
        return 'not a boolean (true or false)'
    if 'invalid literal for int' in text:
        return 'not an integer'
    if 'could not convert string to float' in text:
        return 'not a number'
    return text[:1].lower() + text[1:]


def _one_line(text: str) -> str:
    return ' '.join(text.split())
