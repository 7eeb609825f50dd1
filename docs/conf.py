"""Sphinx configuration for skuda's documentation.

Build (from the repository root, warnings as errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The build runs every script in ``examples/`` (sphinx-gallery) on the CPU, one
torch thread each; they need no data download and no GPU.
"""

import os
import socket
import sys
from pathlib import Path

# Examples draw their figures off-screen; set before anything imports pyplot.
os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

import skuda  # noqa: E402

# Small helpers for the build (the gallery's example order).
sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

# The gallery runs its examples in this process: one thread keeps the timings
# honest on shared CI machines and matches what the examples were sized for.
torch.set_num_threads(1)

project = "skuda"
author = "the skuda developers"
copyright = "2026, the skuda developers"
release = skuda.__version__
version = skuda.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
templates_path = ["_templates"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "_ext", "_templates", "generated/*.examples"]


def _online(host="docs.python.org", port=443, timeout=3.0):
    """Whether the intersphinx inventories can be fetched from here."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError:
        return False
    return True


# Links to Python, scikit-learn and PyTorch need their inventories from the
# internet. Offline, an unreachable inventory is a build warning (an error
# with -W), so the mapping is dropped: the references then render as plain
# code. SKUDA_DOCS_INTERSPHINX=0 or 1 forces either choice.
_intersphinx = os.environ.get("SKUDA_DOCS_INTERSPHINX")
if _intersphinx is None:
    _use_intersphinx = _online()
else:
    _use_intersphinx = _intersphinx not in ("0", "false", "no", "")
intersphinx_mapping = (
    {
        "python": ("https://docs.python.org/3", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }
    if _use_intersphinx
    else {}
)
if not _use_intersphinx:
    print("skuda docs: intersphinx off (offline or SKUDA_DOCS_INTERSPHINX=0)")

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every plot_*.py at build time: the pictures are always current.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    # A teaching order (see _ext/gallery_order.py), not the alphabet.
    "within_subsection_order": "gallery_order.ExampleOrder",
    "minigallery_sort_order": "gallery_order.example_rank",
    # An example that raises fails the build.
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    # "Examples using X" sections on the API pages.
    "doc_module": ("skuda",),
    "backreferences_dir": "generated",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_memory": False,
}

html_theme = "alabaster"
html_theme_options = {
    "description": "Deep unsupervised domain adaptation for scikit-learn",
    "page_width": "1200px",
    "sidebar_width": "230px",
}
