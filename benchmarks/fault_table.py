"""Bad inputs and faults tried against skuda: outcome of each, as a table.

Each case hands some inputs to skuda (a fit, a refit, a predict, a load, an
interrupt, ...) and records what happened:

* ``clear error``: a ValueError/TypeError (or FileNotFoundError,
  NotFittedError, TrainingDivergedError) whose message names the argument or
  parameter at fault;
* ``ok`` / ``ok + warning``: it worked, and the result is sound: finite
  probabilities of the right shape, the expected classes, and whatever the
  case checks besides (e.g. that a failed refit left the old model);
* ``unclear error``: an exception that does not name what is wrong, or a raw
  torch/numpy one;
* ``SILENT-WRONG``: it "worked" but the result is not sound.

``mutated`` is "yes" when any input the caller passed (arrays, DataFrames,
modules, source estimators) differs afterwards (hash before and after).

Run ``python -m benchmarks.fault_table`` from the repository root: it prints a
markdown table and writes ``benchmarks/results/fault_table.csv``.
"""

from __future__ import annotations

import csv
import hashlib
import pickle
import re
import warnings
from collections import Counter

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from torch import nn

from skuda import TrainingDivergedError

from ._common import RESULTS
from ._faults import CASES, Data

CLEAR = (ValueError, TypeError, FileNotFoundError, NotFittedError)


# -- running ----------------------------------------------------------------------
def digest(obj):
    """Hash what the caller passed (arrays, frames, modules, estimators)."""
    if isinstance(obj, np.ndarray):
        return hashlib.sha256(
            obj.tobytes() + str((obj.dtype, obj.shape, obj.flags.writeable)).encode()
        ).hexdigest()
    if isinstance(obj, nn.Module):
        return digest([t.detach().numpy() for t in obj.state_dict().values()])
    if hasattr(obj, "net_"):
        return digest([obj.net_.module_, obj.classes_, repr(obj)])
    if isinstance(obj, FrozenEstimator):
        return digest(obj.estimator)
    if isinstance(obj, (list, tuple)):
        return hashlib.sha256("".join(digest(o) for o in obj).encode()).hexdigest()
    return hashlib.sha256(pickle.dumps(obj)).hexdigest()


def run_case(kind, make, names, expect, rows):
    """Return (outcome, message, mutated) of one case."""
    d = Data()
    try:
        call, args = make(d)
    except Exception as exc:  # the setup itself failed: report as unclear
        return "unclear error", f"setup: {exc!r}"[:120], "no"
    before = [digest(a) for a in args]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome, message = _outcome(call, args, names, rows, d, kind)
    mutated = "yes" if [digest(a) for a in args] != before else "no"
    user_warnings = [
        w for w in caught if not issubclass(w.category, DeprecationWarning)
    ]
    if outcome == "ok" and user_warnings:
        outcome, message = "ok + warning", str(user_warnings[0].message)
    if expect == "error" and outcome.startswith("ok"):
        outcome = "SILENT-WRONG"
    return outcome, message[:140].replace("\n", " ").replace("|", "/"), mutated


def _outcome(call, args, names, rows, d, kind):
    try:
        result = call(*args)
    except TrainingDivergedError as exc:
        return (
            "clear error" if re.search(names or ".", str(exc)) else "unclear error"
        ), f"TrainingDivergedError: {exc}"
    except CLEAR as exc:
        clear = re.search(names, str(exc)) if names else False
        return (
            "clear error" if clear else "unclear error"
        ), f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        if "SILENT" in str(exc):
            return "SILENT-WRONG", str(exc)
        clear = names and re.search(names, str(exc))
        return (
            "clear error" if clear else "unclear error"
        ), f"{type(exc).__name__}: {exc}"
    if isinstance(result, str):
        return "SILENT-WRONG", result
    return _sound(result, rows, d, kind)


def _sound(result, rows, d, kind):
    if not hasattr(result, "predict_proba"):
        ok = result is None or (
            isinstance(result, np.ndarray) and np.isfinite(result.astype(float)).all()
        )
        return ("ok", "") if ok else ("SILENT-WRONG", "non-finite output")
    X = rows(d) if rows else (d.sig if result.n_features_in_ == 128 else d.Xt)
    proba = result.predict_proba(X)
    ok = proba.shape == (len(X), len(result.classes_)) and np.isfinite(proba).all()
    labels = {str(c) for c in result.classes_}
    if not ok or (kind == "stacked form" and "-1" in labels):
        return (
            "SILENT-WRONG",
            f"proba finite={np.isfinite(proba).all()}, classes={labels}",
        )
    return "ok", f"classes {sorted(labels)}"


def main():
    """Run every case; print the markdown table and write the CSV."""
    torch.set_num_threads(1)
    rows, counts = [], Counter()
    for kind, name, make, names, expect, rows_of in CASES:
        outcome, message, mutated = run_case(kind, make, names, expect, rows_of)
        counts[outcome] += 1
        counts["mutated"] += mutated == "yes"
        rows.append(
            {
                "kind": kind,
                "case": name,
                "outcome": outcome,
                "mutated": mutated,
                "message": message,
            }
        )
    print("| # | kind | case | outcome | mutated | message |")
    print("|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        print(f"| {i} | " + " | ".join(r.values()) + " |")
    print()
    print(
        f"{len(rows)} cases: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / "fault_table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
