"""What uWSGI loads in each worker process of ``zaqar-server``.

Importing this module builds the app, so the master never imports it:
:mod:`.server` names it to uWSGI (``--lazy-apps --module``), which imports
it in every worker after the fork.
"""

from zaqar_plugins.transport.wsgi import server

application = server.build_app()
