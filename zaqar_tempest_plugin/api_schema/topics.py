"""Topic responses: as queues' (a topic is a queue for fan-out)."""

import copy

from zaqar_tempest_plugin.api_schema import common
from zaqar_tempest_plugin.api_schema import queues

TOPIC = copy.deepcopy(queues.QUEUE)

list_topics = {
    'status_code': [200],
    'response_body': {
        'type': 'object',
        'properties': {
            'topics': {'type': 'array', 'items': TOPIC},
            'links': common.LINKS,
            'count': common.NON_NEGATIVE,
        },
        'required': ['topics', 'links'],
        'additionalProperties': False,
    },
}

create_topic = queues.create_queue
get_topic = {'status_code': [200], 'response_body': {'type': 'object'}}
update_topic = {'status_code': [200], 'response_body': {'type': 'object'}}
delete_topic = common.NO_CONTENT
topic_stats = queues.queue_stats
purge_topic = common.NO_CONTENT
