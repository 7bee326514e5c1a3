"""The message id permutation and its key cache."""

from __future__ import annotations

import timeit

import pytest

from zaqar_core.storage import errors
from zaqar_core.storage import ids

KEY = ids.new_key()


@pytest.fixture
def codec() -> ids.MessageIds:
    return ids.MessageIds(KEY)


@pytest.mark.parametrize('number', [1, 2, 3, 255, 2 ** 32, 2 ** 48 + 7,
                                    ids.MAX_NUMBER])
def test_ids_decode_to_what_they_encode(codec: ids.MessageIds,
                                        number: int) -> None:
    message_id = codec.encode(number)
    assert len(message_id) == 24
    assert all(c in '0123456789abcdef' for c in message_id)
    assert codec.decode(message_id) == number


@pytest.mark.parametrize(('number', 'message_id'), [
    (1, '00024e108ca57179465b18ad'), (2, '7a206e1d32d67bfe579752b0'),
    (12345, 'b1306f834a8a4be6a2c95be9'),
    (2 ** 48 + 7, '43d98582736de6b52099dff1'),
    (ids.MAX_NUMBER, 'e7648f33574593de9d073f0b')])
def test_ids_never_change(number: int, message_id: str) -> None:
    # Clients keep ids across upgrades: the permutation of a key is fixed
    # for good (these are what the first version of ids.py gave).
    codec = ids.MessageIds('00' * 31 + '2a')
    assert codec.encode(number) == message_id
    assert codec.decode(message_id) == number


def test_neighbours_share_nothing_visible(codec: ids.MessageIds) -> None:
    found = [codec.encode(n) for n in range(1, 1001)]
    assert len(set(found)) == 1000
    assert found != sorted(found)
    # Every hex digit position varies: no prefix or suffix tells order.
    for position in range(24):
        assert len({i[position] for i in found}) > 8


def test_another_key_gives_other_ids() -> None:
    mine, theirs = ids.MessageIds(KEY), ids.MessageIds(ids.new_key())
    assert mine.encode(1) != theirs.encode(1)
    # Ids of one key name nothing under another (but for 1 in 2**32).
    assert [theirs.decode(mine.encode(n)) for n in range(1, 101)] == \
        [None] * 100


@pytest.mark.parametrize('message_id', [
    None, '', '1', '42', 'not-an-id', '0' * 24, 'f' * 24, 'A' * 24,
    ' ' + 'a' * 23, '+' + 'a' * 23, 'a' * 23 + '\n', '１' * 24,
    'a' * 25, '_'.join(['aaaaaaaaaaa', 'aaaaaaaaaaaa'])])
def test_what_no_number_was_encoded_to_decodes_to_none(
        codec: ids.MessageIds, message_id: str | None) -> None:
    assert codec.decode(message_id) is None


def test_made_up_ids_almost_never_decode(codec: ids.MessageIds) -> None:
    # The top 32 bits of a block must be zero: one made-up id in 2**32
    # decodes.
    tries = [f'{n * 0x9e3779b97f4a7c15 % 2 ** 96:024x}'
             for n in range(1, 20001)]
    assert sum(codec.decode(i) is not None for i in tries) == 0


def test_decode_many_keeps_the_order_and_skips_the_rest(
        codec: ids.MessageIds) -> None:
    assert codec.decode_many([codec.encode(5), 'x', codec.encode(2)]) == \
        [5, 2]


def test_encoding_and_decoding_take_microseconds(
        codec: ids.MessageIds) -> None:
    message_id = codec.encode(123456789)
    # Generous bounds (a shared, busy test machine): a post of one
    # message costs hundreds of microseconds.
    for call in (lambda: codec.encode(123456789),
                 lambda: codec.decode(message_id)):
        assert min(timeit.repeat(call, number=1000, repeat=5)) / 1000 \
            < 50e-6


def test_the_cache_loads_once_then_reloads_when_old() -> None:
    loads: list[str] = []

    def load(scope: str) -> str:
        loads.append(scope)
        return KEY

    cache = ids.KeyCache(load, max_age=3600)
    assert cache.cached_key('p') is None
    assert cache.get('p').key == KEY
    assert cache.get('p') is cache.get('p')
    assert loads == ['p']
    stale = ids.KeyCache(load, max_age=0)
    stale.get('q')
    stale.get('q')
    assert loads == ['p', 'q', 'q']


def test_put_replaces_the_key_a_store_reports() -> None:
    cache = ids.KeyCache(lambda scope: KEY)
    first = cache.get()
    other = ids.new_key()
    assert cache.put('', other).key == other
    assert cache.get().key == other
    assert cache.put('', KEY) is not first  # a new codec for a new key
    assert cache.put('', KEY) is cache.get()  # same key, same codec


def test_the_cache_stays_bounded() -> None:
    cache = ids.KeyCache(lambda scope: KEY, size=10)
    for n in range(25):
        cache.get(str(n))
    assert len(cache._found) <= 10


def test_a_missing_key_is_not_cached() -> None:
    stored: list[str] = []
    cache = ids.KeyCache(lambda scope: stored[0] if stored else None)
    assert cache.get('p') is None
    with pytest.raises(errors.Unavailable):
        cache.encoder('p')
    # Another process posted meanwhile, storing the key.
    stored.append(KEY)
    assert cache.get('p').key == KEY
    assert cache.encoder('p') is cache.get('p')
