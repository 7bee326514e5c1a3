"""Notifier plugins (``zaqar_core.notifiers``), one per subscriber URI
scheme: :mod:`.webhook` (``http``, ``https``), :mod:`.trust`
(``trust+http``, ``trust+https``) and :mod:`.mailto` (``mailto``)."""
