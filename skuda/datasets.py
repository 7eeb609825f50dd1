"""Synthetic domain shifts, and loaders for the real benchmark data.

The synthetic generators are tiny and deterministic given ``random_state``.
The loaders read the NumPy archives described in ``shared/data/README.md`` only
when called (never at import) and apply each benchmark's published preprocessing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

__all__ = [
    "make_shifted_blobs",
    "make_shifted_moons",
    "make_shifted_regression",
    "load_domain",
    "load_har",
    "find_data_dir",
]


def _rotate(X, degrees, center):
    theta = np.deg2rad(degrees)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return (X - center) @ rot.T + center


def _embed(X2, n_features, rng):
    """Lift 2-D points to ``n_features`` dims with a fixed random rotation + noise."""
    if n_features == 2:
        return X2
    basis, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    noise = 0.1 * rng.standard_normal((len(X2), n_features - 2))
    return np.hstack([X2, noise]) @ basis.T


def make_shifted_moons(
    n_samples=300,
    *,
    rotation=40.0,
    noise=0.1,
    n_features=2,
    random_state=None,
):
    """Two interleaving half-moons; the target domain is rotated.

    The classic toy problem of the DANN paper (Ganin et al., JMLR 2016, Sec. 5.1):
    a classifier fitted on the source moons misclassifies the tips of the
    rotated target moons, and aligning the two feature distributions recovers
    them. With ``rotation=40`` the source-only MLP reaches roughly 70-80 % on
    the target.

    Parameters
    ----------
    n_samples : int, default=300
        Rows per domain.
    rotation : float, default=40.0
        Rotation of the target domain in degrees around the data centre.
    noise : float, default=0.1
        Standard deviation of Gaussian noise added to both domains.
    n_features : int, default=2
        Dimension; above 2 the plane is embedded by a fixed random rotation with
        small noise in the extra dimensions.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_src : ndarray of shape (n_samples, n_features), float32
    y_src : ndarray of shape (n_samples,), int64
    X_tgt : ndarray of shape (n_samples, n_features), float32
    y_tgt : ndarray of shape (n_samples,), int64
        Target labels, for evaluation only.
    """
    rng = check_random_state(random_state)
    domains = []
    for angle in (0.0, rotation):
        y = rng.randint(0, 2, size=n_samples)
        t = rng.uniform(0, np.pi, size=n_samples)
        X = np.where(
            (y == 0)[:, None],
            np.c_[np.cos(t), np.sin(t)],
            np.c_[1 - np.cos(t), 0.5 - np.sin(t)],
        )
        X = X + noise * rng.standard_normal(X.shape)
        domains.append((_rotate(X, angle, np.array([0.5, 0.25])), y))
    basis_seed = rng.randint(2**31 - 1)  # one embedding shared by both domains
    (Xs, ys), (Xt, yt) = [
        (_embed(X, n_features, np.random.RandomState(basis_seed)), y)
        for X, y in domains
    ]
    return (
        Xs.astype(np.float32),
        ys.astype(np.int64),
        Xt.astype(np.float32),
        yt.astype(np.int64),
    )


def make_shifted_regression(
    n_samples=300,
    *,
    n_features=6,
    n_drifting=3,
    drift=2.0,
    noise=0.5,
    random_state=None,
):
    """Make a regression toy with sensor drift: some inputs offset in the target.

    Every feature is a noisy reading ``t + noise * e`` of a latent value ``t``
    (uniform on [-1, 1]), and the target is ``y = t + 0.3 sin(3 t)`` plus a
    little noise. In the target domain the last ``n_drifting`` features are
    offset by ``drift`` (drifted sensors). A source-only model averages every
    reading, so its target predictions are biased; a model whose features
    cannot tell the domains apart relies on the readings that did not drift.

    Parameters
    ----------
    n_samples : int, default=300
        Rows per domain.
    n_features : int, default=6
    n_drifting : int, default=3
        Features offset in the target domain (at most ``n_features - 1``).
    drift : float, default=2.0
        Their offset.
    noise : float, default=0.5
        Standard deviation of each reading's noise.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_src : ndarray of shape (n_samples, n_features), float32
    y_src : ndarray of shape (n_samples,), float64
    X_tgt : ndarray of shape (n_samples, n_features), float32
    y_tgt : ndarray of shape (n_samples,), float64
        Target values, for evaluation only.
    """
    if not 0 <= n_drifting < n_features:
        raise ValueError(
            f"n_drifting must be in [0, n_features - 1] = [0, {n_features - 1}]; "
            f"got {n_drifting}."
        )
    rng = check_random_state(random_state)
    domains = []
    for offset in (0.0, drift):
        t = rng.uniform(-1, 1, size=n_samples)
        X = t[:, None] + noise * rng.standard_normal((n_samples, n_features))
        X[:, n_features - n_drifting :] += offset
        y = t + 0.3 * np.sin(3 * t) + 0.05 * rng.standard_normal(n_samples)
        domains += [X.astype(np.float32), y]
    return tuple(domains)


def make_shifted_blobs(
    n_samples=300,
    *,
    n_classes=3,
    n_features=2,
    shift=2.0,
    rotation=30.0,
    cluster_std=0.6,
    random_state=None,
):
    """Gaussian class blobs; the target is rotated and translated.

    Parameters
    ----------
    n_samples : int, default=300
        Rows per domain.
    n_classes : int, default=3
    n_features : int, default=2
        Dimension of the blobs; the rotation acts on the first two features and
        the translation by ``shift`` on all of them (along a fixed direction).
    shift : float, default=2.0
        Length of the translation applied to the target.
    rotation : float, default=30.0
        Rotation in degrees applied to the target.
    cluster_std : float, default=0.6
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X_src, y_src, X_tgt, y_tgt : ndarrays
        float32 features and int64 labels of each domain; ``y_tgt`` is for
        evaluation only.
    """
    rng = check_random_state(random_state)
    centers = rng.uniform(-4, 4, size=(n_classes, n_features))
    direction = rng.standard_normal(n_features)
    direction /= np.linalg.norm(direction)

    def draw():
        y = np.arange(n_samples) % n_classes
        rng.shuffle(y)
        return centers[y] + cluster_std * rng.standard_normal(
            (n_samples, n_features)
        ), y

    Xs, ys = draw()
    Xt, yt = draw()
    center = centers.mean(axis=0)
    Xt[:, :2] = _rotate(Xt[:, :2], rotation, center[:2])
    Xt = Xt + shift * direction
    return (
        Xs.astype(np.float32),
        ys.astype(np.int64),
        Xt.astype(np.float32),
        yt.astype(np.int64),
    )


# -- real data ---------------------------------------------------------------------

_DOMAINS = {
    "office_caltech": (
        "office_caltech10_surf",
        ("amazon", "caltech", "dslr", "webcam"),
    ),
    "mnist_usps": ("mnist_usps_jda", ("mnist", "usps")),
    "wine": ("wine_quality", ("red", "white")),
    "gas": (
        "gas_sensor_drift",
        tuple(f"batch{k}" for k in (1, 2, 3, 4, 5, 6, 8, 9)),
    ),
    "cwru": ("cwru_12k_de", tuple(f"load{k}" for k in range(4))),
    "har": ("uci_har_adatime", tuple(f"subject{k:02d}" for k in range(1, 31))),
}


def find_data_dir(data_dir=None):
    """Locate the benchmark data folder, or return None when it is absent.

    Looks at ``data_dir``, then ``$SKUDA_DATA_DIR``, then ``shared/data`` beside
    or above the current directory and this package's checkout.
    """
    candidates = [data_dir, os.environ.get("SKUDA_DATA_DIR")]
    for base in (Path.cwd(), Path(__file__).resolve().parent.parent):
        candidates += [base / "shared" / "data", base.parent / "shared" / "data"]
    for c in candidates:
        if c is not None and Path(c, "README.md").is_file():
            return Path(c)
    return None


def load_domain(dataset, domain, *, data_dir=None, preprocess=True):
    """Load one domain of a benchmark from ``shared/data``.

    Parameters
    ----------
    dataset : {"office_caltech", "mnist_usps", "wine", "gas", "cwru", "har"}
    domain : str
        e.g. ``"amazon"``, ``"usps"``, ``"red"``, ``"batch3"``, ``"load2"``,
        ``"subject07"``.
    data_dir : path-like, default=None
        See :func:`find_data_dir`.
    preprocess : bool, default=True
        Apply the benchmark's standard preprocessing: Office-Caltech, L1 row
        normalisation then a per-domain z-score (population std), as in the
        GFK/JDA code; MNIST/USPS, L2 row normalisation (JDA). The other sets are
        returned raw (scale them in your pipeline).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float32
    y : ndarray of shape (n_samples,), int64
    """
    if dataset not in _DOMAINS:
        raise ValueError(
            f"Unknown dataset {dataset!r}; choose from {sorted(_DOMAINS)}."
        )
    folder, domains = _DOMAINS[dataset]
    if domain not in domains:
        raise ValueError(f"Unknown {dataset} domain {domain!r}; choose from {domains}.")
    root = find_data_dir(data_dir)
    if root is None:
        raise FileNotFoundError(
            "Benchmark data not found: pass data_dir or set SKUDA_DATA_DIR to the "
            "folder holding shared/data's README.md."
        )
    with np.load(root / folder / f"{domain}.npz") as archive:
        X = archive["X"].astype(np.float64)
        y = archive["y"].astype(np.int64)
    if preprocess and dataset == "office_caltech":
        X = X / np.maximum(X.sum(axis=1, keepdims=True), 1e-12)
        X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    elif preprocess and dataset == "mnist_usps":
        X = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    return X.astype(np.float32), y


def load_har(subject, *, data_dir=None):
    """One UCI HAR subject as AdaTime splits it, shaped as 9-channel signals.

    Parameters
    ----------
    subject : int or str
        1 ... 30, or ``"subject07"``.
    data_dir : path-like, default=None
        See :func:`find_data_dir`.

    Returns
    -------
    X : ndarray of shape (n_train, 9, 128), float32
        Raw windows (2.56 s at 50 Hz), ``(n, channels, time)``.
    y : ndarray of shape (n_train,), int64
    X_test : ndarray of shape (n_test, 9, 128), float32
        AdaTime's held-out rows of the subject (its target test split).
    y_test : ndarray of shape (n_test,), int64
    """
    name = subject if isinstance(subject, str) else f"subject{int(subject):02d}"
    X, y = load_domain("har", name, data_dir=data_dir)
    root = find_data_dir(data_dir)
    folder = _DOMAINS["har"][0]
    with np.load(root / folder / f"{name}.npz") as archive:
        X_test = archive["X_test"].astype(np.float32)
        y_test = archive["y_test"].astype(np.int64)
    return X.reshape(-1, 9, 128), y, X_test.reshape(-1, 9, 128), y_test
