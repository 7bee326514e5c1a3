"""Store URIs with their secrets hidden."""

from __future__ import annotations

import pytest
from oslo_config import cfg

from zaqar_core import conf as zconf
from zaqar_core import uris


@pytest.mark.parametrize('uri, shown', [
    ('sqlite:////var/lib/zaqar/zaqar.sqlite',
     'sqlite:////var/lib/zaqar/zaqar.sqlite'),
    ('postgresql+psycopg2://zaqar:s3cret@db:5432/zaqar',
     'postgresql+psycopg2://zaqar:***@db:5432/zaqar'),
    ('mysql+pymysql://zaqar@db/zaqar', 'mysql+pymysql://***@db/zaqar'),
    ('redis://:pw@127.0.0.1:6379', 'redis://:***@127.0.0.1:6379'),
    ('redis://user:p@ss/w@h:1?dbid=2', 'redis://user:***@h:1?dbid=2'),
    ('redis://:pw@/run/redis.sock', 'redis://:***@/run/redis.sock'),
    ('redis+cluster://:pw@h1:7000,h2:7001',
     'redis+cluster://:***@h1:7000,h2:7001'),
    ('redis://h1:26379,h2:26379?master=m&sentinel_password=x&dbid=1',
     'redis://h1:26379,h2:26379?master=m&sentinel_password=***&dbid=1'),
    ('redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'),
    ('not a uri', 'not a uri'),
])
def test_redacted(uri: str, shown: str) -> None:
    assert uris.redacted(uri) == shown


def test_describe_stores_names_each_store_by_its_uri() -> None:
    conf = cfg.ConfigOpts()
    zconf.register_opts(conf)
    conf([], default_config_files=[], default_config_dirs=[])
    conf.set_override('message_store', 'redis', group='drivers')
    conf.set_override('uri', 'redis://:pw@r:6379',
                      group='drivers:message_store:redis')
    conf.set_override('uri', 'postgresql://z:pw@db/z',
                      group='drivers:management_store:sqlalchemy')
    assert uris.describe_stores(conf) == (
        'message store redis://:***@r:6379, management store '
        'postgresql://z:***@db/z')
    # A driver without a uri option is named instead.
    conf.register_opts([], group='drivers:management_store:memory')
    conf.set_override('management_store', 'memory', group='drivers')
    assert uris.describe_stores(conf).endswith('management store memory')
