"""Fill an upstream Zaqar deployment through upstream's own storage layer,
for ``tools/perf/import_upstream.py``.

Run with upstream's interpreter (the virtualenv of
:mod:`zaqar_testing.upstream`), never this project's: it imports upstream
Zaqar, so the data is in upstream's layout because upstream wrote it::

    VENV/bin/python tools/perf/upstream_fill.py UPSTREAM.conf QUEUES MESSAGES

Queues ``q00000``... spread over 10 projects; messages spread evenly over
the queues, posted 100 at a time (upstream's API allows 10 per request;
its storage layer takes more, which only makes filling faster).
"""

import sys
import time
import uuid

from oslo_config import cfg
from zaqar import bootstrap

PROJECTS = 10
PER_POST = 100


def main(conf_path: str, queues: int, messages: int) -> None:
    conf = cfg.ConfigOpts()
    conf(['--config-file', conf_path], project='zaqar')
    storage = bootstrap.Bootstrap(conf).storage
    client = str(uuid.uuid4())
    started = time.monotonic()
    posted = 0
    for i in range(queues):
        name, project = f'q{i:05d}', f'project-{i % PROJECTS}'
        storage.queue_controller.create(name, metadata={'n': i},
                                        project=project)
        share = messages // queues + (1 if i < messages % queues else 0)
        for start in range(0, share, PER_POST):
            batch = [{'ttl': 86400, 'body': {'event': 'resize', 'n': k,
                                             'server': str(uuid.uuid4())}}
                     for k in range(start, min(start + PER_POST, share))]
            storage.message_controller.post(name, batch, client,
                                            project=project)
            posted += len(batch)
        if i % 1000 == 999:
            print(f'{i + 1} queues, {posted} messages, '
                  f'{time.monotonic() - started:.0f} s', flush=True)
    print(f'filled: {queues} queues, {posted} messages in '
          f'{time.monotonic() - started:.0f} s', flush=True)


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
