"""What a newcomer reads first: the README, the install page and the package metadata agree with
each other and with the code."""

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def pyproject():
    if sys.version_info < (3, 11):
        pytest.skip("tomllib needs Python 3.11")
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def requirement_names(requirements):
    return {re.match(r"[A-Za-z0-9_.-]+(\[[a-z,]+\])?", r).group(0).lower() for r in requirements}


def test_the_test_extra_brings_every_optional_dependency_of_the_tests():
    """The README's test command skips nothing for want of an extra: the test extra holds those
    of dask, skops, onnx and progress."""
    extras = pyproject()["project"]["optional-dependencies"]
    test = requirement_names(extras["test"])
    for extra in ("dask", "skops", "onnx", "progress"):
        assert requirement_names(extras[extra]) <= test, extra
    assert "numba" not in test


def test_the_readme_and_the_install_page_build_the_docs_alike():
    """The ONNX gallery example needs the onnx extra: both pages say so."""
    install = (ROOT / "docs" / "install.rst").read_text(encoding="utf-8")
    command = 'pip install -e ".[docs,dask,onnx]"'
    assert command in README and command in install
    assert re.findall(r'pip install (?:-e )?"\.\[docs[^"]*\]"', README + install) == [command] * 2


def test_the_package_is_described_as_classifier_and_regressor():
    assert "regressor" in pyproject()["project"]["description"]
    headline = (ROOT / "docs" / "index.rst").read_text(encoding="utf-8").split("\n\n")[1]
    assert "classifier and regressor" in headline and "MLPRegressor" in headline


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_every_readme_example_prints_what_its_comments_show():
    """Each print of a README example is followed by a comment holding what it prints (rounded
    where rounding differs by machine), and running the example prints exactly that."""
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        lines = block.splitlines()
        prints = [i for i, line in enumerate(lines) if line.startswith("print(")]
        assert prints
        shown = [lines[i + 1].removeprefix("# ") for i in prints]
        assert all(re.match(r"# \S", lines[i + 1]) for i in prints), block
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(block, "README.md", "exec"), {})
        assert output.getvalue().splitlines() == shown
