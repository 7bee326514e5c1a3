"""The JSON-Home document served at ``GET /v2/``."""

from collections.abc import Collection
from typing import Any

_JSON = {'application/json': {}}
_REL = 'rel/'


def _entry(template: str, variables: dict[str, str], allow: list[str],
           accept_post: bool = False) -> dict[str, Any]:
    hints: dict[str, Any] = {'allow': allow, 'formats': _JSON}
    if accept_post:
        hints['accept-post'] = ['application/json']
    if variables:
        return {'href-template': template, 'href-vars': variables,
                'hints': hints}
    return {'href': template, 'hints': hints}


_QUEUE = {'queue_name': 'param/queue_name'}
_MESSAGE = dict(_QUEUE, message_id='param/message_id')
_CLAIM = dict(_QUEUE, claim_id='param/claim_id')
_SUBSCRIPTION = dict(_QUEUE, subscription_id='param/subscription_id')
_Q = '/v2/queues/{queue_name}'


def document(switches: Collection[str] = ()) -> dict[str, Any]:
    """The resources this server has with the ``[DEFAULT]`` ``switches``
    on (each one is routed; a test checks it), under upstream's relation
    names."""
    resources = {
        'queues': _entry('/v2/queues{?marker,limit,detailed}',
                         {'marker': 'param/marker',
                          'limit': 'param/queue_limit',
                          'detailed': 'param/detailed'}, ['GET']),
        'queue': _entry(_Q, _QUEUE, ['GET', 'PUT', 'DELETE', 'PATCH']),
        'queue_stats': _entry(_Q + '/stats', _QUEUE, ['GET']),
        'queue_purge': _entry(_Q + '/purge', _QUEUE, ['POST'], True),
        'queue_share': _entry(_Q + '/share', _QUEUE, ['POST'], True),
        'messages': _entry(
            _Q + '/messages{?marker,limit,echo,include_claimed}',
            dict(_QUEUE, marker='param/marker',
                 limit='param/messages_limit', echo='param/echo',
                 include_claimed='param/include_claimed'), ['GET']),
        'post_messages': _entry(_Q + '/messages', _QUEUE, ['POST'], True),
        'messages_delete': _entry(_Q + '/messages{?ids,pop}',
                                  dict(_QUEUE, ids='param/ids',
                                       pop='param/pop'), ['DELETE']),
        'message_delete': _entry(_Q + '/messages/{message_id}{?claim}',
                                 dict(_MESSAGE, claim='param/claim_id'),
                                 ['DELETE']),
        'message_get': _entry(_Q + '/messages/{message_id}', _MESSAGE,
                              ['GET']),
        'claim': _entry(_Q + '/claims/{claim_id}', _CLAIM, ['GET']),
        'post_claim': _entry(_Q + '/claims{?limit}',
                             dict(_QUEUE, limit='param/claim_limit'),
                             ['POST'], True),
        'patch_claim': _entry(_Q + '/claims/{claim_id}', _CLAIM, ['PATCH'],
                              True),
        'delete_claim': _entry(_Q + '/claims/{claim_id}', _CLAIM,
                               ['DELETE']),
        'subscriptions_get': _entry(
            _Q + '/subscriptions{?marker,limit}',
            dict(_QUEUE, marker='param/marker',
                 limit='param/subscription_limit'), ['GET']),
        'subscriptions_post': _entry(_Q + '/subscriptions', _QUEUE,
                                     ['POST'], True),
        'subscription': _entry(_Q + '/subscriptions/{subscription_id}',
                               _SUBSCRIPTION, ['GET', 'DELETE']),
        'subscription_patch': _entry(
            _Q + '/subscriptions/{subscription_id}', _SUBSCRIPTION,
            ['PATCH'], True),
        'ping': _entry('/v2/ping', {}, ['GET']),
    }
    if 'admin_mode' in switches:
        resources['health'] = _entry('/v2/health', {}, ['GET'])
    if {'admin_mode', 'pooling'} <= set(switches):
        resources.update(_pooling())
    return {'resources': {_REL + key: value
                          for key, value in resources.items()}}


def _pooling() -> dict[str, Any]:
    listing = {'marker': 'param/marker', 'limit': 'param/limit',
               'detailed': 'param/detailed'}
    return {
        'pools': _entry('/v2/pools{?marker,limit,detailed}', listing,
                        ['GET']),
        'pool': _entry('/v2/pools/{pool_name}',
                       {'pool_name': 'param/pool_name'},
                       ['GET', 'PUT', 'PATCH', 'DELETE']),
        'flavors': _entry('/v2/flavors{?marker,limit,detailed}', listing,
                          ['GET']),
        'flavor': _entry('/v2/flavors/{flavor_name}',
                         {'flavor_name': 'param/flavor_name'},
                         ['GET', 'PUT', 'PATCH', 'DELETE']),
    }
