"""Smoke: the WebSocket server beside each backend's HTTP server."""

from .helpers import ApiClient
from .helpers import Server
from .wsclient import WsClient


def test_a_message_posted_over_http_is_pushed(ws_server: Server,
                                              client: ApiClient) -> None:
    with WsClient(ws_server.url, project_id=client.project_id) as ws:
        assert ws.call('queue_create', queue_name='q').status == 201
        assert ws.call('subscription_create', queue_name='q',
                       ttl=600).status == 201
        client.post_messages('q', {'n': 1})
        assert ws.push(10)['body'] == {'n': 1}


def test_a_connection_subscription_keeps_its_subscriber(
        ws_server: Server, client: ApiClient) -> None:
    with WsClient(ws_server.url, project_id=client.project_id) as ws:
        created = ws.call('subscription_create', queue_name='q', ttl=600)
        assert created.status == 201
        sid = created.body['subscription_id']
        path = f'/v2/queues/q/subscriptions/{sid}'
        resp = client.patch(path, json={'subscriber': 'http://127.0.0.1:9/'})
        assert resp.status_code == 400, resp.text
        assert 'cannot change' in resp.json()['description']
        # Its TTL and options may change, as any subscription's.
        assert client.patch(path, json={'options': {'a': 1}}
                            ).status_code == 204
        assert client.get(path).json()['subscriber'].startswith('ws://')
