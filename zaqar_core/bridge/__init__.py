"""``zaqar-bridge``: OpenStack notifications become queue messages.

Other services (Nova, Cinder, Heat...) already publish notifications on
the oslo.messaging notification bus. The bridge consumes them and posts
each one as a message into a queue of the project it belongs to, so that
users can read, claim or subscribe to their own cloud's events.

* :mod:`.rules`: which notifications, which project and queue, the body.
* :mod:`.endpoint`: the listener endpoint posting through the API.
* :mod:`.service`: the listener itself, started and stopped.
"""
