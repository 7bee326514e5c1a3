"""In-tree Rally scenarios for the parts of the Zaqar v2 API that
rally-openstack's ``ZaqarBasic`` scenarios leave out: real queue creation,
claims and subscriptions.

They use python-zaqarclient through rally-openstack's client wrapper
(``self.clients("zaqar")``: a v2 client on a keystoneauth session of the
iteration's user, the endpoint from the catalog's ``messaging`` service).
Each step is an atomic action, so ``rally task detailed`` shows how long
each API call takes. A step whose result is wrong (a lost message, a
subscription missing from the list) fails the iteration, which the
``failure_rate`` SLA then reports.

Load with ``rally --plugin-paths rally-jobs/plugins task start ...``.
"""

from rally.task import atomic
from rally.task import validation
from rally_openstack.task import scenario

# The subscriber of ZaqarSubscriptions: never called, since that scenario
# posts no message (port 9 is "discard"; nothing listens on loopback).
DEFAULT_SUBSCRIBER = "http://127.0.0.1:9/rally/{name}"


class ZaqarScenarioError(Exception):
    """The API answered, but not what the scenario expects."""


class _ZaqarActions(scenario.OpenStackScenario):
    """Atomic actions shared by the scenarios below."""

    def _zaqar(self):
        return self.clients("zaqar")

    @atomic.action_timer("zaqar.create_queue")
    def _create_queue(self, metadata=None):
        """PUT /v2/queues/{name}: v2 queues are lazy, so without
        ``force_create`` python-zaqarclient would send nothing."""
        queue = self._zaqar().queue(self.generate_random_name(),
                                    force_create=True)
        if metadata:
            queue.metadata(new_meta=metadata)
        return queue

    @atomic.action_timer("zaqar.delete_queue")
    def _delete_queue(self, queue):
        queue.delete()

    def _post_messages(self, queue, count, ttl):
        messages = [{"body": {"n": n, "scenario": "rally"}, "ttl": ttl}
                    for n in range(count)]
        with atomic.ActionTimer(self, f"zaqar.post_{count}_messages"):
            result = queue.post(messages)
        posted = len(result["resources"])
        if posted != count:
            raise ZaqarScenarioError(f"posted {count} messages, the server "
                                     f"created {posted}")

    @atomic.action_timer("zaqar.stats")
    def _free_messages(self, queue):
        return queue.stats["messages"]["free"]


@validation.add("required_platform", platform="openstack", users=True)
@scenario.configure(context={"cleanup@openstack": ["zaqar"]},
                    name="ZaqarQueues.create_and_delete_queue",
                    platform="openstack")
class CreateAndDeleteQueue(_ZaqarActions):

    def run(self, metadata=None):
        """Create a queue for real (PUT), read it back, delete it.

        :param metadata: queue metadata to set after creating it
        """
        queue = self._create_queue(metadata)
        with atomic.ActionTimer(self, "zaqar.get_queue"):
            got = queue.metadata(force_reload=True)
        for key, value in (metadata or {}).items():
            if got.get(key) != value:
                raise ZaqarScenarioError(f"metadata {key!r}: "
                                         f"{got.get(key)!r}, not {value!r}")
        self._delete_queue(queue)


@validation.add("required_platform", platform="openstack", users=True)
@validation.add("number", param_name="messages", minval=1, integer_only=True)
@validation.add("number", param_name="claim_limit", minval=1, maxval=20,
                integer_only=True)
@validation.add("number", param_name="claim_ttl", minval=60, maxval=43200,
                integer_only=True)
@validation.add("number", param_name="claim_grace", minval=60,
                maxval=43200, integer_only=True)
@scenario.configure(context={"cleanup@openstack": ["zaqar"]},
                    name="ZaqarClaims.claim_and_delete",
                    platform="openstack")
class ClaimAndDelete(_ZaqarActions):

    def run(self, messages=20, claim_limit=10, claim_ttl=60,
            claim_grace=60, message_ttl=300):
        """Work a queue off as a consumer does: claim, delete, repeat.

        Creates a queue, posts ``messages`` messages, then claims up to
        ``claim_limit`` at a time and deletes each claimed message (with
        its claim id) until a claim comes back empty; every message must
        be delivered exactly once and the queue end empty.

        :param messages: messages to post
        :param claim_limit: most messages per claim (the API allows 20)
        :param claim_ttl: seconds a claim lasts (60 to 43200)
        :param claim_grace: seconds claimed messages outlive a lapsed
            claim (60 to 43200)
        :param message_ttl: seconds the posted messages live
        """
        queue = self._create_queue()
        self._post_messages(queue, messages, message_ttl)
        seen = []
        while True:
            with atomic.ActionTimer(self, "zaqar.claim_messages"):
                claimed = list(queue.claim(ttl=claim_ttl, grace=claim_grace,
                                           limit=claim_limit))
            if not claimed:
                break
            if len(claimed) > claim_limit:
                raise ZaqarScenarioError(f"a claim of at most {claim_limit} "
                                         f"returned {len(claimed)} messages")
            with atomic.ActionTimer(self, "zaqar.delete_claimed_messages"):
                for message in claimed:
                    if not message.claim_id:
                        raise ZaqarScenarioError(f"claimed message "
                                                 f"{message.id} has no claim "
                                                 f"id")
                    message.delete()
            seen.extend(message.body["n"] for message in claimed)
        if sorted(seen) != list(range(messages)):
            raise ZaqarScenarioError(f"claimed {len(seen)} messages "
                                     f"({len(set(seen))} distinct) of "
                                     f"{messages} posted")
        left = self._free_messages(queue)
        if left:
            raise ZaqarScenarioError(f"{left} messages left after deleting "
                                     f"all claimed ones")
        self._delete_queue(queue)


@validation.add("required_platform", platform="openstack", users=True)
@validation.add("number", param_name="subscriptions", minval=1, maxval=20,
                integer_only=True)
@scenario.configure(context={"cleanup@openstack": ["zaqar"]},
                    name="ZaqarSubscriptions.create_list_delete",
                    platform="openstack")
class CreateListDeleteSubscriptions(_ZaqarActions):

    def run(self, subscriptions=3, ttl=3600, subscriber=None):
        """Subscribe webhooks to a queue, list them, unsubscribe them.

        Nothing is posted, so nothing is delivered: this measures the
        subscription API. Subscriptions outlive their queue, so each one
        is deleted explicitly (rally's zaqar cleanup only knows queues).

        :param subscriptions: how many to create (at most one page, 20)
        :param ttl: their ttl in seconds
        :param subscriber: webhook URL pattern; ``{name}`` becomes a unique
            name (subscribers of one queue must differ)
        """
        zaqar = self._zaqar()
        queue = self._create_queue()
        pattern = subscriber or DEFAULT_SUBSCRIBER
        created = {}
        try:
            for _ in range(subscriptions):
                url = pattern.format(name=self.generate_random_name())
                with atomic.ActionTimer(self, "zaqar.create_subscription"):
                    sub = zaqar.subscription(
                        queue.name, subscriber=url, ttl=ttl,
                        options={"from": "rally"})
                if not sub.id:
                    raise ZaqarScenarioError(f"no id for the subscription "
                                             f"of {url}")
                created[sub.id] = sub
            with atomic.ActionTimer(self, "zaqar.list_subscriptions"):
                listed = {s.id: s for s in zaqar.subscriptions(
                    queue.name, limit=subscriptions)}
            if set(listed) != set(created):
                raise ZaqarScenarioError(f"listed {sorted(listed)}, "
                                         f"created {sorted(created)}")
            for sub_id, sub in listed.items():
                if sub.subscriber != created[sub_id].subscriber or \
                        sub.ttl != ttl:
                    raise ZaqarScenarioError(
                        f"subscription {sub_id} came back as "
                        f"{sub.subscriber} (ttl {sub.ttl})")
        finally:
            with atomic.ActionTimer(self, "zaqar.delete_subscriptions"):
                for sub in created.values():
                    sub.delete()
        with atomic.ActionTimer(self, "zaqar.list_deleted_subscriptions"):
            left = list(zaqar.subscriptions(queue.name))
        if left:
            raise ZaqarScenarioError(f"{len(left)} subscriptions left after "
                                     f"deleting them all")
        self._delete_queue(queue)
