"""skorch callbacks for skuda estimators (pass them as ``callbacks=[...]``)."""

from __future__ import annotations

import copy
import math

import torch
from skorch.callbacks import Callback

from ._batching import map_chunks
from .exceptions import StopTraining
from .selection import (
    entropy_score,
    information_maximization_score,
    soft_neighborhood_density,
)

_TARGET_SCORES = {
    "entropy": entropy_score,
    "im": information_maximization_score,
    "snd": soft_neighborhood_density,
}


class UnsupervisedEarlyStopping(Callback):
    """Stop training when an unsupervised target score stops improving.

    After every epoch the network being trained predicts all target rows (in
    eval mode) and a label-free score of those predictions is computed and
    recorded in ``history_`` as ``target_<scoring>``. When it has not improved
    by more than ``threshold`` for ``patience`` epochs, training stops, and
    with ``load_best=True`` the weights of the best epoch are restored.

    It acts in every training phase that sees target rows: DANN's single
    phase; ADDA's pre-training and adaptation (each with its own counter);
    SHOT's adaptation. Note that an early stop also cuts the progress-driven
    schedules (the lambda warm-up and lr annealing) short.

    Parameters
    ----------
    scoring : {"im", "entropy", "snd"}, default="im"
        :func:`~skuda.selection.information_maximization_score`,
        :func:`~skuda.selection.entropy_score` or
        :func:`~skuda.selection.soft_neighborhood_density` (computed on at most
        ``max_rows`` target rows; the first ones).
    patience : int, default=10
        Epochs without improvement before stopping.
    threshold : float, default=1e-4
        Minimum improvement that counts.
    load_best : bool, default=True
        Restore the best epoch's weights when training ends.
    max_rows : int, default=5000
        Target rows scored (the first ones); bounds the cost of ``"snd"``.

    Attributes
    ----------
    best_score_ : float
    best_epoch_ : int
        Epoch (1-based, within the phase) of the best score.
    stopped_epoch_ : int or None
        Epoch at which training was stopped, None when it ran to the end.

    Examples
    --------
    >>> from skuda import DANNClassifier
    >>> from skuda.callbacks import UnsupervisedEarlyStopping
    >>> clf = DANNClassifier(
    ...     max_epochs=200, callbacks=[UnsupervisedEarlyStopping("im", patience=10)]
    ... )
    """

    def __init__(
        self, scoring="im", patience=10, threshold=1e-4, load_best=True, max_rows=5000
    ):
        self.scoring = scoring
        self.patience = patience
        self.threshold = threshold
        self.load_best = load_best
        self.max_rows = max_rows

    def initialize(self):
        """Check ``scoring`` and ``patience`` (skorch calls this on net init)."""
        if self.scoring not in _TARGET_SCORES:
            raise ValueError(
                f"Unknown scoring {self.scoring!r} for UnsupervisedEarlyStopping; "
                f"choose from {sorted(_TARGET_SCORES)}."
            )
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise ValueError(f"patience must be an int >= 1; got {self.patience!r}.")
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Reset the best score, the counters and the saved weights."""
        self.best_score_ = -math.inf
        self.best_epoch_ = 0
        self.stopped_epoch_ = None
        self._best_state = None
        self._misses = 0
        self._epoch = 0

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        """Score and record the target predictions; stop once they stall."""
        rows = net.target_rows(dataset_train) if dataset_train is not None else None
        if rows is None:
            return
        self._epoch += 1
        rows = rows[: self.max_rows]
        was_training = net.module_.training
        net.module_.eval()
        with torch.no_grad():
            logits = map_chunks(net.target_logits, rows)
        net.module_.train(was_training)
        proba = torch.softmax(logits.float(), dim=1).cpu().numpy()
        score = _TARGET_SCORES[self.scoring](proba)
        net.history.record(f"target_{self.scoring}", score)
        if score > self.best_score_ + self.threshold:
            self.best_score_, self.best_epoch_, self._misses = score, self._epoch, 0
            if self.load_best:
                self._best_state = copy.deepcopy(net.module_.state_dict())
            return
        self._misses += 1
        if self._misses >= self.patience:
            self.stopped_epoch_ = self._epoch
            if net.verbose:
                print(
                    f"Stopping: target_{self.scoring} has not improved for "
                    f"{self.patience} epochs; best {self.best_score_:.4f} at epoch "
                    f"{self.best_epoch_}."
                )
            raise StopTraining

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Restore the best epoch's weights if ``load_best``; drop the saved copy."""
        if self.load_best and self._best_state is not None:
            net.module_.load_state_dict(self._best_state)
        self._best_state = None
