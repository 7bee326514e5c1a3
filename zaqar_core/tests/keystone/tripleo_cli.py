"""What the TripleO CLI does to follow a Mistral workflow, with
python-tripleoclient 12.6.0's own classes: a standalone script that
``test_websocket.py`` runs with the Python of ``.stack/clients-venv``
(python-tripleoclient is not, and must not be, in the project's
virtualenv).

As ``openstack overcloud ...`` does: an osc-lib ``ClientManager`` logs in
to Keystone with a password, ``tripleoclient.plugin``'s ``make_client``
wraps it, ``messaging_websocket(queue)`` opens a ``WebsocketClient`` on the
catalog's ``messaging-websocket`` public endpoint (authenticate,
queue_create, subscription_create), and
``tripleoclient.workflows.base.wait_for_messages`` yields the payloads of
the pushes that concern the execution until one ends it.

Argument: a JSON object with ``auth_url``, ``username``, ``password``,
``project_id``, ``queue``, ``execution_id`` and ``timeout`` (seconds
``wait_for_messages`` waits for each push).

Output, one JSON object a line: ``{"subscribed": <endpoint>, "project_id":
...}`` once the WebsocketClient is set up, ``{"payload": ...}`` for each
payload yielded, ``{"done": true}`` at the end.
"""

import json
import sys
import types

import openstack.config
from osc_lib import clientmanager
from tripleoclient import plugin
from tripleoclient.workflows import base


def emit(document):
    print(json.dumps(document), flush=True)


def main():
    args = json.loads(sys.argv[1])
    cloud = openstack.config.OpenStackConfig(
        load_yaml_config=False, load_envvars=False).get_one(
            auth_type='password', auth={
                'auth_url': args['auth_url'],
                'username': args['username'],
                'password': args['password'],
                'project_id': args['project_id'],
                'user_domain_id': 'default',
                'project_domain_id': 'default'},
            region_name='RegionOne', interface='public')
    manager = clientmanager.ClientManager(cli_options=cloud, api_version={})
    # What OpenStackShell.prepare_to_run_command does for a command that
    # needs authentication (every TripleO one).
    manager._auth_required = True
    manager.setup_auth()
    endpoint = manager.get_endpoint_for_service_type('messaging-websocket')
    # What Mistral's executions.create returns; only its id is read.
    execution = types.SimpleNamespace(id=args['execution_id'])
    wrapper = plugin.make_client(manager)
    with wrapper.messaging_websocket(args['queue']) as websocket:
        emit({'subscribed': endpoint,
              'project_id': manager.auth_ref.project_id})
        for payload in base.wait_for_messages(None, websocket, execution,
                                              timeout=args['timeout']):
            emit({'payload': payload})
    emit({'done': True})


if __name__ == '__main__':
    main()
