"""What of a subscriber may reach a log line."""

import pytest

from zaqar_core.notification.base import loggable


@pytest.mark.parametrize(('subscriber', 'logged'), [
    ('http://user:pw@hooks.example.com:8080/a/b?token=s3cret#f',
     'http://hooks.example.com:8080'),
    ('https://hooks.example.com/path/s3cret', 'https://hooks.example.com'),
    ('trust+http://[::1]:9000/x?k=s3cret', 'trust+http://[::1]:9000'),
    ('mailto:ops@example.com', 'mailto:ops@example.com'),
    ('http://host:99999/', 'http://host'),
    ('http://[::1/', 'a malformed URL'),
])
def test_credentials_stay_out(subscriber: str, logged: str) -> None:
    assert loggable(subscriber) == logged
