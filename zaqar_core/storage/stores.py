"""The pair of drivers one deployment runs on."""

from __future__ import annotations

import dataclasses

from zaqar_core.storage import base
from zaqar_core.storage import pools as pooling


@dataclasses.dataclass
class Stores:
    """The control driver (queue catalogue) and the data driver (messages,
    claims, subscriptions, signals), with their controllers at hand."""

    control: base.ControlDriverBase
    data: base.DataDriverBase

    @property
    def queues(self) -> base.QueueControllerBase:
        return self.control.queue_controller

    @property
    def pools(self) -> pooling.PoolControllerBase:
        return self.control.pool_controller

    @property
    def flavors(self) -> pooling.FlavorControllerBase:
        return self.control.flavor_controller

    @property
    def catalogue(self) -> pooling.CatalogueControllerBase:
        return self.control.catalogue_controller

    @property
    def messages(self) -> base.MessageControllerBase:
        return self.data.message_controller

    @property
    def claims(self) -> base.ClaimControllerBase:
        return self.data.claim_controller

    @property
    def subscriptions(self) -> base.SubscriptionControllerBase:
        return self.data.subscription_controller

    @property
    def signals(self) -> base.SignalControllerBase:
        return self.data.signal_controller

    def close(self) -> None:
        self.data.close()
        self.control.close()
