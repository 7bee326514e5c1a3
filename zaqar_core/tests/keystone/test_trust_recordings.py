"""The Keystone recordings of the trust notifier's unit tests, checked
against the stack's live Keystone.

``zaqar_plugins/tests/unit/notifier/test_trust.py`` runs the trust+http
notifier against Keystone replies that ``KeystoneReplay`` replays from
``zaqar_plugins/tests/unit/notifier/keystone/*.json``. Here the same
notifier makes the same requests to the real Keystone: through a loopback
proxy that serves it under ``/identity``, as the recordings do (and
rewrites the URLs of its replies to match), it creates a trust from demo
to the stack's ``[trustee]`` user, gets trust-scoped tokens with it, is
refused a trust for someone else, and is refused a token once the trust
is deleted. Each request is labelled with the recording the replay server
would answer it with (the same method, path and body pattern, with the
recorded ids replaced by the live ones; first match wins, as there), and
each recording is checked against the live replies to the requests it
answers, where it matters to the notifier:

* the status code;
* the JSON body's structure: the same keys at every level and the same
  types (lists: every element like the recorded ones), ignoring values
  except the few that say what happened (:data:`VALUE_KEYS`: ``status``,
  ``methods``, ``impersonation``, an error's ``code``, ``title`` and
  ``message``...);
* the headers: every recorded one is sent, ``X-Subject-Token`` (where
  keystoneauth1 takes a token from) in the recording when and only when
  Keystone sends it, ``Content-Type`` and ``Vary`` with the same values.

A recording no scenario here replays, or whose request the notifier no
longer makes, fails; so does a live request that no recording answers.
``tools/record_keystone.py`` brings recordings that no longer match up to
date. The trust made is deleted (by the test that needs it deleted, or
at the end).
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import re
import tempfile
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from keystoneauth1 import session as ka_session
from keystoneauth1.identity import v3
from oslo_config import cfg
from oslo_context import context as oslo_context

from zaqar_core import conf as zconf
from zaqar_core.notification import base
from zaqar_plugins.notifier import trust
from zaqar_plugins.tests.unit.notifier import servers
from zaqar_testing import receivers

from .conftest import Stack

RECORDINGS = servers.RECORDINGS
#: Where the recordings' Keystone lives on its host (devstack's layout);
#: the proxy serves the live one there too.
PREFIX = '/identity'
#: The TTL of the trust the notifier makes (the unit tests use it too).
TTL = 3600
#: Response headers the notifier (keystoneauth1) reads.
HEADERS_READ = ('content-type', 'x-subject-token')
#: Response headers whose values must match too (the others carry ids,
#: tokens or URLs).
VALUE_HEADERS = frozenset({'content-type', 'vary'})
#: Keys whose values (not only their types) must match: they say what
#: happened rather than to whom. Compared where the recording and the
#: reply line up (lists of the same length); lists of them as sets.
VALUE_KEYS = frozenset({
    'status', 'rel', 'base', 'type', 'methods', 'impersonation',
    'is_domain', 'remaining_uses', 'redelegation_count', 'code', 'title',
    'message'})
#: How a recording that does not match should be brought up to date.
RECORD_HINT = ('if Keystone changed, bring the recordings up to date: '
               '.venv/bin/python tools/record_keystone.py (the stack up); '
               'report any change the notifier relied on')


def recording_names() -> list[str]:
    return sorted(path.stem for path in RECORDINGS.glob('*.json'))


def load_recordings() -> dict[str, dict[str, Any]]:
    return {name: json.loads((RECORDINGS / f'{name}.json').read_text())
            for name in recording_names()}


# -- the proxy -------------------------------------------------------------

@dataclasses.dataclass
class Exchange:
    """One request of the notifier and Keystone's reply (its URLs
    rewritten to the proxy's)."""

    scenario: str
    method: str
    path: str
    body: Any  # the request's JSON, or None
    status: int
    headers: dict[str, str]  # as Keystone named them
    reply: Any  # the response's JSON, or None
    #: The recording the replay server would answer it with.
    recording: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name:
                return value
        return None

    def describe(self) -> str:
        return (f'{self.method} {self.path} -> {self.status} (scenario '
                f'{self.scenario})')


#: Hop-by-hop headers and those the proxy makes itself.
_NOT_FORWARDED = frozenset({'host', 'content-length', 'connection',
                            'accept-encoding', 'transfer-encoding',
                            'keep-alive', 'date', 'server'})


class KeystoneProxy(receivers.HTTPServer):
    """The live Keystone at ``keystone_url`` served at :attr:`base`
    (``<url>/identity``), its URLs in replies rewritten to that; every
    exchange is kept in :attr:`exchanges`, labelled with the current
    :attr:`scenario`."""

    def __init__(self, keystone_url: str) -> None:
        super().__init__(self._forward)
        self.keystone_url = keystone_url.rstrip('/')
        self.exchanges: list[Exchange] = []
        self.scenario = ''

    @property
    def base(self) -> str:
        return self.url + PREFIX

    def _rewrite(self, text: str) -> str:
        return text.replace(self.keystone_url, self.base)

    def _forward(self, request: receivers.Request) -> receivers.Answer:
        if not request.path.startswith(PREFIX):
            return receivers.Answer(404, {}, b'not under ' + PREFIX.encode())
        forwarded = urllib.request.Request(  # noqa: S310 (the stack's URL)
            self.keystone_url + request.path.removeprefix(PREFIX),
            data=request.body or None, method=request.method,
            headers={name: value for name, value in request.headers.items()
                     if name not in _NOT_FORWARDED})
        try:
            with urllib.request.urlopen(forwarded, timeout=30) as reply:  # noqa: S310
                status, raw, headers = reply.status, reply.read(), \
                    reply.headers
        except urllib.error.HTTPError as exc:
            status, raw, headers = exc.code, exc.read(), exc.headers
        text = self._rewrite(raw.decode())
        kept = {name: self._rewrite(value) for name, value in headers.items()
                if name.lower() not in _NOT_FORWARDED}
        self.exchanges.append(Exchange(
            self.scenario, request.method, request.path,
            request.json() if request.body else None, status, kept,
            json.loads(text) if text else None))
        return receivers.Answer(status, kept, text.encode())


# -- the scenarios ---------------------------------------------------------

@dataclasses.dataclass
class Live:
    """What the scenarios need of the stack (its ``stack.json``)."""

    keystone_url: str
    auth_url: str
    credentials: dict[str, dict[str, Any]]
    #: The ``[trustee]`` section of the stack's zaqar.conf.
    trustee: dict[str, str]
    version: str

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Live:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(state['zaqar']['conf'])
        return cls(state['keystone']['url'], state['keystone']['auth_url'],
                   state['credentials'], dict(parser['trustee']),
                   state['keystone'].get('version', '?'))

    def session(self, key: str) -> ka_session.Session:
        creds = self.credentials[key]
        return ka_session.Session(auth=v3.Password(
            auth_url=self.auth_url, username=creds['username'],
            password=creds['password'], project_name=creds['project_name'],
            user_domain_id='default', project_domain_id='default'))


class ScenarioFailed(Exception):
    """The notifier did not end a scenario as the unit tests expect."""


@dataclasses.dataclass
class Context:
    """What the scenarios share: the trust made and the demo user."""

    live: Live
    proxy: KeystoneProxy
    workdir: Path
    demo: ka_session.Session
    trust_id: str | None = None
    trust_deleted: bool = False

    def notifier(self, auth_path: str = '') -> trust.TrustNotifier:
        """The notifier, with the stack's ``[trustee]`` pointing at the
        proxy (``auth_path``: ``/v3`` for the versioned endpoint)."""
        section = {**self.live.trustee,
                   'auth_url': self.proxy.base + auth_path}
        path = self.workdir / 'zaqar.conf'
        path.write_text('[trustee]\n' + ''.join(
            f'{key} = {value}\n' for key, value in section.items()))
        conf = zconf.register_opts(cfg.ConfigOpts())
        conf([], project='zaqar', default_config_files=[str(path)],
             default_config_dirs=[])
        return trust.TrustNotifier(conf)

    def context(self, user_id: str | None = None
                ) -> oslo_context.RequestContext:
        """demo's request (the trustor), as keystonemiddleware makes it;
        ``user_id`` claims to be someone else with demo's token."""
        access = self.demo.auth.get_access(self.demo)
        return oslo_context.RequestContext(
            auth_token=access.auth_token, user_id=user_id or access.user_id,
            project_id=access.project_id, roles=access.role_names)

    def target(self) -> base.Target:
        if self.trust_id is None:
            raise ScenarioFailed('no trust: the "prepare" scenario failed')
        return {'id': 'recordings', 'project': 'p', 'source': 'q',
                'subscriber': 'trust+http://zaqar.test/',
                'options': {'trust_id': self.trust_id}}

    def delete_trust(self) -> int | None:
        """Deletes the trust (once); Keystone's status."""
        if self.trust_id is None or self.trust_deleted:
            return None
        self.trust_deleted = True
        return self.demo.delete(f'{self.live.auth_url}/OS-TRUST/trusts/'
                                f'{self.trust_id}',
                                raise_exc=False).status_code

    def subject_token(self) -> str | None:
        """The token of the last trust-scoped reply."""
        for exchange in reversed(self.proxy.exchanges):
            if exchange.status == 201 and exchange.path.endswith(
                    '/auth/tokens'):
                return exchange.header('x-subject-token')
        return None


def _prepare(ctx: Context) -> None:
    # test_prepare_creates_a_trust_to_the_trustee
    options = ctx.notifier().prepare('trust+http://zaqar.test/', {}, TTL,
                                     ctx.context())
    ctx.trust_id = options['trust_id']
    [made] = [e for e in ctx.proxy.exchanges if e.scenario == 'prepare'
              and e.method == 'POST' and e.path.endswith('/OS-TRUST/trusts')]
    if made.reply['trust']['id'] != ctx.trust_id:
        raise ScenarioFailed(f'prepare kept {ctx.trust_id}, Keystone made '
                             f'{made.reply["trust"]["id"]}')


def _notify(ctx: Context, auth_path: str = '') -> None:
    # test_notify_posts_with_a_trust_scoped_token
    _, headers = ctx.notifier(auth_path).endpoint(ctx.target())
    if headers.get('X-Auth-Token') != ctx.subject_token():
        raise ScenarioFailed(f'the notifier sends {headers}, not the '
                             f'X-Subject-Token Keystone gave')


def _notify_v3(ctx: Context) -> None:
    # test_auth_url_may_name_the_v3_endpoint
    _notify(ctx, '/v3')


def _refused_trust(ctx: Context) -> None:
    # test_prepare_refused_by_keystone_is_rejected: demo's token asking
    # for a trust from alt is refused by Keystone's identity:create_trust.
    alt = ctx.live.credentials['alt']['user_id']
    try:
        ctx.notifier().prepare('trust+http://zaqar.test/', {}, TTL,
                               ctx.context(user_id=alt))
    except base.SubscriberRejected as exc:
        if 'create_trust' not in str(exc):
            raise ScenarioFailed(f'rejected, but not naming '
                                 f'create_trust: {exc}') from exc
    else:
        raise ScenarioFailed('Keystone made a trust from alt with demo\'s '
                             'token')


def _given_trust(ctx: Context) -> None:
    # test_trust_cache.py's test_prepare_checks_a_given_trust: the trust
    # a client brings is looked up with the requester's token.
    if ctx.trust_id is None:
        raise ScenarioFailed('no trust: the "prepare" scenario failed')
    options = {'trust_id': ctx.trust_id}
    kept = ctx.notifier().prepare('trust+http://zaqar.test/', options, TTL,
                                  ctx.context())
    if kept != options:
        raise ScenarioFailed(f'the given trust became {kept}')


def _release(ctx: Context) -> None:
    # test_trust_cache.py's test_release_deletes_the_trust_with_its_token:
    # the trust's own token deletes it.
    target = ctx.target()
    if not ctx.notifier().release({**target['options'],
                                   trust.CREATED: True}):
        raise ScenarioFailed('release says the trust is still there')
    status = ctx.demo.get(f'{ctx.live.auth_url}/OS-TRUST/trusts/'
                          f'{ctx.trust_id}', raise_exc=False).status_code
    if status != 404:
        raise ScenarioFailed(f'the trust is still there ({status})')
    ctx.trust_deleted = True


def _deleted_trust(ctx: Context) -> None:
    # test_keystone_refusal_is_retryable: the trust is gone (the
    # "release" scenario deleted it; else it is deleted here).
    target = ctx.target()
    status = ctx.delete_trust()
    if status not in (None, 204):
        raise ScenarioFailed(f'Keystone did not delete the trust: {status}')
    try:
        ctx.notifier().endpoint(target)
    except base.DeliveryFailed as exc:
        if not exc.retryable:
            raise ScenarioFailed(f'final, not retryable: {exc}') from exc
    else:
        raise ScenarioFailed('a token for a deleted trust')


#: test_trust.py's KEYSTONE: the order the replay server tries them in.
_KEYSTONE = ('discovery', 'discovery_v3', 'token_trust_scoped',
             'token_trustor', 'token_trustee', 'trust_create')


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    #: The recordings the unit tests replay for it, in their order.
    recordings: tuple[str, ...]
    run: Callable[[Context], None]


#: In order: the later ones use (and the last deletes) the trust of the
#: first.
SCENARIOS = (
    Scenario('prepare', _KEYSTONE, _prepare),
    Scenario('notify', _KEYSTONE, _notify),
    Scenario('notify-v3', _KEYSTONE, _notify_v3),
    Scenario('refused-trust', tuple(
        'trust_create_forbidden' if name == 'trust_create' else name
        for name in _KEYSTONE), _refused_trust),
    Scenario('given-trust', tuple(
        'trust_get' if name == 'trust_create' else name
        for name in _KEYSTONE), _given_trust),
    Scenario('release', ('discovery', 'token_trust_scoped', 'trust_delete'),
             _release),
    Scenario('deleted-trust', ('discovery', 'token_unauthorized'),
             _deleted_trust),
)


def contains(actual: Any, pattern: Any) -> bool:
    """Whether ``pattern`` is a sub-document of ``actual``, as the replay
    server matches request bodies."""
    if isinstance(pattern, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value)
            for key, value in pattern.items())
    return actual == pattern


def substitute(document: Any, values: dict[str, str]) -> Any:
    """``document`` with every string that is a key of ``values``
    replaced by its value, and the ids among them replaced inside the
    other strings too (a trust's path)."""
    if isinstance(document, dict):
        return {key: substitute(value, values)
                for key, value in document.items()}
    if isinstance(document, list):
        return [substitute(value, values) for value in document]
    if isinstance(document, str):
        if document in values:
            return values[document]
        for recorded, live in values.items():
            if _HEX_ID.fullmatch(recorded):
                document = document.replace(recorded, live)
        return document
    return document


_HEX_ID = re.compile(r'[0-9a-f]{32}')


def matches(request: dict[str, Any], exchange: Exchange) -> bool:
    """Whether the replay server would answer ``exchange`` with the
    recording whose request (ids substituted) is ``request``."""
    return request['method'] == exchange.method and \
        request['path'].rstrip('/') == exchange.path.rstrip('/') and \
        contains(exchange.body, request.get('body', exchange.body))


@dataclasses.dataclass
class LiveRun:
    """The scenarios' exchanges, labelled, and how each scenario ended."""

    recordings: dict[str, dict[str, Any]]
    exchanges: list[Exchange]
    #: Scenario name -> what went wrong (none: it ended as expected).
    errors: dict[str, str]
    #: Recorded value -> live value (ids, names).
    live_values: dict[str, str]
    #: Where the proxy served Keystone: in the replies' URLs.
    keystone_base: str
    keystone_version: str

    def of(self, name: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.recording == name]


def recorded_to_live(recordings: dict[str, dict[str, Any]], live: Live,
                     trust_id: str | None) -> dict[str, str]:
    """The recorded ids and names the requests carry, and their live
    counterparts: the trust, its trustor, trustee and project."""
    made = recordings['trust_create']['response']['body']['trust']
    trustee = recordings['token_trustee']['response']['body']['token']
    creds = live.credentials
    values = {made['trustor_user_id']: creds['demo']['user_id'],
              made['project_id']: creds['demo']['project_id'],
              made['trustee_user_id']: creds['trustee']['user_id'],
              trustee['user']['name']: creds['trustee']['username']}
    if trust_id is not None:
        values[made['id']] = trust_id
    return values


def run_scenarios(live: Live) -> LiveRun:
    """Runs :data:`SCENARIOS` against ``live`` and labels what they
    sent; the trust made is deleted."""
    recordings = load_recordings()
    errors: dict[str, str] = {}
    with KeystoneProxy(live.keystone_url) as proxy, \
            tempfile.TemporaryDirectory() as workdir:
        ctx = Context(live, proxy, Path(workdir), live.session('demo'))
        try:
            for scenario in SCENARIOS:
                proxy.scenario = scenario.name
                try:
                    scenario.run(ctx)
                except ScenarioFailed as exc:
                    errors[scenario.name] = str(exc)
                except Exception as exc:  # noqa: BLE001 (reported)
                    errors[scenario.name] = ''.join(
                        traceback.format_exception_only(exc)).strip()
        finally:
            ctx.delete_trust()
    values = recorded_to_live(recordings, live, ctx.trust_id)
    requests = {name: substitute(recording['request'], values)
                for name, recording in recordings.items()}
    by_name = {scenario.name: scenario for scenario in SCENARIOS}
    for exchange in proxy.exchanges:
        exchange.recording = next(
            (name for name in by_name[exchange.scenario].recordings
             if name in requests and matches(requests[name], exchange)),
            None)
    return LiveRun(recordings, proxy.exchanges, errors, values,
                   proxy.base, live.version)


# -- the comparison --------------------------------------------------------

def kind(value: Any) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int | float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, list):
        return 'list'
    return 'object'


def same_values(recorded: Any, live: Any) -> bool:
    if isinstance(recorded, list) and isinstance(live, list):
        return sorted(map(json.dumps, recorded)) == \
            sorted(map(json.dumps, live))
    return recorded == live


def body_differences(recorded: Any, live: Any, path: str = 'body',
                     aligned: bool = True) -> list[str]:
    """How ``live`` differs from ``recorded`` in structure (keys, types)
    and in the values of :data:`VALUE_KEYS` (when ``aligned``: not
    elements of lists of different lengths)."""
    if kind(recorded) != kind(live):
        return [f'{path}: {kind(recorded)} in the recording, {kind(live)} '
                f'live ({live!r:.60})']
    if isinstance(recorded, dict):
        found = []
        missing = [key for key in recorded if key not in live]
        extra = [key for key in live if key not in recorded]
        if missing:
            found.append(f'{path}: the recording has {missing}, live '
                         f'Keystone does not')
        if extra:
            found.append(f'{path}: live Keystone has {extra}, the '
                         f'recording does not')
        for key in recorded:
            if key not in live:
                continue
            if aligned and key in VALUE_KEYS and \
                    not same_values(recorded[key], live[key]):
                found.append(f'{path}.{key}: {recorded[key]!r} in the '
                             f'recording, {live[key]!r} live')
            found += body_differences(recorded[key], live[key],
                                      f'{path}.{key}', aligned)
        return found
    if isinstance(recorded, list):
        if not recorded or not live:
            return []  # nothing to compare the elements with
        if aligned and len(recorded) == len(live):
            pairs = list(zip(recorded, live, strict=True))
        else:
            # Elements alike: each like the first recorded one.
            pairs = [(recorded[0], element)
                     for element in [*recorded[1:], *live]]
            aligned = False
        found = []
        for index, (left, right) in enumerate(pairs):
            for problem in body_differences(left, right, f'{path}[{index}]',
                                            aligned):
                if problem not in found:
                    found.append(problem)
        return found
    return []


def header_differences(recorded: dict[str, str], exchange: Exchange
                       ) -> list[str]:
    found = []
    names = {name.lower(): value for name, value in recorded.items()}
    for name, value in names.items():
        live = exchange.header(name)
        if live is None:
            found.append(f'header {name}: in the recording, not sent live')
        elif name in VALUE_HEADERS and live != value:
            found.append(f'header {name}: {value!r} in the recording, '
                         f'{live!r} live')
    for name in HEADERS_READ:
        if name not in names and exchange.header(name) is not None:
            found.append(f'header {name}: sent live, not in the recording')
    return found


def differences(recording: dict[str, Any], exchange: Exchange
                ) -> list[str]:
    """How ``exchange``'s reply differs from ``recording``'s, where it
    matters to the notifier."""
    response = recording['response']
    found = []
    if response['status'] != exchange.status:
        found.append(f'status: {response["status"]} in the recording, '
                     f'{exchange.status} live')
    found += header_differences(response['headers'], exchange)
    found += body_differences(response.get('body'), exchange.reply)
    return found


def problems(run: LiveRun, name: str) -> list[str]:
    """What is wrong with recording ``name``, as seen live."""
    if not any(name in scenario.recordings for scenario in SCENARIOS):
        return [f'no scenario of {__name__} replays {name}: add one to '
                f'SCENARIOS (a recording must be checked live)']
    found = []
    exchanges = run.of(name)
    if not exchanges:
        sent = '\n  '.join(f'{e.describe()}: {e.recording or "unanswered"}'
                            for e in run.exchanges) or 'nothing'
        request = run.recordings[name]['request']
        found.append(
            f'{name} was not replayed: the notifier sent no request '
            f'matching {request["method"]} {request["path"]} '
            f'{json.dumps(request.get("body"))} (recorded ids as '
            f'{run.live_values}); it sent\n  {sent}')
    for scenario, error in run.errors.items():
        if any(name in s.recordings for s in SCENARIOS
               if s.name == scenario):
            found.append(f'scenario {scenario} failed: {error}')
    # The same problem in several replies is reported once.
    seen: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        for problem in differences(run.recordings[name], exchange):
            seen.setdefault(problem, []).append(exchange)
    for problem, where in seen.items():
        scenarios = ', '.join(dict.fromkeys(e.scenario for e in where))
        found.append(f'{problem} ({where[0].method} {where[0].path} -> '
                     f'{where[0].status}; scenarios {scenarios})')
    return found


# -- the tests -------------------------------------------------------------

@pytest.fixture(scope='module')
def live_run(stack: Stack) -> LiveRun:
    return run_scenarios(Live.from_state(stack.state))


@pytest.mark.parametrize('name', recording_names())
def test_recording_matches_live_keystone(live_run: LiveRun,
                                         name: str) -> None:
    found = problems(live_run, name)
    if found:
        pytest.fail(f'recording {name}.json no longer matches Keystone '
                    f'{live_run.keystone_version}:\n- ' + '\n- '.join(found)
                    + f'\n({RECORD_HINT})', pytrace=False)


def test_every_live_request_has_a_recording(live_run: LiveRun) -> None:
    unanswered = [e.describe() for e in live_run.exchanges
                  if e.recording is None]
    assert not unanswered, (
        f'the replay server would answer 404 to these requests of the '
        f'notifier: {unanswered}')


def test_scenarios_end_as_the_unit_tests_expect(live_run: LiveRun
                                                ) -> None:
    assert live_run.errors == {}
