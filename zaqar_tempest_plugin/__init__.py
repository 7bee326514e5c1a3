"""Tempest plugin for the Zaqar v2 messaging API.

Tempest finds it through the ``tempest.test_plugins`` entry point
``zaqar_tests`` (see :mod:`.plugin`); ``tools/tempest.py`` runs it against
the functional stack of ``tools/stack.py``.
"""
