"""Source models from skorch, and user modules for head, discriminator, encoder."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.base import clone
from skorch import NeuralNet, NeuralNetBinaryClassifier, NeuralNetClassifier
from torch import nn

from skuda import ADDAClassifier, DANNClassifier, SHOTAdapter
from skuda._source import SourceModel
from skuda.datasets import make_shifted_blobs

FAST = dict(batch_size=32, device="cpu", random_state=0)


class FeaturesClassifier(nn.Module):
    """skorch's tutorial habit: a softmax output, for the default NLLLoss."""

    def __init__(self, d=2, extra=0.0):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(d, 16), nn.ReLU())
        self.classifier = nn.Linear(16, 3)
        self.extra = extra

    def forward(self, x):
        return F.softmax(self.classifier(self.features(x)) * (1 + self.extra), -1)


class EncoderHeadTuple(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.head = nn.Linear(2, 8), nn.Linear(8, 3)

    def forward(self, x):
        z = self.encoder(x)
        return self.head(z), z


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(2, 3)

    def forward(self, x):
        return self.a(x)


def _fitted(net, X, y, seed=0):
    """Fit a skorch net with a fixed seed, leaving the global RNG as it was.

    A module instance drew its weights when it was built, from whatever state
    the global RNG was in: they are drawn again here, from the seed.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if isinstance(net.module, nn.Module):
            for layer in net.module.modules():
                if hasattr(layer, "reset_parameters"):
                    layer.reset_parameters()
        return net.fit(X, y)


def _skorch_classifier(module, X, y, **kwargs):
    net = NeuralNetClassifier(
        module, max_epochs=30, lr=0.05, train_split=None, verbose=0, **kwargs
    )
    return _fitted(net, X.astype(np.float32), y)


@pytest.fixture(scope="module")
def shifted():
    return make_shifted_blobs(
        300, n_features=5, shift=4.0, rotation=60.0, random_state=0
    )


def test_shot_adapts_a_fitted_skorch_classifier(shifted):
    Xs, ys, Xt, yt = shifted
    module = nn.Sequential(
        nn.Linear(5, 64), nn.ReLU(), nn.Linear(64, 3), nn.Softmax(-1)
    )
    net = _skorch_classifier(module, Xs, ys)  # default criterion: NLLLoss
    before = copy.deepcopy(net.module_.state_dict())
    source_acc = np.mean(net.predict(Xt.astype(np.float32)) == yt)
    shot = SHOTAdapter(net, **FAST).fit(Xt)
    assert shot.score(Xt, yt) > source_acc + 0.08  # measured: 0.74 -> 0.85
    np.testing.assert_array_equal(shot.classes_, net.classes_)
    # The head is the net's last Linear, frozen; the skorch net is untouched.
    head = shot.net_.module_.head
    assert isinstance(head, nn.Linear) and torch.equal(head.weight, before["2.weight"])
    after = net.module_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert len(shot.source_history_) == 30  # the skorch net's history, copied


def test_adda_adapts_a_fitted_skorch_classifier(blobs):
    Xs, ys, Xt, _ = blobs
    net = _skorch_classifier(FeaturesClassifier(), Xs, ys)
    adda = ADDAClassifier(
        net, max_epochs=2, discriminator_hidden_layer_sizes=(16,), **FAST
    ).fit(Xs, ys, Xt)
    src = adda.source_encoder_
    assert torch.equal(src[0].weight, net.module_.features[0].weight)
    assert src[0].weight is not net.module_.features[0].weight  # a copy
    assert adda.predict(Xt).shape == (len(Xt),)


@pytest.mark.parametrize(
    "module, encoder_name, head_name",
    [
        (nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)), None, None),
        (FeaturesClassifier(), "features", "classifier"),
    ],
)
def test_split_rules(module, encoder_name, head_name, blobs):
    Xs, ys, _, _ = blobs
    net = _skorch_classifier(module, Xs, ys, criterion=nn.CrossEntropyLoss)
    source = SourceModel.of(net)
    if encoder_name is None:  # nn.Sequential: the last layer is the head
        assert source.head is module[-1] and list(source.encoder) == list(module)[:-1]
    else:
        assert source.encoder is getattr(module, encoder_name)
        assert source.head is getattr(module, head_name)
    assert source.n_outputs((2,)) == 3  # checked against the whole module


def test_modules_that_cannot_be_split_are_clear_errors(blobs):
    Xs, ys, Xt, _ = blobs
    X = Xs.astype(np.float32)

    def initialized(module):
        return NeuralNet(module, criterion=nn.CrossEntropyLoss).initialize()

    with pytest.raises(ValueError, match="returns a tuple"):
        SHOTAdapter(initialized(EncoderHeadTuple), **FAST).fit(Xt)
    with pytest.raises(ValueError, match="Cannot split.*Plain.*feature_extractor, "):
        SHOTAdapter(initialized(Plain), **FAST).fit(Xt)
    with pytest.raises(ValueError, match="does more than"):
        SHOTAdapter(initialized(FeaturesClassifier(extra=1.0)), **FAST).fit(Xt)
    with pytest.raises(ValueError, match="not initialized"):
        SHOTAdapter(NeuralNetClassifier(Plain), **FAST).fit(Xt)
    with pytest.raises(ValueError, match="module_ failed on input of shape"):
        SHOTAdapter(initialized(FeaturesClassifier), **FAST).fit(np.c_[Xt, Xt])
    # A pair whose feature extractor returns a tuple: named, not a traceback.
    pair = (EncoderHeadTuple(), nn.Linear(8, 3))
    with pytest.raises(ValueError, match="feature extractor returns a tuple"):
        ADDAClassifier(pair, **FAST).fit(X, ys, Xt)


def test_classes_of_plain_and_binary_skorch_nets(blobs):
    Xs, ys, Xt, _ = blobs
    X = Xs.astype(np.float32)
    plain = _fitted(
        NeuralNet(
            FeaturesClassifier,
            criterion=nn.NLLLoss,
            max_epochs=2,
            train_split=None,
            verbose=0,
        ),
        X,
        ys,
    )
    shot = SHOTAdapter(plain, max_epochs=1, **FAST).fit(Xt)
    np.testing.assert_array_equal(shot.classes_, [0, 1, 2])
    named = SHOTAdapter(plain, classes=["a", "b", "c"], max_epochs=1, **FAST)
    assert list(named.fit(Xt).classes_) == ["a", "b", "c"]
    assert set(named.predict(Xt)) <= {"a", "b", "c"}
    binary = _fitted(
        NeuralNetBinaryClassifier(
            nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)),
            max_epochs=5,
            train_split=None,
            verbose=0,
        ),
        X,
        (ys > 0).astype(np.float32),
    )
    shot = SHOTAdapter(binary, max_epochs=1, cls_par=0.0, **FAST).fit(Xt)
    np.testing.assert_array_equal(shot.classes_, [0, 1])
    # Before adaptation the two logits (0, z) reproduce the net's probability.
    proba = SHOTAdapter(binary, max_epochs=1, adapt_lr=1e-12, input_scaling=None)
    proba = proba.set_params(**FAST).fit(Xt).predict_proba(Xt)[:, 1]
    np.testing.assert_allclose(
        proba, binary.predict_proba(Xt.astype(np.float32))[:, 1], atol=1e-4
    )


def test_user_head_and_discriminator_modules(blobs):
    Xs, ys, Xt, _ = blobs
    head = nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
    disc = nn.Sequential(nn.Linear(16, 4), nn.Tanh(), nn.Linear(4, 1))
    before = copy.deepcopy(head.state_dict())
    clf = DANNClassifier(
        hidden_layer_sizes=(16,), head=head, discriminator=disc, max_epochs=2, **FAST
    ).fit(Xs, ys, Xt)
    net = clf.net_.module_
    assert net.head is not head and isinstance(net.head[2], nn.Linear)
    assert isinstance(net.discriminator[1], nn.Tanh)
    assert all(torch.equal(before[k], head.state_dict()[k]) for k in before)
    assert not torch.equal(net.head[0].weight, head[0].weight)  # it trained
    adda = ADDAClassifier(
        hidden_layer_sizes=(16,),
        discriminator=disc,
        source_epochs=1,
        max_epochs=1,
        **FAST,
    ).fit(Xs, ys, Xt)
    assert isinstance(adda.discriminator_[1], nn.Tanh)
    shot = SHOTAdapter(
        bottleneck_dim=16, head=head, source_epochs=1, max_epochs=1, **FAST
    ).fit(Xs, ys, Xt)
    assert isinstance(shot.net_.module_.head[1], nn.ReLU)
    with pytest.raises(ValueError, match="head must map 16 features to 3 class"):
        DANNClassifier(hidden_layer_sizes=(16,), head=nn.Linear(16, 2), **FAST).fit(
            Xs, ys, Xt
        )
    with pytest.raises(ValueError, match="discriminator must map 16 features"):
        DANNClassifier(
            hidden_layer_sizes=(16,), discriminator=nn.Linear(16, 2), **FAST
        ).fit(Xs, ys, Xt)


class Widths(nn.Module):
    def __init__(self, d_in=2, width=4):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d_in, width), nn.ReLU())
        self.out_features = width

    def forward(self, x):
        return self.layers(x)


class TupleEncoder(nn.Module):
    def forward(self, x):
        return x, x


def test_feature_extractor_class_with_skorch_style_arguments(blobs):
    Xs, ys, Xt, _ = blobs
    clf = DANNClassifier(feature_extractor=Widths, max_epochs=1, **FAST)
    clf.set_params(feature_extractor__width=12)
    assert clf.get_params()["feature_extractor_kwargs"] == {"width": 12}
    clf = clone(clf).fit(Xs, ys, Xt)
    assert clf.transform(Xt).shape == (len(Xt), 12)
    with pytest.raises(ValueError, match="named backbone or a module class"):
        DANNClassifier(feature_extractor=Widths()).set_params(feature_extractor__a=1)
    with pytest.raises(TypeError, match="does not fit feature_extractor=Widths"):
        DANNClassifier(
            feature_extractor=Widths, feature_extractor_kwargs={"depth": 2}, **FAST
        ).fit(Xs, ys, Xt)
    with pytest.raises(ValueError, match="feature_extractor returns a tuple"):
        DANNClassifier(feature_extractor=TupleEncoder(), **FAST).fit(Xs, ys, Xt)
