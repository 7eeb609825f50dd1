"""skuda.callbacks.UnsupervisedEarlyStopping."""

import pytest

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter
from skuda.callbacks import UnsupervisedEarlyStopping
from skuda.selection import entropy_score, information_maximization_score


def test_early_stopping_stops_and_restores_best(blobs):
    Xs, ys, Xt, _ = blobs
    stop = UnsupervisedEarlyStopping("im", patience=3)
    clf = DANNClassifier(max_epochs=200, random_state=0, callbacks=[stop]).fit(
        Xs, ys, Xt
    )
    cb = dict(clf.net_.callbacks_)["UnsupervisedEarlyStopping"]
    scores = clf.history_[:, "target_im"]
    assert cb.stopped_epoch_ is not None and len(clf.history_) < 200
    assert len(scores) == cb.stopped_epoch_ == cb.best_epoch_ + 3
    assert cb.best_score_ == scores[cb.best_epoch_ - 1]
    assert cb.best_score_ >= max(scores) - stop.threshold
    # The restored weights are the best epoch's: their score is the best one.
    assert information_maximization_score(clf.predict_proba(Xt)) == pytest.approx(
        cb.best_score_, abs=1e-5
    )
    # The user's callback object is a template: it was not fitted in place.
    assert not hasattr(stop, "best_score_")


@pytest.mark.parametrize("Est", [ADDAClassifier, SHOTAdapter])
def test_early_stopping_scores_the_prediction_path(Est, blobs):
    Xs, ys, Xt, _ = blobs
    cb = UnsupervisedEarlyStopping("entropy", patience=2, load_best=False)
    clf = Est(max_epochs=6, random_state=0, callbacks=[cb]).fit(Xs, ys, Xt)
    last = clf.history_[-1, "target_entropy"]
    assert last == pytest.approx(entropy_score(clf.predict_proba(Xt)), abs=1e-5)


def test_early_stopping_bad_parameters(blobs):
    Xs, ys, Xt, _ = blobs
    for kwargs, msg in [
        ({"scoring": "dev"}, "Unknown scoring"),
        ({"patience": 0}, "patience"),
    ]:
        clf = DANNClassifier(
            max_epochs=2, callbacks=[UnsupervisedEarlyStopping(**kwargs)]
        )
        with pytest.raises(ValueError, match=msg):
            clf.fit(Xs, ys, Xt)
