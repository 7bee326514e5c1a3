"""bandit finds nothing: each check it skips is justified once, in
``[tool.bandit]`` of pyproject.toml."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from zaqar_testing.ci import unavailable

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ['zaqar_core', 'zaqar_plugins', 'zaqar_bench', 'zaqar_testing',
           'tools']


def test_bandit_finds_nothing() -> None:
    if importlib.util.find_spec('bandit') is None:
        unavailable('bandit is not installed (test-requirements.txt)')
    result = subprocess.run(
        [sys.executable, '-m', 'bandit', '-q', '-c', 'pyproject.toml',
         '-f', 'json', '-r', *SCANNED],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    report = json.loads(result.stdout)
    findings = [f'{r["filename"]}:{r["line_number"]} {r["test_id"]} '
                f'{r["issue_text"]}' for r in report['results']]
    assert not findings, '\n'.join(findings)
    assert not report['errors'], report['errors']
    assert result.returncode == 0, result.stderr
