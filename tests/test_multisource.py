"""Several source domains: fit(..., domains=), DANN's K+1-way discriminator, splits."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut

from skuda import DANNClassifier, MCCClassifier, SourceOnlyClassifier
from skuda._batching import Batch, make_batch
from skuda.selection import (
    InformationMaximizationScorer,
    LeaveOneDomainOut,
    StackedDomainSplit,
)


@pytest.fixture(scope="module")
def three_sources(blobs):
    Xs, ys, Xt, _ = blobs
    domains = np.array(["a", "b", "c"])[np.arange(len(ys)) % 3]
    return Xs, ys, Xt, domains


def test_dann_discriminates_every_source_domain_and_the_target(three_sources):
    Xs, ys, Xt, domains = three_sources
    clf = DANNClassifier(max_epochs=2, random_state=0).fit(Xs, ys, Xt, domains=domains)
    np.testing.assert_array_equal(clf.source_domains_, ["a", "b", "c"])
    assert clf.net_.module_.discriminator(torch.zeros(2, 256)).shape == (2, 4)
    assert 0 <= clf.history_[-1, "domain_acc"] <= 1
    pooled = DANNClassifier(max_epochs=2, random_state=0, multi_source="pooled")
    pooled.fit(Xs, ys, Xt, domains=domains)
    assert pooled.net_.module_.discriminator(torch.zeros(2, 256)).shape == (2, 1)
    plain = DANNClassifier(max_epochs=2, random_state=0).fit(Xs, ys, Xt)
    np.testing.assert_array_equal(pooled.predict_proba(Xt), plain.predict_proba(Xt))
    assert not hasattr(plain, "source_domains_")


def test_multi_domain_loss_targets_the_last_class():
    gen = torch.Generator().manual_seed(0)
    xs, xt = torch.randn(6, 2, generator=gen), torch.randn(4, 2, generator=gen)
    ds = torch.tensor([0, 1, 2, 0, 1, 2])
    clf = DANNClassifier(max_epochs=1, random_state=0, input_scaling=None).fit(
        torch.cat([xs, xt]).numpy(),
        np.r_[[0, 1] * 3, [-1] * 4],
        domains=np.r_[ds.numpy(), [9] * 4],
    )
    dnet = clf.net_
    batch = make_batch(xs, xs, torch.tensor([0, 1] * 3), xt, None, ds=ds)
    assert isinstance(batch, Batch) and len(batch) == 5 and batch.ws is None
    z = dnet.module_.encoder(torch.cat([xs, xt]))
    logits = dnet.module_.discriminator(z)
    labels = torch.cat([ds, torch.full((4,), 3)])
    expected = torch.nn.functional.cross_entropy(logits, labels)
    got = dnet.batch_loss(batch, p=1.0)["domain_loss"]
    assert torch.isclose(got, expected)


def test_both_fit_forms_agree(three_sources):
    Xs, ys, Xt, domains = three_sources
    kw = dict(max_epochs=2, random_state=0)
    three = DANNClassifier(**kw).fit(Xs, ys, Xt, domains=domains)
    stacked = DANNClassifier(**kw).fit(
        np.r_[Xs, Xt],
        np.r_[ys, np.full(len(Xt), -1)],
        domains=np.r_[domains, np.full(len(Xt), "target")],
    )
    np.testing.assert_array_equal(stacked.source_domains_, three.source_domains_)
    np.testing.assert_array_equal(stacked.predict_proba(Xt), three.predict_proba(Xt))


def test_other_methods_pool_the_sources(three_sources):
    Xs, ys, Xt, domains = three_sources
    kw = dict(max_epochs=2, random_state=0)
    with_domains = MCCClassifier(**kw).fit(Xs, ys, Xt, domains=domains)
    np.testing.assert_array_equal(
        with_domains.predict_proba(Xt),
        MCCClassifier(**kw).fit(Xs, ys, Xt).predict_proba(Xt),
    )
    np.testing.assert_array_equal(with_domains.source_domains_, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("domains", "match"),
    [
        (np.zeros(3), "domains has 3 values but there are 120 source rows"),
        (np.r_[np.nan, np.zeros(119)], "domains contains missing values"),
        (np.array([None] + ["a"] * 119, dtype=object), "missing values"),
        (np.zeros((120, 2)), "domains must be 1-D"),
    ],
)
def test_bad_domains(three_sources, domains, match):
    Xs, ys, Xt, _ = three_sources
    with pytest.raises(ValueError, match=match):
        DANNClassifier(max_epochs=1).fit(Xs, ys, Xt, domains=domains)


def test_domains_are_the_labels_rows_have(three_sources):
    Xs, ys, Xt, domains = three_sources
    declared = pd.Categorical(domains, categories=["a", "b", "c", "unused"])
    clf = DANNClassifier(max_epochs=1, random_state=0)
    clf.fit(Xs, ys, Xt, domains=pd.Series(declared))
    np.testing.assert_array_equal(clf.source_domains_, ["a", "b", "c"])
    assert clf.net_.module_.discriminator(torch.zeros(2, 256)).shape == (2, 4)
    with pytest.raises(ValueError, match="domains contains missing values"):
        clf.fit(Xs, ys, Xt, domains=pd.Categorical([None] + ["a"] * 119))


def test_stacked_domains_need_one_per_row(stacked):
    X, y = stacked
    with pytest.raises(ValueError, match="domains has 5 values but there are 240 rows"):
        SourceOnlyClassifier(max_epochs=1).fit(X, y, domains=np.zeros(5))


def test_warm_start_needs_the_same_domains(three_sources):
    Xs, ys, Xt, domains = three_sources
    clf = DANNClassifier(max_epochs=1, warm_start=True, random_state=0)
    clf.fit(Xs, ys, Xt, domains=domains)
    with pytest.raises(ValueError, match="same source domains"):
        clf.fit(Xs, ys, Xt, domains=np.where(domains == "c", "b", domains))


def _stacked_groups():
    y = np.r_[np.tile([0, 1], 15), np.full(8, -1)]
    groups = np.r_[np.repeat(["a", "b", "c"], 10), np.full(8, "t")]
    return np.zeros((len(y), 2)), y, groups


def test_leave_one_domain_out_keeps_domains_together():
    X, y, groups = _stacked_groups()
    cv = LeaveOneDomainOut()
    assert cv.get_n_splits(X, y, groups) == 3
    held = []
    for train, test in cv.split(X, y, groups):
        source_test = test[y[test] != -1]
        assert len(set(groups[source_test])) == 1  # one whole domain
        assert set(groups[source_test]).isdisjoint(groups[train])
        assert np.sum(y[train] == -1) == np.sum(y[test] == -1) == 8  # all target
        held.append(groups[source_test][0])
    assert held == ["a", "b", "c"]
    with pytest.raises(ValueError, match="needs y .* and groups"):
        next(cv.split(X, y))
    with pytest.raises(ValueError, match="at least 2 source domains"):
        next(cv.split(X, y, np.where(y == -1, "t", "a")))


def test_stacked_domain_split_with_groups_keeps_domains_together():
    X, y, groups = _stacked_groups()
    cv = StackedDomainSplit(3, random_state=0)
    for train, test in cv.split(X, y, groups):
        src_test = groups[test][y[test] != -1]
        src_train = groups[train][y[train] != -1]
        assert set(src_test).isdisjoint(src_train)
        assert np.sum(y[test] == -1) > 0 and np.sum(y[train] == -1) > 0
    with pytest.raises(ValueError, match="3 distinct groups.*4 folds"):
        next(StackedDomainSplit(4).split(X, y, groups))


def test_grid_search_scores_leave_one_domain_out_but_not_leave_one_group_out(
    three_sources,
):
    Xs, ys, Xt, domains = three_sources
    X, y = np.r_[Xs, Xt], np.r_[ys, np.full(len(Xt), -1)]
    groups = np.r_[domains, np.full(len(Xt), "t")]
    est = SourceOnlyClassifier(max_epochs=1, random_state=0)
    grid = {"lr": [1e-3, 1e-2]}
    scoring = InformationMaximizationScorer()
    search = GridSearchCV(est, grid, scoring=scoring, cv=LeaveOneDomainOut())
    search.fit(X, y, groups=groups, domains=groups)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.n_splits_ == 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bad = GridSearchCV(est, grid, scoring=scoring, cv=LeaveOneGroupOut())
        bad.fit(X, y, groups=groups)
    assert np.all(np.isnan(bad.cv_results_["mean_test_score"]))
    assert any("LeaveOneDomainOut" in str(w.message) for w in caught)


def test_multi_source_dann_saves_and_loads(three_sources, tmp_path):
    from skuda.persistence import load, save

    Xs, ys, Xt, domains = three_sources
    clf = DANNClassifier(max_epochs=1, random_state=0).fit(Xs, ys, Xt, domains=domains)
    save(clf, tmp_path / "model")
    again = load(tmp_path / "model")
    np.testing.assert_array_equal(again.source_domains_, clf.source_domains_)
    np.testing.assert_array_equal(again.predict_proba(Xt), clf.predict_proba(Xt))
