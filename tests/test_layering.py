"""The house stays layered: no import runs back up, no method imports another."""

import ast
from pathlib import Path

import skuda

PACKAGE = Path(skuda.__file__).parent
METHODS = {"dann", "adda", "shot", "mcc", "cdan", "coral", "baseline"}
# The shared base may import these (and nothing above them).
BASE = {
    "_building",
    "_guards",
    "_precision",
    "_base",
    "_batching",
    "_codec",
    "_device",
    "_distributed",
    "_docs",
    "_foreign",
    "_inference",
    "_net",
    "_network",
    "_scaling",
    "_source",
    "_two_phase",
    "_user_callbacks",
    "_validation",
    "_validation_split",
    "_rows",
    "_streaming",
    "_sparse",
}


def _skuda_imports(path):
    """Top-level skuda modules that the module at ``path`` imports."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update(alias.name for alias in node.names)
    return names


def test_methods_import_no_other_method():
    for name in METHODS:
        imported = _skuda_imports(PACKAGE / f"{name}.py")
        assert not imported & (METHODS - {name}), (name, imported & METHODS)


def test_base_imports_no_method_and_nothing_above_it():
    for name in BASE:
        imported = _skuda_imports(PACKAGE / f"{name}.py")
        assert not imported & METHODS, (name, imported & METHODS)
        assert not imported & {"selection", "callbacks", "datasets", "demo"}, name
