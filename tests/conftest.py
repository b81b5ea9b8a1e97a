import os
from importlib.util import find_spec

import pytest

from skreg.datasets import load_football


@pytest.fixture(scope="session")
def football():
    """The course's football data, from ``SKREG_REFERENCE_DATA``; skips when it is not set."""
    path = os.environ.get("SKREG_REFERENCE_DATA")
    if not path:
        pytest.skip("SKREG_REFERENCE_DATA is not set")
    return load_football(path)


@pytest.fixture(
    params=[
        "numpy",
        pytest.param(
            "numba",
            marks=pytest.mark.skipif(find_spec("numba") is None, reason="numba is not installed"),
        ),
    ]
)
def engine(request):
    """Each training engine of RegularizedMLPClassifier; numba's only when numba is installed."""
    return request.param
