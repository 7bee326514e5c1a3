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
