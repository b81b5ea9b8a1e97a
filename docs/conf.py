"""Sphinx configuration of the skreg documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (the gallery examples run during the
build). Nothing is fetched from the network: there is no intersphinx.
"""

import os
import sys

# Document the checkout this file belongs to, installed or not.
sys.path.insert(0, os.path.abspath(".."))

from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

import skreg  # noqa: E402

project = "skreg"
author = "the skreg developers"
copyright = "the skreg developers"
version = release = skreg.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    # The notebook's story first, then the other remedies, then tuning, then scaling out.
    "within_subsection_order": ExplicitOrder(
        [
            "plot_compare_regularisation.py",
            "plot_keep_prob.py",
            "plot_l1_sparsity.py",
            "plot_early_stopping.py",
            "plot_compare_remedies.py",
            "plot_tune_lambd.py",
            "plot_callbacks.py",
            "plot_quantile_regression.py",
            "plot_mc_dropout.py",
            "plot_dask_search.py",
            "plot_dask_incremental.py",
            "plot_onnx_export.py",
        ]
    ),
    "doc_module": ("skreg",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skreg": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "write_computation_times": False,
}


def escape_trailing_underscore_in_shapes(app, what, name, obj, options, lines):
    """Quote ``(n_features_in_,)`` in docstrings, which reST reads as a link to a target.

    scikit-learn writes it with backquotes; this can go once skreg's docstrings do too.
    """
    lines[:] = [line.replace("(n_features_in_,)", "(`n_features_in_`,)") for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", escape_trailing_underscore_in_shapes)


html_theme = "pydata_sphinx_theme"
html_title = f"skreg {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
