"""Shared parameters are documented once, with the same text everywhere."""

import ast
import inspect
import re

import pytest

import skuda
from skuda._docs import SHARED

ESTIMATORS = [getattr(skuda, name) for name in skuda.__all__ if name[0].isupper()]
ESTIMATORS = [cls for cls in ESTIMATORS if hasattr(cls, "fit")]


def _parameters(cls):
    """name -> (type and default line, description) of the Parameters section."""
    doc = inspect.cleandoc(cls.__doc__)
    section = doc.split("Parameters\n----------\n", 1)[1].split("\n\n    ")[0]
    section = re.split(r"\n(?:Attributes|Returns|See Also|Notes)\n-+\n", section)[0]
    entries = {}
    for match in re.finditer(r"^(\w+) : (.*)\n((?:    .*\n?|\n)*)", section, re.M):
        name, kind, body = match.groups()
        entries[name] = (kind, " ".join(body.split()))
    return entries


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_parameter_documented_with_its_real_default(cls):
    documented = _parameters(cls)
    for name, param in inspect.signature(cls).parameters.items():
        assert name in documented, f"{cls.__name__}.{name} is not documented"
        default = documented[name][0].rsplit("default=", 1)[1]
        assert ast.literal_eval(default) == param.default, (cls.__name__, name)


def test_shared_parameters_read_the_same_in_every_estimator():
    texts = {}
    for cls in ESTIMATORS:
        for name, (kind, text) in _parameters(cls).items():
            if name in SHARED:
                kind = kind.rsplit(", default=", 1)[0]
                texts.setdefault(name, set()).add((kind, text))
    assert set(texts) == set(SHARED)  # every shared parameter is used somewhere
    for name, variants in texts.items():
        assert len(variants) == 1, f"{name} is documented {len(variants)} ways"
