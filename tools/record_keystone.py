#!/usr/bin/env python3
"""Brings the trust notifier's Keystone recordings
(``zaqar_plugins/tests/unit/notifier/keystone/*.json``) up to date with
the functional stack's live Keystone.

Usage::

    .venv/bin/python tools/record_keystone.py [--check] [NAME ...]

It runs the scenarios of
``zaqar_core/tests/keystone/test_trust_recordings.py`` (the trust notifier
against the live Keystone, through a proxy serving it under ``/identity``)
and rewrites the response of every recording (or of the NAMEs) that the
test finds no longer matches the live reply: the live status, the live
structure (keys added and removed, types), the live values of the keys
the test compares, the recorded headers Keystone still sends (and any it
now sends that the notifier reads). What the recording already had keeps
its recorded value (its made-up ids, tokens, names, 2099 expiry dates,
lists of the recorded length), so the unit tests keep their constants;
new values lose the live stack's URLs and ids (``http://keystone.test``,
the recorded ids). Requests (the patterns the replay server matches) are
kept: a recording whose request the notifier no longer makes, or a
scenario that fails, is reported for a human to look at, and nothing is
written. With ``--check`` nothing is written either: it reports what does
not match (exit 1 if anything).

Needs the stack up (``python tools/stack.py up``) and the project's
virtualenv (the notifier and keystoneauth1 run here).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from zaqar_core.tests.keystone import test_trust_recordings as live_check  # noqa: E402
from zaqar_plugins.tests.unit.notifier import servers  # noqa: E402
from zaqar_testing import stack  # noqa: E402

#: What the live proxy's URLs become.
RECORDED_BASE = servers.RECORDED_KEYSTONE + live_check.PREFIX
#: Times that were not in the recording (keystoneauth1 must never find a
#: recorded token expired).
FAR_FUTURE = '2099-11-27T14:02:11.000000Z'
HEX_ID = re.compile(r'[0-9a-f]{32}')
COMMENT = re.compile(r'Modelled on Keystone \(.*?\) v3 responses|'
                     r'Refreshed from Keystone \S+ by '
                     r'tools/record_keystone\.py')


class Anonymiser:
    """Makes live values recording-like: the proxy's URL becomes
    :data:`RECORDED_BASE`, live ids the recorded ones (others a stable
    made-up id), times :data:`FAR_FUTURE`."""

    def __init__(self, run: live_check.LiveRun) -> None:
        self.base = run.keystone_base
        # Live value -> recorded value.
        self.values = {live: recorded
                       for recorded, live in run.live_values.items()}

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if not isinstance(value, str):
            return value
        if value in self.values:
            return self.values[value]
        if key is not None and key.endswith('_at'):
            return FAR_FUTURE
        value = value.replace(self.base, RECORDED_BASE)
        return HEX_ID.sub(self._id, value)

    def _id(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if found in self.values:
            return self.values[found]
        return uuid.uuid5(uuid.NAMESPACE_URL, found).hex


def merge(recorded: Any, live: Any, anonymise: Anonymiser,
          key: str | None = None, aligned: bool = True) -> Any:
    """``live``'s structure with ``recorded``'s values where it has them
    (see the module docstring); ``aligned`` as in
    :func:`~zaqar_core.tests.keystone.test_trust_recordings
    .body_differences`."""
    if live_check.kind(recorded) != live_check.kind(live):
        return anonymise(live, key)
    if aligned and key in live_check.VALUE_KEYS and \
            not live_check.same_values(recorded, live):
        return anonymise(live, key)
    if isinstance(recorded, dict):
        merged = {k: merge(v, live[k], anonymise, k, aligned)
                  for k, v in recorded.items() if k in live}
        merged.update({k: anonymise(v, k) for k, v in live.items()
                       if k not in recorded})
        return merged
    if isinstance(recorded, list):
        if not recorded:
            return anonymise(live, key)
        if not live:
            return recorded
        if aligned and len(recorded) == len(live):
            return [merge(r, v, anonymise, key)
                    for r, v in zip(recorded, live, strict=True)]
        return [merge(r, live[min(i, len(live) - 1)], anonymise, key,
                      aligned=False)
                for i, r in enumerate(recorded)]
    return recorded


def merge_headers(recorded: dict[str, str],
                  exchange: live_check.Exchange, name: str,
                  anonymise: Anonymiser) -> dict[str, str]:
    merged = {}
    for header, value in recorded.items():
        live = exchange.header(header.lower())
        if live is None:
            continue  # Keystone no longer sends it
        merged[header] = anonymise(live) \
            if header.lower() in live_check.VALUE_HEADERS else value
    have = {header.lower() for header in merged}
    for header, value in exchange.headers.items():
        lower = header.lower()
        if lower in live_check.HEADERS_READ and lower not in have:
            merged[header] = f'gAAAAAB-recorded-{name}' \
                if lower == 'x-subject-token' else anonymise(value)
    return merged


def refreshed(run: live_check.LiveRun, name: str) -> dict[str, Any]:
    """Recording ``name`` with the response of its first live
    exchange (see the module docstring)."""
    recording = run.recordings[name]
    exchange = run.of(name)[0]
    anonymise = Anonymiser(run)
    response = recording['response']
    comment = COMMENT.sub(f'Refreshed from Keystone {run.keystone_version}'
                          f' by tools/record_keystone.py',
                          recording['_comment'])
    return {'_comment': comment, 'request': recording['request'],
            'response': {
                'status': exchange.status,
                'headers': merge_headers(response['headers'], exchange,
                                         name, anonymise),
                'body': merge(response.get('body'), exchange.reply,
                              anonymise)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='tools/record_keystone.py',
        description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='report what does not match; write nothing')
    parser.add_argument('names', nargs='*', metavar='NAME',
                        help='recordings to refresh (default: all)')
    args = parser.parse_args(argv)
    names = args.names or live_check.recording_names()
    unknown = sorted(set(names) - set(live_check.recording_names()))
    if unknown:
        parser.error(f'no such recordings: {unknown}')
    try:
        with stack.running() as state:
            run = live_check.run_scenarios(live_check.Live.from_state(state))
    except stack.StackError as exc:
        print(f'record_keystone: {exc}', file=sys.stderr)
        return 1
    failed = False
    for scenario, error in run.errors.items():
        print(f'scenario {scenario} failed: {error}', file=sys.stderr)
        failed = True
    stale = {}
    for name in names:
        if not run.of(name):
            print('\n'.join(live_check.problems(run, name)),
                  file=sys.stderr)
            failed = True
            continue
        found = live_check.problems(run, name)
        if found:
            stale[name] = found
    if failed:
        print('record_keystone: nothing written', file=sys.stderr)
        return 1
    for name, found in stale.items():
        print(f'{name}.json does not match Keystone '
              f'{run.keystone_version}:\n- ' + '\n- '.join(found))
        if args.check:
            continue
        recording = refreshed(run, name)
        left = [problem for exchange in run.of(name)
                for problem in live_check.differences(recording, exchange)]
        if left:
            print(f'record_keystone: {name}: the live replies differ among '
                  f'themselves; not written:\n- ' + '\n- '.join(left),
                  file=sys.stderr)
            failed = True
            continue
        path = live_check.RECORDINGS / f'{name}.json'
        path.write_text(json.dumps(recording, indent=2) + '\n')
        print(f'  rewrote {path}')
    if not stale:
        print(f'all {len(names)} recordings match Keystone '
              f'{run.keystone_version}')
    return 1 if failed or (args.check and stale) else 0


if __name__ == '__main__':
    sys.exit(main())
