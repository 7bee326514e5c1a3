"""Integers of more digits than Python converts (over 4,300) are refused
as too large, not as unparsable."""

import pytest

from zaqar_core.api import errors
from zaqar_core.api import jsonbody


@pytest.mark.parametrize('digits', ['9' * 21, '9' * 5000, '-' + '9' * 5000])
def test_integers_of_many_digits_are_too_large(digits: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        jsonbody.decode(f'{{"n": {digits}}}'.encode())
    assert caught.value.title == 'Invalid request body'
    assert 'integer that is too large' in caught.value.description


@pytest.mark.parametrize('number', [-2 ** 63, 2 ** 63 - 1])
def test_the_longest_integers_that_fit_are_accepted(number: int) -> None:
    assert jsonbody.decode(f'[{number}]'.encode()) == [number]
