"""What ADDA and SHOT share: a source model first, then an adaptation phase."""

from __future__ import annotations

from numbers import Integral, Real

from ._base import BaseDAClassifier, BaseDAEstimator
from ._source import SourceModel, SourceNet
from ._validation import Interval


class TwoPhaseMixin:
    """What methods that adapt a source model share (ADDA, SHOT), for any task.

    The source model comes from ``source_estimator`` when it is set (see
    :meth:`skuda._source.SourceModel.of`), else from a source phase of
    ``source_epochs`` epochs on the labelled source rows. Subclasses implement
    ``_train`` with the two helpers below. Mixed into a classifier
    (:class:`TwoPhaseDAClassifier`) or a regressor base.
    """

    _parameter_constraints: dict = {
        **BaseDAEstimator._parameter_constraints,
        "source_estimator": "no_validation",  # checked by SourceModel.of
        "source_epochs": [Interval(Integral, 1, None, closed="left")],
        "adapt_lr": [Interval(Real, 0, None, closed="neither")],
    }

    _data_parallel = False  # two optimizers (ADDA) and pseudo-label rounds (SHOT)

    def _trains_source(self):
        return self.source_estimator is None

    def _source_model_param(self):
        if self.source_estimator is None:
            return None
        return SourceModel.of(self.source_estimator)

    def _source_phase(self, data, batch_seed, **overrides):
        """Train a fresh network on the source rows of ``data``; return the net.

        Its history becomes ``source_history_``.
        """
        network = self._build_network(self.input_shape_, self._n_outputs())
        net = self._make_net(
            SourceNet,
            network,
            batch_seed,
            phase="source",
            max_epochs=self.source_epochs,
            **overrides,
        )
        self._fit_net(net, data)
        self.source_history_ = net.history
        return net

    def _network_from_source(self, encoder, head):
        """Build the adaptation network around a source model's modules."""
        raise NotImplementedError

    def _blank_network(self):
        if self.source_estimator is None:
            network = self._build_network(self.input_shape_, self._n_outputs())
            return self._network_from_source(network.encoder, network.head)
        source = self._source_model_param().copy()
        return self._network_from_source(source.encoder, source.head)

    def _given_source(self):
        """Return a private copy of the ``source_estimator``'s source model.

        Its history (a copy) becomes ``source_history_``.
        """
        source = self._source_model_param().copy()
        self.source_history_ = source.history
        return source


class TwoPhaseDAClassifier(TwoPhaseMixin, BaseDAClassifier):
    """Base of the two-phase classifiers: ADDA and SHOT."""

    _regressor = None
    """Name of the method's regressor, suggested when given a source regressor."""

    def _source_model_param(self):
        source = super()._source_model_param()
        if source is not None and source.target_mean is not None:
            hint = f" Use {self._regressor}." if self._regressor else ""
            raise ValueError(
                "source_estimator is a regressor (it predicts continuous "
                f"targets); {type(self).__name__} adapts a classifier.{hint}"
            )
        return source
