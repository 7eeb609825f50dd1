"""skuda.pipeline, feature names and set_output."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skuda import (
    ADDAClassifier,
    CDANClassifier,
    DANNClassifier,
    DeepCORALClassifier,
    MCCClassifier,
    SHOTAdapter,
    SourceOnlyClassifier,
)
from skuda.pipeline import DAPipeline, make_da_pipeline
from skuda.preprocessing import ChannelStandardScaler, FFTMagnitude

FAST = dict(
    max_epochs=2,
    batch_size=32,
    min_iterations_per_epoch=1,
    device="cpu",
    random_state=0,
)


def _tables(n_src=80, n_tgt=60, seed=0):
    """Mixed tables: two numeric columns and a string category; target shifted.

    The label depends on the category, and the target has a category the
    source never shows ("d").
    """
    rng = np.random.default_rng(seed)

    def table(n, shift, kinds):
        kind = rng.choice(kinds, n)
        x = rng.normal(shift, 1.0, (n, 2))
        return pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "kind": kind})

    X_src = table(n_src, 0.0, ["a", "b", "c"])
    X_tgt = table(n_tgt, 3.0, ["a", "b", "c", "d"])
    y_src = (X_src["kind"] == "a").astype(int) + (X_src["x0"] > 0)
    return X_src, y_src.to_numpy(), X_tgt


def _pre():
    return make_column_transformer(
        (StandardScaler(), ["x0", "x1"]), (OneHotEncoder(), ["kind"])
    )


def test_column_transformer_with_string_categories_three_argument_form():
    X_src, y_src, X_tgt = _tables()
    pipe = make_da_pipeline(_pre(), DANNClassifier(**FAST))
    assert isinstance(pipe, DAPipeline)
    pipe.fit(X_src, y_src, X_tgt)
    # The encoder saw both domains: four categories, target's "d" included.
    pre = pipe.steps[0][1]
    assert list(pre.named_transformers_["onehotencoder"].categories_[0]) == list("abcd")
    # ... and so did the scaler: pooled over both domains, not the source only.
    stacked = pd.concat([X_src, X_tgt])[["x0", "x1"]].to_numpy()
    np.testing.assert_allclose(
        pre.named_transformers_["standardscaler"].mean_, stacked.mean(axis=0)
    )
    assert pipe[-1].n_features_in_ == 2 + 4
    assert pipe.predict(X_tgt).shape == (len(X_tgt),)
    # The estimator received the transformed target rows: its pooled input
    # statistics are those of the encoded domains.
    Z = pre.transform(pd.concat([X_src, X_tgt]))
    np.testing.assert_allclose(pipe[-1].input_mean_, Z.mean(axis=0), atol=1e-6)


def test_three_argument_form_means_the_same_as_the_stacked_form():
    X_src, y_src, X_tgt = _tables()
    three = make_da_pipeline(_pre(), DANNClassifier(**FAST)).fit(X_src, y_src, X_tgt)
    X = pd.concat([X_src, X_tgt], ignore_index=True)
    y = np.r_[y_src, np.full(len(X_tgt), -1)]
    stacked = make_pipeline(_pre(), DANNClassifier(**FAST)).fit(X, y)
    np.testing.assert_array_equal(
        three.predict_proba(X_tgt), stacked.predict_proba(X_tgt)
    )
    # Routed as a fit parameter, as a plain Pipeline user would write it.
    routed = make_da_pipeline(_pre(), DANNClassifier(**FAST))
    routed.fit(X_src, y_src, dannclassifier__X_tgt=X_tgt)
    np.testing.assert_array_equal(
        routed.predict_proba(X_tgt), three.predict_proba(X_tgt)
    )


def test_da_pipeline_errors_and_passthrough_of_other_forms(blobs, source_model):
    X_src, y_src, X_tgt = _tables()
    pipe = make_da_pipeline(_pre(), DANNClassifier(**FAST))
    with pytest.raises(TypeError, match="X_tgt must be one too"):
        pipe.fit(X_src, y_src, X_tgt.to_numpy())
    with pytest.raises(ValueError, match="<step name>__<parameter>"):
        pipe.fit(X_src, y_src, X_tgt, nope=1)
    with pytest.raises(ValueError, match="given twice"):
        pipe.fit(X_src, y_src, X_tgt, dannclassifier__X_tgt=X_tgt)
    # Without X_tgt: a plain Pipeline (source-free SHOT takes target rows only).
    _, _, Xt, _ = blobs
    shot = make_da_pipeline(
        StandardScaler(), SHOTAdapter(source_model, max_epochs=2, device="cpu")
    )
    assert shot.fit(Xt).predict(Xt).shape == (len(Xt),)


def test_metadata_routing_transforms_x_tgt_with_source_fitted_steps(blobs):
    Xs, ys, Xt, _ = blobs
    with sklearn.config_context(enable_metadata_routing=True):
        dann = DANNClassifier(input_scaling=None, **FAST).set_fit_request(X_tgt=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("dann", dann)], transform_input=["X_tgt"]
        )
        pipe.fit(Xs, ys, X_tgt=Xt)
    scaler = pipe.named_steps["scale"]
    np.testing.assert_allclose(scaler.mean_, Xs.mean(axis=0))  # source rows only
    # The estimator got the scaled target rows: with input_scaling=None its
    # predictions equal those of the bare estimator fitted on scaled domains.
    ref = DANNClassifier(input_scaling=None, **FAST).fit(
        scaler.transform(Xs), ys, scaler.transform(Xt)
    )
    np.testing.assert_array_equal(
        pipe.predict_proba(Xt), ref.predict_proba(scaler.transform(Xt))
    )


@pytest.mark.parametrize(
    "Est",
    [
        DANNClassifier,
        CDANClassifier,
        DeepCORALClassifier,
        MCCClassifier,
        SourceOnlyClassifier,
        ADDAClassifier,
        SHOTAdapter,
    ],
    ids=lambda c: c.__name__,
)
def test_set_output_pandas_on_a_pipeline_ending_in_transform(Est, stacked):
    X, y = stacked
    kwargs = {"source_epochs": 2} if Est in (ADDAClassifier, SHOTAdapter) else {}
    est = Est(hidden_layer_sizes=(8,), **FAST, **kwargs)
    plain = make_pipeline(StandardScaler(), clone(est)).fit(X, y).transform(X)
    pipe = make_pipeline(StandardScaler(), est).set_output(transform="pandas")
    out = pipe.fit(X, y).transform(X)
    assert isinstance(out, pd.DataFrame)
    name = Est.__name__.lower()
    assert list(out.columns) == [f"{name}{i}" for i in range(plain.shape[1])]
    np.testing.assert_array_equal(out.to_numpy(), plain)
    assert list(pipe[-1].get_feature_names_out()) == list(out.columns)
    assert isinstance(pipe.fit_transform(X, y), pd.DataFrame)


def test_signal_transformers_name_their_columns():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(6, 16)), columns=[f"t{i}" for i in range(16)])
    pipe = make_pipeline(ChannelStandardScaler(), FFTMagnitude(n_bins=5))
    out = pipe.set_output(transform="pandas").fit_transform(X)
    assert list(out.columns) == [f"fftmagnitude{i}" for i in range(5)]
    scaled = ChannelStandardScaler().set_output(transform="pandas").fit_transform(X)
    assert list(scaled.columns) == list(X.columns)
    with pytest.raises(ValueError, match="3-D signals"):
        FFTMagnitude().fit(rng.normal(size=(3, 2, 16))).get_feature_names_out()
    with pytest.raises(ValueError, match="3-D signals"):
        ChannelStandardScaler().fit(rng.normal(size=(3, 2, 16))).get_feature_names_out()
