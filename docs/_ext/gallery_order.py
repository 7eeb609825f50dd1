"""The order of the example gallery: from first steps to specialised topics."""

from pathlib import Path

from sphinx_gallery.sorting import FileNameSortKey

ORDER = (
    "plot_embedding.py",
    "plot_learning_curves.py",
    "plot_lambda_grid_search.py",
    "plot_shot_source_free.py",
    "plot_skorch_source_free.py",
    "plot_signals.py",
    "plot_compare_methods.py",
)


def example_rank(path):
    """Return the sort key of an example file (name or path).

    Its place in ``ORDER`` first, then any other example by file name.
    """
    name = Path(str(path)).name
    rank = ORDER.index(name) if name in ORDER else len(ORDER)
    return f"{rank:03d}_{name}"


class ExampleOrder(FileNameSortKey):
    """``within_subsection_order`` key for the gallery (see ``example_rank``)."""

    def __call__(self, filename):
        """Return the sort key of ``filename``."""
        return example_rank(filename)
