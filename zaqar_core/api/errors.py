"""Errors an action raises; each transport renders them (REST as
``{"title", "description"}`` with the status).

::

    ApiError
    ├── BadRequest             400
    ├── Forbidden              403
    ├── NotFound               404
    ├── MethodNotAllowed       405
    ├── NotAcceptable          406
    ├── Conflict               409
    ├── UnsupportedMediaType   415
    ├── TooManyRequests        429
    └── ServiceUnavailable     503

Storage errors become API errors through :func:`from_storage`, one table
for every transport.
"""

from zaqar_core.storage import errors as storage_errors
from zaqar_core.storage import pools


class ApiError(Exception):
    """An error with an HTTP-style status, a title and a description."""

    status = 500
    title = 'Internal server error'

    def __init__(self, description: str | None = None, *,
                 title: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description or self.title)
        if title is not None:
            self.title = title
        self.description = description
        self.headers = headers or {}

    def to_dict(self) -> dict[str, str]:
        body = {'title': self.title}
        if self.description is not None:
            body['description'] = self.description
        return body


class BadRequest(ApiError):
    status = 400
    title = 'Invalid API request'


class Forbidden(ApiError):
    status = 403
    title = 'Not authorized'


class NotFound(ApiError):
    status = 404
    title = 'Not found'


class MethodNotAllowed(ApiError):
    status = 405
    title = 'Method not allowed'


class NotAcceptable(ApiError):
    status = 406
    title = 'Not acceptable'


class Conflict(ApiError):
    status = 409
    title = 'Resource conflict'


class UnsupportedMediaType(ApiError):
    status = 415
    title = '415 Unsupported Media Type'  # falcon's, as upstream answers


class RequestTimeout(ApiError):
    status = 408
    title = 'Request timeout'


class TooManyRequests(ApiError):
    status = 429
    title = 'Too many requests'

    def __init__(self, description: str, *, retry_after: int = 1) -> None:
        super().__init__(description,
                         headers={'Retry-After': str(retry_after)})


class ServiceUnavailable(ApiError):
    status = 503
    title = 'Service temporarily unavailable'

    def __init__(self, description: str = 'Service temporarily '
                 'unavailable.', **kwargs) -> None:
        super().__init__(f'{description} Please try again in a few '
                         f'seconds.', **kwargs)


def unexpected() -> ApiError:
    """The 500 of an error the server did not expect (a bug): no details,
    which go to the log."""
    return ApiError('An unexpected error prevented the server from '
                    'fulfilling your request.')


def invalid_body(description: str) -> BadRequest:
    return BadRequest(description, title='Invalid request body')


def invalid_parameter(description: str) -> BadRequest:
    return BadRequest(description, title='Invalid parameter')


_UNABLE = 'Unable to delete'

# Most specific first: (storage error, API error, title, description).
_STORAGE_TABLE: list[tuple[type[storage_errors.StorageError],
                           type[ApiError], str | None, str | None]] = [
    (storage_errors.MessageIsClaimed, Forbidden, _UNABLE,
     'This message is claimed; it cannot be deleted without a valid '
     'claim ID.'),
    (storage_errors.MessageNotClaimed, BadRequest, _UNABLE,
     'A claim was specified, but the message is not currently claimed.'),
    (storage_errors.ClaimDoesNotMatch, BadRequest, _UNABLE,
     'The specified claim does not exist or has expired.'),
    (storage_errors.SubscriptionAlreadyExists, Conflict, None, None),
    (pools.PoolConflict, Conflict, None, None),
    (pools.PoolUnusable, BadRequest, None, None),
    (pools.NoPool, ServiceUnavailable, None, None),
    (storage_errors.DoesNotExist, NotFound, None, None),
]


def from_storage(exc: storage_errors.StorageError,
                 topic_of: str | None = None) -> ApiError:
    """The API error a storage error stands for (503 when unknown).

    Args:
        topic_of: for a topic action, the project as the client named it
            (the stores hold topics in a scope of their own, which no
            error should show).
    """
    if topic_of is not None and \
            isinstance(exc, storage_errors.QueueDoesNotExist):
        return NotFound(f'Topic {exc.name} does not exist for project '
                        f'{topic_of}.')
    for family, error, title, description in _STORAGE_TABLE:
        if isinstance(exc, family):
            return error(description or str(exc), title=title)
    return ServiceUnavailable()
