"""Readers of an upstream Zaqar 23.x deployment's stores, in upstream's
own layout, for ``zaqar-manage import-upstream`` (the
``zaqar_core.upstream.*`` entry points; see
:mod:`zaqar_core.importing.sources`). They never write."""
