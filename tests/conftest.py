import os

import pytest

from skreg.datasets import load_football


@pytest.fixture(scope="session")
def football():
    """The course's football data, from ``SKREG_REFERENCE_DATA``; skips when it is not set."""
    path = os.environ.get("SKREG_REFERENCE_DATA")
    if not path:
        pytest.skip("SKREG_REFERENCE_DATA is not set")
    return load_football(path)
