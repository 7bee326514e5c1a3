"""Every v2 action through both transports, on every backend: one table of
cases, each run over REST and over WebSocket, each expecting the same
outcome (:mod:`.transports` says how each transport's answer is
normalised).

A case is: setup steps, the action with its arguments (written once),
the expected status and data, and optionally actions run afterwards with
their expected outcomes (to see what the action changed). Each run is in
a project of its own, on the servers both transports share (one
configuration for the whole file: admin mode for the health check, a
signing key for ``queue_share``, an encryption key, and a policy that
refuses two rules to the role ``mute``).

Over WebSocket everything runs as a WebSocket client would (the setup
too); REST the same over HTTP. Only ``ping_node_head`` is REST's alone:
HEAD is an HTTP method, and WebSocket has ``ping_node``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from .helpers import same_store
from .transports import NO_DOC
from .transports import ROUTES
from .transports import Like
from .transports import Matches
from .transports import Names
from .transports import Outcome
from .transports import Rest
from .transports import Servers
from .transports import Ws
from .transports import start_servers


@pytest.fixture
def servers(make_server, make_ws_server,
            tmp_path_factory: pytest.TempPathFactory) -> Servers:
    return start_servers(make_server, make_ws_server, tmp_path_factory)


# -- the table --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Step:
    """An action to run; ``save`` names the ids it creates (``m`` saves
    posted messages as ``m0``, ``m1``...; a claim or subscription id is
    saved as ``save`` itself)."""

    action: str
    args: dict[str, Any]
    doc: Any = NO_DOC
    save: str | None = None
    headers: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    step: Step
    expect: Outcome
    setup: tuple[Step, ...] = ()
    after: tuple[tuple[Step, Outcome], ...] = ()
    transports: tuple[str, ...] = ('rest', 'ws')
    #: A known server bug this case shows (the case fails until it is
    #: fixed, then must lose its mark).
    bug: str | None = None


CASES: list[Case] = []


def case(label: str, action: str, args: dict[str, Any] | None = None,
         doc: Any = NO_DOC, *, status: int, data: Any = None,
         setup: tuple[Step, ...] = (),
         after: tuple[tuple[Step, Outcome], ...] = (),
         headers: dict[str, Any] | None = None,
         transports: tuple[str, ...] = ('rest', 'ws'),
         bug: str | None = None) -> None:
    CASES.append(Case(f'{action}-{label}',
                      Step(action, dict(args or {}), doc, headers=headers),
                      Outcome(status, data), setup, after, transports, bug))


def error(status: int, title: str, description: str | None) -> dict:
    return {'status': status,
            'data': {'title': title, 'description': description}}


def bad(description: str) -> dict:
    return error(400, 'Invalid API request', description)


def bad_body(description: str) -> dict:
    """What upstream titles a document of the wrong shape."""
    return error(400, 'Invalid request body', description)


def bad_param(name: str, what: str) -> dict:
    return error(400, 'Invalid parameter',
                 f'The value of the "{name}" parameter must be {what}.')


Q = {'queue_name': 'q'}
HOOK = 'http://127.0.0.1:1/hook'
SUBSCRIPTION = {'subscriber': HOOK, 'ttl': 3600, 'options': {'k': 'v'}}
MUTE = {'X-Roles': 'mute'}


def post(queue: str = 'q', *bodies: Any, save: str = 'm',
         action: str = 'message_post', **extra: Any) -> Step:
    """Post one message per body (``{"n": 1}``, ``{"n": 2}`` by default)."""
    bodies = bodies or ({'n': 1}, {'n': 2})
    return Step(action, {'queue_name': queue},
                {'messages': [{'body': b, 'ttl': 3600, **extra}
                              for b in bodies]}, save=save)


def claim(limit: int = 1, save: str = 'c', ttl: int = 300) -> Step:
    return Step('claim_create', {'queue_name': 'q', 'limit': limit},
                {'ttl': ttl, 'grace': 60}, save=save)


def subscribe(queue: str = 'q', save: str = 's',
              action: str = 'subscription_create', **doc: Any) -> Step:
    return Step(action, {'queue_name': queue}, {**SUBSCRIPTION, **doc},
                save=save)


def create(queue: str = 'q', metadata: Any = NO_DOC,
           action: str = 'queue_create') -> Step:
    return Step(action, {'queue_name': queue}, metadata)


def message(i: int, n: int | None = None, claim_id: str | None = None,
            ttl: int = 3600) -> dict[str, Any]:
    """Message ``$m<i>`` with body ``{"n": n}`` (n = i + 1)."""
    return {'id': f'$m{i}', 'ttl': ttl,
            'body': {'n': i + 1 if n is None else n}, 'claim_id': claim_id}


def then(action: str, args: dict[str, Any], status: int,
         data: Any = None, doc: Any = NO_DOC) -> tuple[Step, Outcome]:
    return Step(action, args, doc), Outcome(status, data)


def stats(claimed: int = 0, free: int = 0, **ends: str) -> dict:
    shown: dict[str, Any] = {'claimed': claimed, 'free': free,
                             'total': claimed + free}
    shown.update({end: {'id': ref} for end, ref in ends.items()})
    return {'messages': shown}


def listing(messages: list[dict], action: str = 'message_list'
            ) -> tuple[Step, Outcome]:
    return then(action, {**Q, 'echo': True, 'include_claimed': True}, 200,
                {'messages': messages,
                 **({'next': NEXT_MESSAGES} if messages else {})})


# A message list's next page: its marker, and include_delayed, which a
# queue without delays sets (facts 1.3).
NEXT_MESSAGES = {'marker': Like(r'.+'), 'include_delayed': 'true'}

DEFAULTS = {
    '_max_messages_post_size': 262144, '_default_message_ttl': 3600,
    '_default_message_delay': 0, '_dead_letter_queue': None,
    '_dead_letter_queue_messages_ttl': None, '_max_claim_count': None,
    '_enable_encrypt_messages': False}
TOPIC_DEFAULTS = {k: DEFAULTS[k] for k in (
    '_max_messages_post_size', '_default_message_ttl',
    '_default_message_delay')}

LIMIT_20 = bad('Limit must be at least 1 and no greater than 20.')
IDS_20 = bad('Limit must be at least 1 and may not be greater than 20.')
MESSAGE_TTL = bad('The TTL for a message may not exceed 1209600 seconds, '
                  'and must be at least 60 seconds long.')
CLAIM_TTL = bad('The TTL for a claim may not exceed 43200 seconds, and '
                'must be at least 60 seconds long.')
CLAIM_GRACE = bad('The grace for a claim may not exceed 43200 seconds, and '
                  'must be at least 60 seconds long.')
NO_SUCH_QUEUE_NAME = error(400, 'Invalid queue identification',
                           'The format of the submitted queue name or '
                           'project id is not valid.')
NOT_AUTHORIZED = error(403, 'Not authorized',
                       'You are not authorized to complete this action.')
INT_FIELD = 'The value of the "{}" field must be a int.'

# -- system
case('list', 'get_versions', status=200, data={'versions': [{
    'id': '2', 'status': 'CURRENT', 'updated': '2014-9-24T04:06:47Z',
    'media-types': [{'base': 'application/json',
                     'type': 'application/vnd.openstack.messaging-v2+json'}],
    'links': [{'href': '/v2/', 'rel': 'self'}]}]})
case('admin-mode', 'get_home_doc', status=200, data=Matches(
    lambda doc: set(doc) == {'resources'} and
    {'rel/queues', 'rel/messages', 'rel/health'} <= set(doc['resources']),
    'the JSON-Home document of admin mode'))
case('up', 'ping_node', status=204)
# HEAD is an HTTP method: WebSocket clients send ping_node.
case('up', 'ping_node_head', status=204, transports=('rest',))
ADMIN = {'X-Roles': 'admin'}
case('not-admin', 'check_node_health', **NOT_AUTHORIZED)
case('admin', 'check_node_health', headers=ADMIN, status=200, data={
    'storage_reachable': True,
    'stores': {'management_store': {'ok': True},
               'message_store': {'ok': True}},
    'operation_status': {op: {'succeeded': True, 'ref': None} for op in (
        'create_queue', 'post_messages', 'claim_messages', 'list_messages',
        'delete_messages', 'delete_claim', 'bulk_delete_messages',
        'delete_queue')}})

# -- queues
THREE = (create('a'), create('b'), create('c'))
case('empty', 'queue_list', status=200, data={'queues': []})
case('page', 'queue_list', {'limit': 2}, setup=THREE, status=200,
     data={'queues': [{'name': 'a'}, {'name': 'b'}],
           'next': {'marker': 'b'}})
case('limit-as-string', 'queue_list', {'limit': '2'}, setup=THREE,
     status=200, data={'queues': [{'name': 'a'}, {'name': 'b'}],
                       'next': {'marker': 'b'}})
case('detailed-with-count', 'queue_list', {'detailed': True,
                                           'with_count': True},
     setup=(create('a', {'k': 1}),), status=200,
     data={'queues': [{'name': 'a', 'metadata': {'k': 1, **DEFAULTS}}],
           'count': 1, 'next': {'marker': 'a'}})
case('detailed-as-string', 'queue_list', {'detailed': 'true'},
     setup=(create('a'),), status=200,
     data={'queues': [{'name': 'a', 'metadata': DEFAULTS}],
           'next': {'marker': 'a'}})
case('limit-0', 'queue_list', {'limit': 0}, **LIMIT_20)
case('limit-21', 'queue_list', {'limit': 21}, **LIMIT_20)
case('limit-not-int', 'queue_list', {'limit': 'two'},
     **bad_param('limit', 'an integer'))
case('limit-true', 'queue_list', {'limit': True},
     **bad_param('limit', 'an integer'))
case('limit-float', 'queue_list', {'limit': 2.5},
     **bad_param('limit', 'an integer'))
case('detailed-not-bool', 'queue_list', {'detailed': 'maybe'},
     **bad_param('detailed', 'a boolean'))
case('no-project', 'queue_list', headers={'X-Project-ID': None},
     **error(400, 'Project-Id Missing', 'The header X-PROJECT-ID was missing'))
case('empty-project', 'queue_list', headers={'X-Project-ID': ''},
     **error(400, 'Empty project header not allowed',
             'X-PROJECT-ID cannot be an empty string. Specify the right '
             'header X-PROJECT-ID and retry.'))
case('no-client-id', 'queue_list', headers={'Client-ID': None},
     **error(400, 'Missing header value',
             'The "Client-Id" header is required.'))
case('bad-client-id', 'queue_list', headers={'Client-ID': 'nope'},
     **error(400, 'Wrong UUID value', 'Malformed hexadecimal UUID.'))

ONLY_Q = then('queue_list', {}, 200, {'queues': [{'name': 'q'}],
                                      'next': {'marker': 'q'}})
NO_QUEUES = then('queue_list', {}, 200, {'queues': []})
case('new', 'queue_create', Q, status=201, after=(ONLY_Q,))
case('exists', 'queue_create', Q, {'k': 'new'},
     setup=(create('q', {'k': 'old'}),), status=204,
     after=(then('queue_get', Q, 200, {**DEFAULTS, 'k': 'old'}),))
case('metadata', 'queue_create', Q,
     {'k': [1, 'two'], '_default_message_ttl': 120}, status=201,
     after=(then('queue_get', Q, 200, {**DEFAULTS, 'k': [1, 'two'],
                                       '_default_message_ttl': 120}),))
case('ttl-59', 'queue_create', Q, {'_default_message_ttl': 59},
     **bad('_default_message_ttl: The TTL for a message may not exceed '
           '1209600 seconds, and must be at least 60 seconds long.'),
     after=(NO_QUEUES,))
case('ttl-not-int', 'queue_create', Q, {'_default_message_ttl': '120'},
     **bad('_default_message_ttl must be integer.'))
case('encrypt-not-bool', 'queue_create', Q,
     {'_enable_encrypt_messages': 'yes'},
     **bad('_enable_encrypt_messages must be boolean.'))
case('metadata-not-object', 'queue_create', Q, ['k'],
     **error(400, 'Invalid request body',
             'Queue metadata must be a JSON object.'))
case('name-too-long', 'queue_create', {'queue_name': 'q' * 65},
     **NO_SUCH_QUEUE_NAME)
case('bad-name', 'queue_create', {'queue_name': 'bad*name'},
     **NO_SUCH_QUEUE_NAME)

case('missing', 'queue_get', Q, status=200, data=DEFAULTS)
case('metadata', 'queue_get', Q,
     setup=(create('q', {'k': 'v', '_default_message_delay': 30}),),
     status=200, data={**DEFAULTS, 'k': 'v', '_default_message_delay': 30})

PATCH = [{'op': 'add', 'path': '/metadata/k', 'value': 'v'},
         {'op': 'replace', 'path': '/metadata/_default_message_ttl',
          'value': 120}]
PATCHED = {**DEFAULTS, 'k': 'v', '_default_message_ttl': 120}
case('add-replace', 'queue_update', Q, PATCH, setup=(create(),),
     status=200, data=PATCHED, after=(then('queue_get', Q, 200, PATCHED),))
case('missing-queue', 'queue_update', Q, PATCH,
     **error(404, 'Not found', 'Queue q does not exist for project '
                               '$project.'))
case('replace-missing-key', 'queue_update', Q,
     [{'op': 'replace', 'path': '/metadata/nope', 'value': 1}],
     setup=(create(),),
     **error(409, 'Resource conflict', "Can't replace non-existent object "
                                       "nope."))
case('bad-op', 'queue_update', Q, [{'op': 'move', 'path': '/metadata/k'}],
     setup=(create(),),
     **bad_body('Invalid operation: `move`. It must be one of add, '
                'remove, replace.'))
case('empty', 'queue_update', Q, [], setup=(create(),),
     **bad_body('PATCH body could not be empty for update.'))
case('not-a-list', 'queue_update', Q, {'op': 'add'}, setup=(create(),),
     **error(400, 'Invalid request body',
             'A PATCH body must be a JSON array of operations.'))
case('bad-value', 'queue_update', Q,
     [{'op': 'add', 'path': '/metadata/_default_message_delay',
       'value': 901}], setup=(create(),),
     **bad_body('_default_message_delay: The TTL can not exceed 900 '
                'seconds, and must be at least 0 seconds long.'))

case('existing', 'queue_delete', Q, setup=(create(), post()), status=204,
     after=(NO_QUEUES, then('queue_get_stats', Q, 200, stats())))
case('missing', 'queue_delete', Q, status=204)
case('denied', 'queue_delete', Q, setup=(create(),), headers=MUTE,
     **NOT_AUTHORIZED, after=(ONLY_Q,))

case('missing', 'queue_get_stats', Q, status=200, data=stats())
case('claimed', 'queue_get_stats', Q, setup=(post(), claim()), status=200,
     data=stats(1, 1, oldest='$m0', newest='$m1'))

SHOWN = {'id': '$s', 'source': 'q', 'subscriber': HOOK, 'ttl': 3600,
         'options': {'k': 'v'}, 'confirmed': False}
ONE_SUBSCRIPTION = then('subscription_list', Q, 200, {
    'subscriptions': [SHOWN], 'next': {'marker': '$s'}})
NO_SUBSCRIPTIONS = then('subscription_list', Q, 200, {'subscriptions': []})
EMPTY = then('queue_get_stats', Q, 200, stats())
case('messages', 'queue_purge', Q, {'resource_types': ['messages']},
     setup=(post(), subscribe()), status=204,
     after=(EMPTY, ONE_SUBSCRIPTION, ONLY_Q))
case('subscriptions', 'queue_purge', Q,
     {'resource_types': ['subscriptions']}, setup=(post(), subscribe()),
     status=204, after=(then('queue_get_stats', Q, 200, stats(
         0, 2, oldest='$m0', newest='$m1')), NO_SUBSCRIPTIONS))
case('everything', 'queue_purge', Q, setup=(post(), subscribe()),
     status=204, after=(EMPTY, NO_SUBSCRIPTIONS))
case('bad-type', 'queue_purge', Q, {'resource_types': ['claims']},
     **bad('Resource types must be a sub set of messages, subscriptions.'))
case('no-types', 'queue_purge', Q, {'types': ['messages']},
     **bad('Missing "resource_types" in the request body.'))

HEX64 = Like(r'[0-9a-f]{64}')
EXPIRES = Like(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d')
case('explicit', 'queue_share', Q,
     {'paths': ['messages', 'claims'], 'methods': ['POST', 'GET'],
      'expires': '2099-01-01T00:00:00'}, status=200,
     data={'paths': ['/v2/queues/q/claims', '/v2/queues/q/messages'],
           'methods': ['GET', 'POST'], 'project': '$project',
           'expires': '2099-01-01T00:00:00', 'signature': HEX64})
case('default-paths-and-expiry', 'queue_share', Q, {'methods': ['GET']},
     status=200, data={
         'paths': ['/v2/queues/q/messages'], 'methods': ['GET'],
         'project': '$project', 'expires': EXPIRES, 'signature': HEX64})
case('defaults', 'queue_share', Q, {}, status=200, data={
    'paths': ['/v2/queues/q/messages'], 'methods': ['GET'],
    'project': '$project', 'expires': EXPIRES, 'signature': HEX64})
# REST's request without a body; a WebSocket body always holds the queue
# name, which asks for the defaults as above.
case('no-body', 'queue_share', Q,
     **bad_body('Request body can not be empty'),
     transports=('rest',))
case('unknown-key', 'queue_share', Q, {'bogus': 1},
     **bad("Unknown keys: {'bogus'}"))
case('bad-path', 'queue_share', Q, {'paths': ['nope']},
     **bad("Invalid paths: {'nope'}"))
case('expired', 'queue_share', Q, {'expires': '2000-01-01T00:00:00'},
     **bad('`expires` is lower than the current time'))
case('expires-int', 'queue_share', Q, {'expires': 1234},
     **bad('`expires` should be date format, for example '
           '2016-01-01T00:00:00, not integer value: 1234'))
case('methods-not-list', 'queue_share', Q, {'methods': 'GET'},
     **bad('`methods` should be a list'))

# -- messages
NEW = [{'id': '$new0', 'ttl': 3600, 'body': {'n': 1}, 'claim_id': None},
       {'id': '$new1', 'ttl': 3600, 'body': 'two', 'claim_id': None}]
case('two', 'message_post', Q,
     {'messages': [{'body': {'n': 1}, 'ttl': 3600}, {'body': 'two'}]},
     status=201, data={'message_ids': ['$new0', '$new1']},
     after=(then('message_list', {**Q, 'echo': True}, 200,
                 {'messages': NEW, 'next': NEXT_MESSAGES}), ONLY_Q))
case('denied', 'message_post', Q, {'messages': [{'body': 1}]},
     headers=MUTE, **NOT_AUTHORIZED, after=(EMPTY, NO_QUEUES))
case('other-role', 'message_post', Q, {'messages': [{'body': 1}]},
     headers={'X-Roles': 'member,reader'}, status=201,
     data={'message_ids': ['$new0']})
case('missing-body', 'message_post', Q, {'messages': [{'ttl': 60}]},
     **bad_body('Missing "body" field.'), after=(NO_QUEUES,))
case('empty', 'message_post', Q, {'messages': []},
     **bad('No messages to enqueu.'))
case('no-messages', 'message_post', Q, {'message': [{'body': 1}]},
     **bad('No messages were found in the request body.'))
case('messages-not-list', 'message_post', Q, {'messages': {'body': 1}},
     **bad_body('Document type not supported.'))
case('item-not-object', 'message_post', Q, {'messages': ['text']},
     **bad_body('Document type not supported.'))
case('ttl-59', 'message_post', Q, {'messages': [{'body': 1, 'ttl': 59}]},
     **MESSAGE_TTL)
case('ttl-string', 'message_post', Q,
     {'messages': [{'body': 1, 'ttl': '300'}]},
     **bad_body(INT_FIELD.format('ttl')))
case('ttl-true', 'message_post', Q,
     {'messages': [{'body': 1, 'ttl': True}]},
     **bad_body(INT_FIELD.format('ttl')))
case('bad-queue-name', 'message_post', {'queue_name': 'a b'},
     {'messages': [{'body': 1}]}, **NO_SUCH_QUEUE_NAME)
case('delay-without-queue-delay', 'message_post', Q,
     {'messages': [{'body': 1, 'delay': 300}]}, status=201,
     data={'message_ids': ['$new0']},
     after=(then('message_list', {**Q, 'echo': True}, 200, {
         'messages': [{'id': '$new0', 'ttl': 3600, 'body': 1,
                       'claim_id': None}], 'next': NEXT_MESSAGES}),))
DELAYED = create('q', {'_default_message_delay': 300})
LATER_NOW = [{'id': '$new0', 'ttl': 3600, 'body': 'later', 'claim_id': None},
             {'id': '$new1', 'ttl': 3600, 'body': 'now', 'claim_id': None}]
case('delayed-queue', 'message_post', Q,
     {'messages': [{'body': 'later'}, {'body': 'now', 'delay': 0}]},
     setup=(DELAYED,), status=201, data={'message_ids': ['$new0', '$new1']},
     after=(then('message_list', {**Q, 'echo': True}, 200, {
         'messages': LATER_NOW[1:], 'next': {'marker': Like('.+')}}),
         then('message_list', {**Q, 'echo': True, 'include_delayed': True},
              200, {'messages': LATER_NOW,
                    'next': {'marker': Like('.+')}}),
         then('claim_create', Q, 201, {
             'claim_id': '$new2',
             'messages': [dict(LATER_NOW[1], claim_id='$new2')]})))
case('delay-901', 'message_post', Q,
     {'messages': [{'body': 1, 'delay': 901}]}, setup=(DELAYED,),
     **bad('The delay for a message may not exceed 900 seconds, and must '
           'be at least 0 seconds long.'))
case('delay-string', 'message_post', Q,
     {'messages': [{'body': 1, 'delay': '10'}]}, setup=(DELAYED,),
     **bad_body(INT_FIELD.format('delay')))
SECRET = {'secret': 'plain text', 'n': [1, 2.5, None, True]}
SEALED = {'id': '$new0', 'ttl': 3600, 'body': SECRET, 'claim_id': None}
case('encrypted-queue', 'message_post', Q,
     {'messages': [{'body': SECRET, 'ttl': 3600}]},
     setup=(create('q', {'_enable_encrypt_messages': True}),), status=201,
     data={'message_ids': ['$new0']},
     after=(then('message_get', {**Q, 'message_id': '$new0'}, 200, SEALED),
            then('message_list', {**Q, 'echo': True}, 200, {
                'messages': [SEALED], 'next': NEXT_MESSAGES}),
            then('message_get_many', {**Q, 'ids': ['$new0']}, 200,
                 {'messages': [SEALED]})))

case('missing-queue', 'message_list', Q, status=200, data={'messages': []})
case('own-hidden', 'message_list', Q, setup=(post(),), status=200,
     data={'messages': []})
case('echo', 'message_list', {**Q, 'echo': True}, setup=(post(),),
     status=200, data={'messages': [message(0), message(1)],
                       'next': NEXT_MESSAGES})
case('echo-as-string', 'message_list', {**Q, 'echo': 'true'},
     setup=(post(),), status=200,
     data={'messages': [message(0), message(1)], 'next': NEXT_MESSAGES})
case('page', 'message_list', {**Q, 'echo': True, 'limit': 1},
     setup=(post(),), status=200,
     data={'messages': [message(0)], 'next': NEXT_MESSAGES})
case('claimed-hidden', 'message_list', {**Q, 'echo': True},
     setup=(post(), claim()), status=200,
     data={'messages': [message(1)], 'next': NEXT_MESSAGES})
case('claimed-shows-claim-id', 'message_list',
     {**Q, 'echo': True, 'include_claimed': True}, setup=(post(), claim()),
     status=200, data={'messages': [message(0, claim_id='$c'), message(1)],
                       'next': NEXT_MESSAGES})
case('limit-0', 'message_list', {**Q, 'limit': 0}, **LIMIT_20)
case('limit-not-int', 'message_list', {**Q, 'limit': '1x'},
     **bad_param('limit', 'an integer'))
case('echo-not-bool', 'message_list', {**Q, 'echo': 'maybe'},
     **bad_param('echo', 'a boolean'))

case('one', 'message_get', {**Q, 'message_id': '$m1'}, setup=(post(),),
     status=200, data=message(1))
case('claimed-shows-claim-id', 'message_get', {**Q, 'message_id': '$m0'},
     setup=(post(), claim()), status=200, data=message(0, claim_id='$c'))
case('deleted', 'message_get', {**Q, 'message_id': '$m0'},
     setup=(post(), Step('message_delete', {**Q, 'message_id': '$m0'})),
     **error(404, 'Not found', Like(r'Message \S+ does not exist in queue '
                                    r'q\.')))
case('missing-queue', 'message_get', {**Q, 'message_id': 'nope'},
     **error(404, 'Not found', 'Message nope does not exist in queue q.'))

case('two', 'message_get_many', {**Q, 'ids': ['$m0', '$m1']},
     setup=(post(),), status=200,
     data={'messages': [message(0), message(1)]})
case('some-missing', 'message_get_many', {**Q, 'ids': ['$m1', 'nope']},
     setup=(post(),), status=200, data={'messages': [message(1)]})
case('none-found', 'message_get_many', {**Q, 'ids': ['nope']},
     setup=(post(),),
     **error(404, 'Not found', 'No messages with the given ids were found.'))
case('21-ids', 'message_get_many', {**Q, 'ids': [f'i{n}' for n in range(21)]},
     **IDS_20)

M0 = {**Q, 'message_id': '$m0'}
REMAINS_M1 = then('message_get_many', {**Q, 'ids': ['$m0', '$m1']}, 200,
                  {'messages': [message(1)]})
case('unclaimed', 'message_delete', M0, setup=(post(),), status=204,
     after=(REMAINS_M1,))
case('claimed-without-claim', 'message_delete', M0,
     setup=(post(), claim()),
     **error(403, 'Unable to delete', 'This message is claimed; it cannot be '
                                      'deleted without a valid claim ID.'),
     after=(then('message_get', M0, 200, message(0, claim_id='$c')),))
case('claimed-with-its-claim', 'message_delete', {**M0, 'claim_id': '$c'},
     setup=(post(), claim()), status=204, after=(REMAINS_M1,))
case('claimed-with-another-claim', 'message_delete',
     {**M0, 'claim_id': '$d'}, setup=(post(), claim(), claim(save='d')),
     **error(403, 'Unable to delete', 'This message is claimed; it cannot be '
                                      'deleted without a valid claim ID.'))
case('claimed-with-an-unknown-claim', 'message_delete',
     {**M0, 'claim_id': 'b8194e69-5c0f-447b-9075-22bd56fbf56d'},
     setup=(post(), claim()),
     **error(400, 'Unable to delete', 'The specified claim does not exist or '
                                      'has expired.'))
case('unclaimed-with-a-claim', 'message_delete',
     {**Q, 'message_id': '$m1', 'claim_id': '$c'}, setup=(post(), claim()),
     **error(400, 'Unable to delete', 'A claim was specified, but the message '
                                      'is not currently claimed.'))
case('missing', 'message_delete', {**Q, 'message_id': 'nope'}, status=204)

case('ids', 'message_delete_many', {**Q, 'ids': ['$m0']}, setup=(post(),),
     status=204, after=(REMAINS_M1,))
case('ids-ignore-claims', 'message_delete_many', {**Q, 'ids': ['$m0']},
     setup=(post(), claim()), status=204, after=(REMAINS_M1,))
case('pop', 'message_delete_many', {**Q, 'pop': 1}, setup=(post(),),
     status=200, data={'messages': [{**message(0), 'claim_id': Like('.*'),
                                     'claim_count': 0}]},
     after=(REMAINS_M1,))
case('pop-0', 'message_delete_many', {**Q, 'pop': 0},
     **bad('Pop value must be at least 1 and may not be greater than 20.'))
case('pop-21', 'message_delete_many', {**Q, 'pop': 21},
     **bad('Pop value must be at least 1 and may not be greater than 20.'))
case('pop-not-int', 'message_delete_many', {**Q, 'pop': 'one'},
     **bad_param('pop', 'an integer'))
case('ids-and-pop', 'message_delete_many', {**Q, 'ids': ['a'], 'pop': 1},
     **bad('ids and pop may not be specified at the same time.'))
case('neither', 'message_delete_many', Q,
     **bad('ids or pop must be specified.'))
case('21-ids', 'message_delete_many',
     {**Q, 'ids': [f'i{n}' for n in range(21)]}, **IDS_20)

# -- claims
case('one', 'claim_create', {**Q, 'limit': 1}, {'ttl': 300, 'grace': 60},
     setup=(post(),), status=201,
     data={'claim_id': '$new0',
           'messages': [message(0, claim_id='$new0')]},
     after=(then('queue_get_stats', Q, 200,
                 stats(1, 1, oldest='$m0', newest='$m1')),))
case('defaults', 'claim_create', Q, setup=(post(),), status=201,
     data={'claim_id': '$new0',
           'messages': [message(0, claim_id='$new0'),
                        message(1, claim_id='$new0')]},
     after=(then('claim_get', {**Q, 'claim_id': '$new0'}, 200, {
         'id': '$new0', 'ttl': 300,
         'messages': [message(0, claim_id='$new0'),
                      message(1, claim_id='$new0')]}),))
case('nulls-mean-defaults', 'claim_create', {**Q, 'limit': '1'},
     {'ttl': None, 'grace': None}, setup=(post(),), status=201,
     data={'claim_id': '$new0',
           'messages': [message(0, claim_id='$new0')]})
case('nothing-free', 'claim_create', Q, {'ttl': 60},
     setup=(post(), claim(2)), status=204)
case('missing-queue', 'claim_create', Q, status=204, after=(NO_QUEUES,))
case('ttl-59', 'claim_create', Q, {'ttl': 59}, **CLAIM_TTL)
case('ttl-43201', 'claim_create', Q, {'ttl': 43201}, **CLAIM_TTL)
case('grace-59', 'claim_create', Q, {'grace': 59}, **CLAIM_GRACE)
case('ttl-string', 'claim_create', Q, {'ttl': '300'},
     **bad_body(INT_FIELD.format('ttl')))
case('grace-true', 'claim_create', Q, {'grace': True},
     **bad_body(INT_FIELD.format('grace')))
case('limit-0', 'claim_create', {**Q, 'limit': 0}, **LIMIT_20)
case('limit-not-int', 'claim_create', {**Q, 'limit': 'all'},
     **bad_param('limit', 'an integer'))

C = {**Q, 'claim_id': '$c'}
CLAIM_C = {'id': '$c', 'ttl': 300, 'messages': [message(0, claim_id='$c')]}
case('one', 'claim_get', C, setup=(post(), claim()), status=200,
     data=CLAIM_C)
CLAIM_GONE = error(404, 'Not found', 'Claim $c does not exist in queue q, '
                                    'or it has expired.')
case('released', 'claim_get', C,
     setup=(post(), claim(), Step('claim_delete', C)), **CLAIM_GONE)
case('renew', 'claim_update', C, {'ttl': 600, 'grace': 60},
     setup=(post(), claim()), status=204,
     after=(then('claim_get', C, 200, {**CLAIM_C, 'ttl': 600}),))
case('defaults', 'claim_update', C, {}, setup=(post(), claim(ttl=600)),
     status=204, after=(then('claim_get', C, 200, CLAIM_C),))
# As for queue_share: only REST can leave the document out.
case('no-body', 'claim_update', C, setup=(post(), claim()),
     **bad_body('Request body can not be empty'), transports=('rest',))
case('grace-below-60', 'claim_update', C, {'ttl': 300, 'grace': 30},
     setup=(post(), claim()), status=204)
case('released', 'claim_update', C, {'ttl': 600},
     setup=(post(), claim(), Step('claim_delete', C)), **CLAIM_GONE)
case('ttl-30', 'claim_update', C, {'ttl': 30}, setup=(post(), claim()),
     **CLAIM_TTL)
case('ttl-string', 'claim_update', C, {'ttl': '600'},
     setup=(post(), claim()), **bad_body(INT_FIELD.format('ttl')))
case('release', 'claim_delete', C, setup=(post(), claim()), status=204,
     after=(listing([message(0), message(1)]),))
case('released', 'claim_delete', C,
     setup=(post(), claim(), Step('claim_delete', C)), status=204)

# -- subscriptions
S = {**Q, 'subscription_id': '$s'}
CONFIRM = Step('subscription_confirm', S, {'confirmed': True})
SUBSCRIBER_TYPES = bad(
    "The subscriber type of subscription must be supported in the list "
    "['http', 'https', 'mailto', 'trust+http', 'trust+https'].")
case('http', 'subscription_create', Q, SUBSCRIPTION, status=201,
     data={'subscription_id': '$new0'},
     after=(then('subscription_get', {**Q, 'subscription_id': '$new0'}, 200,
                 {**SHOWN, 'id': '$new0'}), ONLY_Q))
case('again-unconfirmed', 'subscription_create', Q, SUBSCRIPTION,
     setup=(subscribe(),), status=201, data={'subscription_id': '$s'})
case('again-confirmed', 'subscription_create', Q, SUBSCRIPTION,
     setup=(subscribe(), CONFIRM),
     **error(409, 'Resource conflict', Like('.+')))
case('ttl-59', 'subscription_create', Q, {**SUBSCRIPTION, 'ttl': 59},
     **bad('The TTL for a subscription must be at least 60 seconds long and '
           'may not exceed 2147483647 seconds.'))
case('ttl-string', 'subscription_create', Q, {**SUBSCRIPTION, 'ttl': '60'},
     **bad('TTL must be an integer.'))
case('scheme', 'subscription_create', Q,
     {**SUBSCRIPTION, 'subscriber': 'ftp://example.com/'},
     **SUBSCRIBER_TYPES)
case('ws-subscriber', 'subscription_create', Q,
     {**SUBSCRIPTION, 'subscriber': 'ws://127.0.0.1:9000/'},
     **SUBSCRIBER_TYPES)
case('options-not-object', 'subscription_create', Q,
     {**SUBSCRIPTION, 'options': ['k']}, **bad('Options must be a dict.'))
case('unknown-key', 'subscription_create', Q,
     {**SUBSCRIPTION, 'bogus': 1}, **bad("Unknown keys: ['bogus']"))

case('empty', 'subscription_list', Q, status=200,
     data={'subscriptions': []})
case('one', 'subscription_list', Q, setup=(subscribe(),), status=200,
     data={'subscriptions': [SHOWN], 'next': {'marker': '$s'}})
case('limit-0', 'subscription_list', {**Q, 'limit': 0}, **LIMIT_20)
case('limit-not-int', 'subscription_list', {**Q, 'limit': 'x'},
     **bad_param('limit', 'an integer'))

case('one', 'subscription_get', S, setup=(subscribe(),), status=200,
     data=SHOWN)
case('other-queue', 'subscription_get', {**S, 'queue_name': 'other'},
     setup=(subscribe(),), **error(404, 'Not found', Like('.+')))
case('deleted', 'subscription_get', S,
     setup=(subscribe(), Step('subscription_delete', S)),
     **error(404, 'Not found', Like('.+')))

case('ttl', 'subscription_update', S, {'ttl': 7200}, setup=(subscribe(),),
     status=204,
     after=(then('subscription_get', S, 200, {**SHOWN, 'ttl': 7200}),))
case('empty', 'subscription_update', S, {}, setup=(subscribe(),),
     **bad('No subscription to create.'))
case('ttl-59', 'subscription_update', S, {'ttl': 59}, setup=(subscribe(),),
     **bad('The TTL for a subscription must be at least 60 seconds long and '
           'may not exceed 2147483647 seconds.'))
case('deleted', 'subscription_update', S, {'ttl': 7200},
     setup=(subscribe(), Step('subscription_delete', S)),
     **error(404, 'Not found', Like('.+')))

case('existing', 'subscription_delete', S, setup=(subscribe(),),
     status=204, after=(NO_SUBSCRIPTIONS,))
case('missing', 'subscription_delete', {**Q, 'subscription_id': 'nope'},
     status=204)

case('true', 'subscription_confirm', S, {'confirmed': True},
     setup=(subscribe(),), status=204,
     after=(then('subscription_get', S, 200, {**SHOWN, 'confirmed': True}),))
case('not-bool', 'subscription_confirm', S, {'confirmed': 'yes'},
     setup=(subscribe(),), **bad("The 'confirmed' should be boolean."))
case('deleted', 'subscription_confirm', S, {'confirmed': True},
     setup=(subscribe(), Step('subscription_delete', S)),
     **error(404, 'Not found', Like('.+')))

# -- topics: the queue actions in a namespace of their own
T = {'queue_name': 't'}
T_CREATE = create('t', action='topic_create')
T_POST = post('t', action='topic_message_post')
T_SUBSCRIBE = subscribe('t', action='topic_subscription_create')
T_SHOWN = {**SHOWN, 'source': 't'}
TS = {**T, 'subscription_id': '$s'}
T_REMAINS_M1 = then('topic_message_get_many', {**T, 'ids': ['$m0', '$m1']},
                    200, {'messages': [message(1)]})
case('empty', 'topic_list', status=200, data={'topics': []})
case('one', 'topic_list', setup=(T_CREATE, create('q')), status=200,
     data={'topics': [{'name': 't'}], 'next': {'marker': 't'}})
case('limit-0', 'topic_list', {'limit': 0}, **LIMIT_20)
case('new', 'topic_create', T, status=201, after=(
    then('topic_list', {}, 200, {'topics': [{'name': 't'}],
                                 'next': {'marker': 't'}}), NO_QUEUES))
case('missing', 'topic_get', T, status=200, data=TOPIC_DEFAULTS)
case('missing', 'topic_update', T,
     [{'op': 'add', 'path': '/metadata/k', 'value': 1}],
     **error(404, 'Not found', 'Topic t does not exist for project '
                               '$project.'))
case('add', 'topic_update', T,
     [{'op': 'add', 'path': '/metadata/k', 'value': 1}], setup=(T_CREATE,),
     status=200, data={**TOPIC_DEFAULTS, 'k': 1})
case('existing', 'topic_delete', T, setup=(T_CREATE,), status=204,
     after=(then('topic_list', {}, 200, {'topics': []}),))
case('two', 'topic_get_stats', T, setup=(T_POST,), status=200,
     data=stats(0, 2, oldest='$m0', newest='$m1'))
case('messages', 'topic_purge', T, {'resource_types': ['messages']},
     setup=(T_POST,), status=204,
     after=(then('topic_get_stats', T, 200, stats()),))
case('one', 'topic_message_post', T, {'messages': [{'body': 'two'}]},
     status=201, data={'message_ids': ['$new0']},
     after=(then('topic_message_list', {**T, 'echo': True}, 200, {
         'messages': [{'id': '$new0', 'ttl': 3600, 'body': 'two',
                       'claim_id': None}], 'next': NEXT_MESSAGES}),
         then('message_list', {**T, 'echo': True}, 200, {'messages': []}),
         NO_QUEUES))
case('echo', 'topic_message_list', {**T, 'echo': True}, setup=(T_POST,),
     status=200, data={'messages': [message(0), message(1)],
                       'next': NEXT_MESSAGES})
case('two', 'topic_message_get_many', {**T, 'ids': ['$m0', '$m1']},
     setup=(T_POST,), status=200,
     data={'messages': [message(0), message(1)]})
case('ids', 'topic_message_delete_many', {**T, 'ids': ['$m0']},
     setup=(T_POST,), status=204, after=(T_REMAINS_M1,))
case('pop', 'topic_message_delete_many', {**T, 'pop': 1},
     setup=(T_POST,), status=200,
     data={'messages': [{**message(0), 'claim_id': Like('.*'),
                         'claim_count': 0}]},
     after=(T_REMAINS_M1,))
case('one', 'topic_message_get', {**T, 'message_id': '$m0'},
     setup=(T_POST,), status=200, data=message(0))
case('of-the-queue', 'topic_message_get', {**Q, 'message_id': '$m0'},
     setup=(post(),), **error(404, 'Not found', Like(
         r'Message \S+ does not exist in queue q\.')))
case('one', 'topic_message_delete', {**T, 'message_id': '$m0'},
     setup=(T_POST,), status=204, after=(T_REMAINS_M1,))
case('http', 'topic_subscription_create', T, SUBSCRIPTION, status=201,
     data={'subscription_id': '$new0'}, after=(
         then('topic_subscription_get', {**T, 'subscription_id': '$new0'},
              200, {**T_SHOWN, 'id': '$new0'}),
         then('subscription_list', T, 200, {'subscriptions': []})))
case('one', 'topic_subscription_list', T, setup=(T_SUBSCRIBE,), status=200,
     data={'subscriptions': [T_SHOWN], 'next': {'marker': '$s'}})
case('one', 'topic_subscription_get', TS, setup=(T_SUBSCRIBE,), status=200,
     data=T_SHOWN)
case('ttl', 'topic_subscription_update', TS, {'ttl': 7200},
     setup=(T_SUBSCRIBE,), status=204,
     after=(then('topic_subscription_get', TS, 200,
                 {**T_SHOWN, 'ttl': 7200}),))
case('existing', 'topic_subscription_delete', TS, setup=(T_SUBSCRIBE,),
     status=204,
     after=(then('topic_subscription_list', T, 200, {'subscriptions': []}),))
case('true', 'topic_subscription_confirm', TS, {'confirmed': True},
     setup=(T_SUBSCRIBE,), status=204,
     after=(then('topic_subscription_get', TS, 200,
                 {**T_SHOWN, 'confirmed': True}),))


# -- running a case ---------------------------------------------------------

def adapter(transport: str, servers: Servers, project_id: str,
            client_id: str) -> Rest | Ws:
    if transport == 'rest':
        return Rest(servers.http.url, project_id, client_id)
    return Ws(servers.ws.url, project_id, client_id)


@contextlib.contextmanager
def session(transport: str, servers: Servers
            ) -> Iterator[tuple[Rest | Ws, Names]]:
    """An adapter in a fresh project, and the names of its run."""
    project_id = uuid.uuid4().hex
    runner = adapter(transport, servers, project_id, str(uuid.uuid4()))
    try:
        yield runner, Names(project_id)
    finally:
        runner.close()


def run(runner: Rest | Ws, names: Names, step: Step) -> Outcome:
    return runner.call(step.action, names.resolve(step.args),
                       names.resolve(step.doc), step.headers)


def run_case(transport: str, servers: Servers, item: Case
             ) -> tuple[Outcome, list[Outcome]]:
    """The outcome of the case's action and of its checks afterwards."""
    with session(transport, servers) as (runner, names):
        for step in item.setup:
            done = run(runner, names, step)
            assert done.status < 300, (step, done)
            save(names, step, done)
        outcome = names.symbolic(item.step.action,
                                 run(runner, names, item.step))
        after = [names.symbolic(step.action, run(runner, names, step))
                 for step, _ in item.after]
    return outcome, after


def save(names: Names, step: Step, done: Outcome) -> None:
    if step.save is None:
        return
    data = done.data
    if 'message_ids' in data:
        for i, message_id in enumerate(data['message_ids']):
            names.save(f'{step.save}{i}', message_id, 'message')
    elif 'claim_id' in data:
        names.save(step.save, data['claim_id'], 'claim')
    else:
        names.save(step.save, data['subscription_id'], 'subscription')


TRANSPORTS = ('rest', 'ws')


@pytest.mark.parametrize(('transport', 'item'), [
    pytest.param(transport, item, id=f'{transport}-{item.id}',
                 marks=[pytest.mark.xfail(reason=item.bug, strict=True)]
                 if item.bug else [])
    for item in CASES for transport in item.transports])
def test_action(servers: Servers, transport: str, item: Case) -> None:
    outcome, after = run_case(transport, servers, item)
    assert outcome == item.expect, (transport, item.step)
    for (step, expected), seen in zip(item.after, after, strict=True):
        assert seen == expected, (transport, 'after', step)


def test_every_action_has_a_case() -> None:
    done = {item.step.action for item in CASES if item.expect.status < 300}
    assert done == set(ROUTES)
    assert len(ROUTES) == 48


@pytest.mark.parametrize('case_id', ['get_home_doc-admin-mode',
                                     'check_node_health-admin'])
def test_both_transports_give_the_same_data(servers: Servers,
                                            case_id: str) -> None:
    # The data the table does not pin, compared whole.
    [item] = [c for c in CASES if c.id == case_id]
    outcomes = [run_case(t, servers, item)[0] for t in TRANSPORTS]
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] == item.expect


# -- listings: paging with the next page each transport gives -------------

def _seven(runner: Rest | Ws, listing: str) -> tuple[dict, list[str]]:
    """Seven items for ``listing``: its arguments and the items' keys."""
    if listing == 'queue_list':
        names = [f'q{i}' for i in range(7)]
        for name in names:
            assert runner.call('queue_create',
                               {'queue_name': name}).status == 201
        return {}, names
    if listing == 'message_list':
        done = runner.call('message_post', Q, {'messages': [
            {'body': i} for i in range(7)]})
        assert done.status == 201, done
        return {**Q, 'echo': True}, done.data['message_ids']
    ids = []
    for i in range(7):
        done = runner.call('subscription_create', Q, {
            'subscriber': f'{HOOK}{i}', 'ttl': 3600})
        assert done.status == 201, done
        ids.append(done.data['subscription_id'])
    return Q, ids


@pytest.mark.parametrize('listing', ['queue_list', 'message_list',
                                     'subscription_list'])
@pytest.mark.parametrize('transport', TRANSPORTS)
def test_paging_reaches_every_item_once(servers: Servers, transport: str,
                                        listing: str) -> None:
    key = {'queue_list': 'name'}.get(listing, 'id')
    collection = {'queue_list': 'queues', 'message_list': 'messages',
                  'subscription_list': 'subscriptions'}[listing]
    with session(transport, servers) as (runner, _):
        args, expected = _seven(runner, listing)
        seen: list[str] = []
        page: dict[str, Any] = {}
        for _ in range(10):
            done = runner.call(listing, {**args, 'limit': 2, **page})
            assert done.status == 200, done
            items = done.data[collection]
            assert len(items) <= 2, done
            if not items:
                # As upstream: a next page after every non-empty one.
                assert 'next' not in done.data, done
                break
            seen += [item[key] for item in items]
            page = done.data['next']
        else:
            pytest.fail(f'no end of {listing} after 10 pages: {seen}')
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen)) == 7


# -- encryption: sealed whatever transport posts, opened whatever reads ---

def _post_both_ways(servers: Servers, project_id: str, client_id: str,
                    queue: str) -> tuple[str, str]:
    """One message posted over each transport: (over WS, over REST)."""
    ws = Ws(servers.ws.url, project_id, client_id)
    rest = Rest(servers.http.url, project_id, client_id)
    try:
        by_ws = ws.call('message_post', {'queue_name': queue}, {
            'messages': [{'body': {'via': 'ws', 'secret': SECRET}}]})
        by_rest = rest.call('message_post', {'queue_name': queue}, {
            'messages': [{'body': {'via': 'rest', 'secret': SECRET}}]})
    finally:
        ws.close()
        rest.close()
    assert by_ws.status == by_rest.status == 201, (by_ws, by_rest)
    return by_ws.data['message_ids'][0], by_rest.data['message_ids'][0]


def test_encrypted_bodies_read_in_clear_over_both(servers: Servers) -> None:
    project_id, client_id = uuid.uuid4().hex, str(uuid.uuid4())
    rest = Rest(servers.http.url, project_id, client_id)
    assert rest.call('queue_create', Q,
                     {'_enable_encrypt_messages': True}).status == 201
    ids = _post_both_ways(servers, project_id, client_id, 'q')
    expected = [{'via': 'ws', 'secret': SECRET},
                {'via': 'rest', 'secret': SECRET}]
    for runner in (rest, Ws(servers.ws.url, project_id, client_id)):
        try:
            listed = runner.call('message_list', {**Q, 'echo': True})
            assert [m['body'] for m in listed.data['messages']] == expected
            for message_id, body in zip(ids, expected, strict=True):
                got = runner.call('message_get', {**Q,
                                                  'message_id': message_id})
                assert got.data['body'] == body, runner.name
            claimed = runner.call('claim_create', Q, {'ttl': 60})
            assert [m['body'] for m in claimed.data['messages']] == expected
            released = runner.call('claim_delete', {
                **Q, 'claim_id': claimed.data['claim_id']})
            assert released.status == 204, released
        finally:
            runner.close()


@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_websocket_posts_are_sealed_at_rest(servers: Servers,
                                            make_server) -> None:
    # A server with another key shows bodies as stored: sealed envelopes
    # for the encrypted queue, whichever transport posted them.
    other = make_server(transport={'message_encryption_key': 'another'},
                        **same_store(servers.http))
    project_id, client_id = uuid.uuid4().hex, str(uuid.uuid4())
    rest = Rest(servers.http.url, project_id, client_id)
    try:
        assert rest.call('queue_create', Q,
                         {'_enable_encrypt_messages': True}).status == 201
        assert rest.call('queue_create', {'queue_name': 'plain'}
                         ).status == 201
    finally:
        rest.close()
    sealed = _post_both_ways(servers, project_id, client_id, 'q')
    plain = _post_both_ways(servers, project_id, client_id, 'plain')
    reader = Rest(other.url, project_id, client_id)
    try:
        for queue, ids in (('q', sealed), ('plain', plain)):
            for message_id, via in zip(ids, ('ws', 'rest'), strict=True):
                got = reader.call('message_get', {'queue_name': queue,
                                                  'message_id': message_id})
                assert got.status == 200, got
                body = got.data['body']
                if queue == 'plain':
                    assert body == {'via': via, 'secret': SECRET}
                else:
                    assert isinstance(body, str), (via, body)
                    assert body.startswith('zqenc:1:'), (via, body)
                    assert 'plain text' not in body, (via, body)
    finally:
        reader.close()


# -- input that is not text: a 400 on both, never a 5xx or a drop ---------


def _status(transport: str, servers: Servers, action: str,
            args: dict[str, Any], doc: Any = NO_DOC) -> int:
    with session(transport, servers) as (runner, _):
        try:
            return runner.call(action, args, doc).status
        except requests.ConnectionError as exc:
            pytest.fail(f'connection dropped: {exc}')


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_a_subscriber_that_is_not_text_is_400(servers: Servers,
                                              transport: str) -> None:
    # A lone surrogate (a "\ud800" escape in the JSON): no URI.
    assert _status(transport, servers, 'subscription_create', Q, {
        'subscriber': 'http://example.com/\ud800', 'ttl': 60}) == 400


@pytest.mark.parametrize('transport', TRANSPORTS)
def test_a_queue_name_that_is_not_text_is_400(servers: Servers,
                                              transport: str) -> None:
    # REST: %FF, which is no UTF-8; WebSocket frames are UTF-8, so a
    # lone surrogate escape stands for it.
    if transport == 'ws':
        assert _status(transport, servers, 'queue_get_stats',
                       {'queue_name': '\udcff'}) == 400
        return
    try:
        resp = servers.http.client().get('/v2/queues/%FF/stats')
    except requests.ConnectionError as exc:
        pytest.fail(f'connection dropped: {exc}')
    assert resp.status_code == 400, resp.text
