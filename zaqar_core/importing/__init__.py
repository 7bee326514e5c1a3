"""``zaqar-manage import-upstream``: an upstream Zaqar deployment's data,
read from its stores in upstream's layout and written into this
project's stores through the storage contracts.

* :mod:`.sources`: what the readers (plugins) give;
* :mod:`.deployment`: where upstream keeps its data, from its config file;
* :mod:`.sealed`: bodies upstream encrypted, opened to be sealed again;
* :mod:`.importer`: the import itself, resumable and idempotent;
* :mod:`.tally`: counts per queue and the summary that checks them;
* :mod:`.progress`: what the operator watches meanwhile.
"""
