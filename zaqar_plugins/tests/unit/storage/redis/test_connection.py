"""Redis store URIs: upstream's forms, plus ``redis+cluster://``."""

from __future__ import annotations

import pytest
import redis
import redis.cluster

from zaqar_core.storage import errors
from zaqar_plugins.storage.redis import connection
from zaqar_plugins.storage.redis.connection import RedisURI


@pytest.mark.parametrize('uri, expected', [
    ('redis://127.0.0.1', RedisURI('server', (('127.0.0.1', 6379),))),
    ('redis://example.org:7000',
     RedisURI('server', (('example.org', 7000),))),
    ('redis://[::1]:7000', RedisURI('server', (('::1', 7000),))),
    # Upstream ignores a /N path; here it names the database...
    ('redis://h:1/3', RedisURI('server', (('h', 1),), db=3)),
    # ...unless dbid says otherwise, as upstream documents.
    ('redis://h:1/3?dbid=5', RedisURI('server', (('h', 1),), db=5)),
    ('redis://h?dbid=2&socket_timeout=0.5',
     RedisURI('server', (('h', 6379),), db=2, socket_timeout=0.5)),
    ('redis://:s%40cret@h', RedisURI('server', (('h', 6379),),
                                     password='s@cret')),
    ('redis://alice:pw@h', RedisURI('server', (('h', 6379),),
                                    username='alice', password='pw')),
    # Upstream's deprecated form: a password without the colon.
    ('redis://pw@h', RedisURI('server', (('h', 6379),), password='pw')),
    ('redis:///var/run/redis.sock',
     RedisURI('unix', path='/var/run/redis.sock')),
    ('redis://:pw@/tmp/r.sock?dbid=1',
     RedisURI('unix', path='/tmp/r.sock', db=1, password='pw')),
    ('redis://s1:26379,s2?master=mymaster&sentinel_password=sp',
     RedisURI('sentinel', (('s1', 26379), ('s2', 26379)),
              master='mymaster', sentinel_password='sp')),
    ('redis://s1?master=m', RedisURI('sentinel', (('s1', 26379),),
                                     master='m')),
    ('redis+cluster://n1:7000,n2:7001',
     RedisURI('cluster', (('n1', 7000), ('n2', 7001)))),
    ('redis+cluster://:pw@n1', RedisURI('cluster', (('n1', 6379),),
                                        password='pw')),
])
def test_parse(uri: str, expected: RedisURI) -> None:
    assert connection.parse_uri(uri) == expected


@pytest.mark.parametrize('uri', [
    'http://h', 'redis:/h', 'mongodb://h', 'redis://h:port',
    'redis://h1,h2',  # several hosts need ?master= (Sentinel)
    'redis://h?dbid=x', 'redis://h?socket_timeout=soon', 'redis://h/x',
])
def test_invalid_uris_are_refused_without_the_password(uri: str) -> None:
    with pytest.raises(errors.Unavailable, match='Invalid Redis URI'):
        connection.parse_uri(uri)
    with pytest.raises(errors.Unavailable) as caught:
        connection.parse_uri(uri.replace('://', '://:topsecret@', 1))
    assert 'topsecret' not in str(caught.value)


def test_clients_by_kind() -> None:
    server = connection.make_client('redis://127.0.0.1:1?dbid=4')
    assert isinstance(server, redis.Redis)
    kwargs = server.connection_pool.connection_kwargs
    assert (kwargs['host'], kwargs['port'], kwargs['db']) == \
        ('127.0.0.1', 1, 4)
    unix = connection.make_client('redis:///tmp/none.sock')
    assert unix.connection_pool.connection_kwargs['path'] == \
        '/tmp/none.sock'


def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    from oslo_config import cfg

    from zaqar_core import conf as zconf
    from zaqar_plugins.storage.redis import driver

    conf = zconf.register_opts(cfg.ConfigOpts())
    conf([], project='zaqar', default_config_files=[],
         default_config_dirs=[])
    group = 'drivers:message_store:redis'
    conf.set_override('uri', 'redis://127.0.0.1:1?socket_timeout=0.2',
                      group=group)
    conf.set_override('max_reconnect_attempts', 0, group=group)
    data = driver.DataDriver(conf, conf[group])
    assert data.is_alive() is False
    with pytest.raises(errors.Unavailable):
        data.message_controller.stats('p', 'q')


@pytest.mark.parametrize('args', [
    ('EVALSHA', 'f' * 40, 2, 'k1', 'k2', 'é\n', 0, -7, 300, 1.5,
     1726000000.1234567, 3.3000000000000003, b'\x00\xff', ''),
    ('CLIENT SETNAME', 'zaqar'),
    ('GET', memoryview(b'key')),
])
def test_the_packer_packs_as_redis_py_does(args: tuple) -> None:
    theirs = redis.connection.PythonRespSerializer(
        6000, redis.connection.Encoder('utf-8', 'strict', False).encode)
    assert b''.join(connection.PACKER.pack(*args)) == \
        b''.join(theirs.pack(*args))


@pytest.mark.parametrize('value', [True, None, object()])
def test_the_packer_refuses_what_redis_py_refuses(value: object) -> None:
    with pytest.raises(redis.exceptions.DataError):
        connection.PACKER.pack('SET', 'k', value)


def test_a_server_client_packs_with_hiredis_alone() -> None:
    client = connection.make_client('redis://127.0.0.1:1')
    assert client.connection_pool.connection_kwargs['command_packer'] \
        is connection.PACKER
