"""The core names no driver: adding one changes no file of ``zaqar_core``.

Every module of ``zaqar_core`` outside its tests is read: none imports
``zaqar_plugins`` or a backend's library, and no string in its code
(docstrings aside) names an installed store or transport driver, or a
backend one serves, as configuration and URIs spell them; but for
upstream's option defaults and names, which the configuration keeps.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from zaqar_core import plugins

CORE = Path(__file__).parents[2]

#: Upstream's option defaults and the upstream option tables, where a
#: driver's name is configuration, not code.
CONFIGURATION = {'conf/drivers.py', 'conf/upstream_options.py',
                 'conf/checking.py'}

BACKENDS = ('sqlite', 'postgresql', 'mysql', 'mariadb', 'redis', 'granian')


def modules() -> list[Path]:
    return sorted(path for path in CORE.rglob('*.py')
                  if 'tests' not in path.relative_to(CORE).parts)


def driver_words() -> re.Pattern:
    names = {name for kind in plugins.KINDS for name in kind.names()}
    assert {'redis', 'sqlalchemy', 'wsgi', 'websocket'} <= names
    # As configuration and URIs spell them: prose may say "SQLite". The
    # core's own zaqar_core.wsgi module is no driver.
    alternatives = '|'.join(sorted(names | set(BACKENDS)))
    return re.compile(rf'(?<!zaqar_core\.)\b({alternatives})\b')


def docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                             ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and \
                    isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


@pytest.mark.parametrize('path', modules(),
                         ids=lambda path: str(path.relative_to(CORE)))
def test_a_core_module_names_no_driver(path: Path) -> None:
    tree = ast.parse(path.read_text(), str(path))
    imports = [alias.name for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names]
    imports += [node.module or '' for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)]
    words = driver_words()
    assert not [name for name in imports
                if name.split('.')[0] == 'zaqar_plugins'
                or words.fullmatch(name.split('.')[0])]
    if str(path.relative_to(CORE)) in CONFIGURATION:
        return
    skip = docstrings(tree)
    named = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in skip and words.search(node.value)]
    assert not named
