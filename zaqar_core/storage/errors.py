"""Storage errors, raised by every driver.

The families decide the HTTP status in one table
(:mod:`zaqar_core.api.errors`); drivers raise the specific classes::

    StorageError
    ├── DoesNotExist                  -> 404
    │   ├── QueueDoesNotExist
    │   ├── MessageDoesNotExist
    │   ├── ClaimDoesNotExist
    │   └── SubscriptionDoesNotExist
    ├── SubscriptionAlreadyExists     -> 409
    ├── NotPermitted
    │   ├── MessageIsClaimed          -> 403 (no or wrong claim id)
    │   ├── MessageNotClaimed         -> 400 (claim id given, not claimed)
    │   └── ClaimDoesNotMatch         -> 400 (claim unknown or expired)
    └── Unavailable                   -> 503 (backend down or timing out)
"""


class StorageError(Exception):
    """Base class of every storage error."""


class DoesNotExist(StorageError):
    """The addressed resource does not exist (or has expired)."""


class QueueDoesNotExist(DoesNotExist):
    def __init__(self, name: str, project: str | None) -> None:
        super().__init__(f'Queue {name} does not exist for project '
                         f'{project}.')
        self.name = name
        self.project = project


class MetadataChanged(StorageError):
    """A post made on the condition that the queue's metadata was still
    what the caller read (see ``seen_metadata``) stored nothing: it is not.

    Attributes:
        text: the metadata document the store holds now, or None when the
            queue does not exist.
    """

    def __init__(self, text: str | None) -> None:
        super().__init__('The queue metadata changed since it was read.')
        self.text = text


class MessageDoesNotExist(DoesNotExist):
    def __init__(self, message_id: str, queue: str) -> None:
        super().__init__(f'Message {message_id} does not exist in queue '
                         f'{queue}.')


class ClaimDoesNotExist(DoesNotExist):
    def __init__(self, claim_id: str, queue: str) -> None:
        super().__init__(f'Claim {claim_id} does not exist in queue '
                         f'{queue}, or it has expired.')


class SubscriptionDoesNotExist(DoesNotExist):
    def __init__(self, subscription_id: str) -> None:
        super().__init__(f'Subscription {subscription_id} does not exist.')


class SubscriptionAlreadyExists(StorageError):
    """The source already has a live subscription for this subscriber."""

    def __init__(self, subscription_id: str) -> None:
        super().__init__('Such subscription already exists. Subscriptions '
                         'are unique by project + queue + subscriber URI.')
        self.subscription_id = subscription_id


class NotPermitted(StorageError):
    """The operation conflicts with the state of a message."""


class MessageIsClaimed(NotPermitted):
    def __init__(self, message_id: str) -> None:
        super().__init__(f'Message {message_id} is claimed.')


class MessageNotClaimed(NotPermitted):
    def __init__(self, message_id: str) -> None:
        super().__init__(f'Message {message_id} is not claimed.')


class ClaimDoesNotMatch(NotPermitted):
    def __init__(self, message_id: str) -> None:
        super().__init__(f'The claim given for message {message_id} does '
                         f'not exist or has expired.')


class Unavailable(StorageError):
    """The backend cannot be reached or did not answer in time."""
