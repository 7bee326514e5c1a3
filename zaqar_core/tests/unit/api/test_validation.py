"""Query parameters, ranges and queue names."""

import pytest

from zaqar_core.api import errors
from zaqar_core.api import validation


@pytest.mark.parametrize('raw', ['true', 'True', 'TRUE', '1', 'yes', 'on'])
def test_get_bool_reads_true(raw: str) -> None:
    assert validation.get_bool({'echo': raw}, 'echo') is True


@pytest.mark.parametrize('raw', ['false', 'False', '0', 'no', 'off'])
def test_get_bool_reads_false(raw: str) -> None:
    assert validation.get_bool({'echo': raw}, 'echo', default=True) is False


@pytest.mark.parametrize('params', [{}, {'echo': ''}, {'echo': []}])
def test_get_bool_defaults_when_absent_or_blank(params: dict) -> None:
    assert validation.get_bool(params, 'echo', default=True) is True


@pytest.mark.parametrize('raw', ['maybe', 'Yes', '2', 'tru'])
def test_get_bool_refuses_other_words(raw: str) -> None:
    with pytest.raises(errors.BadRequest, match='"echo".*boolean'):
        validation.get_bool({'echo': raw}, 'echo')


def test_a_repeated_parameter_takes_the_last_value() -> None:
    assert validation.get_bool({'echo': ['true', 'false']}, 'echo') is False


@pytest.mark.parametrize(('raw', 'value'), [('7', 7), (' 7 ', 7),
                                            ('-3', -3), ('0', 0)])
def test_get_int_reads_integers(raw: str, value: int) -> None:
    assert validation.get_int({'limit': raw}, 'limit') == value


@pytest.mark.parametrize('raw', ['seven', '1.5', '--5', '-', '5-', '1e3',
                                 '١٢', '²', '9' * 20])
def test_get_int_refuses_non_integers(raw: str) -> None:
    with pytest.raises(errors.BadRequest, match='"limit".*integer'):
        validation.get_int({'limit': raw}, 'limit')


def test_get_int_defaults_when_absent() -> None:
    assert validation.get_int({}, 'limit', 10) == 10


@pytest.mark.parametrize(('value', 'items'), [
    ('a,b', ['a', 'b']), (' a , b ,, c ', ['a', 'b', 'c']),
    (['a,b', 'c'], ['a', 'b', 'c'])])
def test_get_list_splits_on_commas(value: str | list[str],
                                   items: list[str]) -> None:
    assert validation.get_list({'ids': value}, 'ids') == items


@pytest.mark.parametrize('params', [{}, {'ids': ''}, {'ids': ' , '}])
def test_get_list_is_none_when_nothing_is_listed(params: dict) -> None:
    assert validation.get_list(params, 'ids') is None


def test_blank_strings_count_as_absent() -> None:
    assert validation.get_str({'marker': ''}, 'marker') is None


@pytest.mark.parametrize('value', [1, 5, 10])
def test_check_range_accepts_its_bounds(value: int) -> None:
    assert validation.check_range(value, 1, 10, 'bad') == value


@pytest.mark.parametrize('value', [0, 11])
def test_check_range_refuses_outside(value: int) -> None:
    with pytest.raises(errors.BadRequest, match='^bad$'):
        validation.check_range(value, 1, 10, 'bad')


def test_limit_param_defaults() -> None:
    assert validation.limit_param({}, 'limit', 10, 20) == 10


@pytest.mark.parametrize('raw', ['0', '21', '-1'])
def test_limit_param_refuses_outside_one_to_maximum(raw: str) -> None:
    with pytest.raises(errors.BadRequest, match='no greater than 20'):
        validation.limit_param({'limit': raw}, 'limit', 10, 20)


@pytest.mark.parametrize('name', ['q', 'jobs_2.x-y', 'A' * 64])
def test_valid_queue_names(name: str) -> None:
    validation.check_queue_name(name)


@pytest.mark.parametrize('name', ['', 'a' * 65, 'with space', 'slash/y',
                                  'ünï', 'a\n'])
def test_invalid_queue_names(name: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        validation.check_queue_name(name)
    assert caught.value.title == 'Invalid queue identification'


# -- JSON values, as a WebSocket body carries them ----------------------------

@pytest.mark.parametrize(('value', 'expected'), [(True, True),
                                                  (False, False)])
def test_get_bool_takes_json_booleans(value: bool, expected: bool) -> None:
    assert validation.get_bool({'echo': value}, 'echo') is expected


@pytest.mark.parametrize('value', [1, 0, 'maybe', [True], {'a': 1}, 1.0])
def test_get_bool_refuses_other_json(value: object) -> None:
    with pytest.raises(errors.BadRequest, match='"echo".*boolean'):
        validation.get_bool({'echo': value}, 'echo')


def test_get_int_takes_json_integers() -> None:
    assert validation.get_int({'limit': 7}, 'limit') == 7
    assert validation.get_int({'limit': -3}, 'limit') == -3


@pytest.mark.parametrize('value', [True, 1.5, [1], {'a': 1}, 2 ** 63])
def test_get_int_refuses_other_json(value: object) -> None:
    with pytest.raises(errors.BadRequest, match='"limit".*integer'):
        validation.get_int({'limit': value}, 'limit')


def test_get_list_takes_a_json_array() -> None:
    assert validation.get_list({'ids': ['a', 'b,c']}, 'ids') == \
        ['a', 'b', 'c']


@pytest.mark.parametrize('value', [[1, 2], [None], {'a': 'b'}, 5])
def test_get_list_refuses_other_json(value: object) -> None:
    with pytest.raises(errors.BadRequest, match='"ids".*list of strings'):
        validation.get_list({'ids': value}, 'ids')


@pytest.mark.parametrize('value', [5, True, [5], {'a': 'b'}])
def test_get_str_refuses_other_json(value: object) -> None:
    with pytest.raises(errors.BadRequest, match='"marker".*string'):
        validation.get_str({'marker': value}, 'marker')


@pytest.mark.parametrize(('kind', 'raw', 'typed'), [
    (int, '5', 5), (int, 5, 5), (bool, 'true', True), (bool, False, False),
    (list, 'a,b', ['a', 'b']), (list, ['a'], ['a']), (str, 'm', 'm'),
    (int, '', None), (bool, '', None), (str, '', None)])
def test_typed_turns_query_strings_and_json_alike(kind: type, raw: object,
                                                  typed: object) -> None:
    assert validation.typed({'p': raw}, 'p', kind) == typed
