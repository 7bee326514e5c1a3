"""Request bodies: strict JSON that cannot hurt the server."""

import pytest

from zaqar_core.api import errors
from zaqar_core.api import jsonbody


def nested(depth: int) -> bytes:
    return b'[' * depth + b']' * depth


def test_an_object_decodes() -> None:
    assert jsonbody.decode(b'{"a": [1, 2.5, null, "\\u00e9"]}') == {
        'a': [1, 2.5, None, 'é']}


def test_an_array_decodes() -> None:
    assert jsonbody.decode(b'[{"body": 1}]') == [{'body': 1}]


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert jsonbody.decode(nested(jsonbody.MAX_DEPTH)) is not None


def test_nesting_past_the_limit_is_refused() -> None:
    with pytest.raises(errors.BadRequest, match='nested deeper'):
        jsonbody.decode(nested(jsonbody.MAX_DEPTH + 1))


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = '["' + '[{' * 100 + '\\"' + '"]'
    assert jsonbody.decode(text.encode()) == ['[{' * 100 + '"']


@pytest.mark.parametrize('number', [2 ** 63 - 1, -2 ** 63])
def test_integers_in_signed_64_bits_are_accepted(number: int) -> None:
    assert jsonbody.decode(f'[{number}]'.encode()) == [number]


@pytest.mark.parametrize('number', [2 ** 63, -2 ** 63 - 1, 10 ** 100])
def test_integers_past_64_bits_are_refused(number: int) -> None:
    with pytest.raises(errors.BadRequest, match='too large'):
        jsonbody.decode(f'{{"n": {number}}}'.encode())


@pytest.mark.parametrize('constant', ['NaN', 'Infinity', '-Infinity'])
def test_non_finite_constants_are_refused(constant: str) -> None:
    with pytest.raises(errors.BadRequest, match=constant):
        jsonbody.decode(f'{{"n": {constant}}}'.encode())


@pytest.mark.parametrize('number', ['1e400', '-1e400'])
def test_numbers_that_overflow_to_infinity_are_refused(number: str) -> None:
    with pytest.raises(errors.BadRequest):
        jsonbody.decode(f'[{number}]'.encode())


@pytest.mark.parametrize('raw', [b'"text"', b'1', b'true', b'null'])
def test_a_top_level_scalar_is_refused(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest):
        jsonbody.decode(raw)


@pytest.mark.parametrize('raw', [b'{"a": "\xff"}', b'\xc3(',
                                 b'["\xed\xa0\x80"]'])
def test_bad_utf8_is_refused(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest, match='could not be parsed'):
        jsonbody.decode(raw)


@pytest.mark.parametrize('raw', [b'', b'{', b'{"a": 1,}', b"{'a': 1}",
                                 b'\xef\xbb\xbf{}'])
def test_malformed_json_is_refused(raw: bytes) -> None:
    with pytest.raises(errors.BadRequest):
        jsonbody.decode(raw)


def test_the_error_is_an_invalid_body() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        jsonbody.decode(b'{')
    assert caught.value.to_dict()['title'] == 'Invalid request body'
