"""Build of skreg's compiled engine: Cython extensions in ``skreg/_compiled``.

The extensions are built with OpenMP where the compiler supports it (serially otherwise, as
scikit-learn does) and are optional: without a working C compiler, ``pip install .`` still
installs skreg, which then trains on its NumPy engine and says so (``skreg._engines``). Their
BLAS is the one SciPy ships, through ``scipy.linalg.cython_blas``: no BLAS of their own.

On x86-64, the same sources are also built for CPUs with AVX2, as ``skreg/_compiled_avx2`` (a
copy of the sources made here, not kept in the repository), which ``skreg._compiled_engine``
loads where the CPU has AVX2: wider vectors for the element-wise loops, the same bits (no
contraction into fused multiply-adds, sums in the order the sources write them).
"""

import os
import platform
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ["_random", "_layers", "_losses", "_updates", "_steps", "_training", "_build"]

OPENMP_TEST = textwrap.dedent(
    """
    #include <omp.h>
    int main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }
    """
)


def openmp_flags(compiler):
    """``(compile flags, link flags)`` that build OpenMP code with ``compiler``, or empty lists
    when it does not support OpenMP."""
    if sys.platform == "win32":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [(["-Xpreprocessor", "-fopenmp"], ["-lomp"]), (["-fopenmp"], ["-fopenmp"])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory, "openmp_test.c")
        source.write_text(OPENMP_TEST)
        for compile_flags, link_flags in candidates:
            try:
                objects = compiler.compile(
                    [str(source)], output_dir=directory, extra_postargs=compile_flags
                )
                compiler.link_executable(
                    objects, "openmp_test", output_dir=directory, extra_postargs=link_flags
                )
            except Exception:
                continue
            return compile_flags, link_flags
    return [], []


class BuildCompiledEngine(build_ext):
    """``build_ext`` that adds OpenMP's flags where the compiler has OpenMP, and compiles the
    extensions side by side on every CPU unless told how many (``-j``/``--parallel``)."""

    def finalize_options(self):
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def build_extensions(self):
        try:
            compile_flags, link_flags = openmp_flags(self.compiler)
        except Exception:  # no working compiler: the optional extensions report it themselves
            compile_flags, link_flags = [], []
        if not compile_flags:
            print("skreg: building the compiled engine without OpenMP (serial)")
        for extension in self.extensions:
            extension.extra_compile_args += compile_flags
            extension.extra_link_args += link_flags
        super().build_extensions()


AVX2_PACKAGE = Path("skreg", "_compiled_avx2")


def avx2_sources():
    """The compiled engine's sources copied into ``skreg/_compiled_avx2`` for the AVX2 build;
    False where there is none to make (other processors, MSVC)."""
    if platform.machine().lower() not in {"x86_64", "amd64"} or sys.platform == "win32":
        return False
    # The copies are refreshed, not the directory removed: a later "pip install ." must not take
    # the modules of an editable install's build in place.
    AVX2_PACKAGE.mkdir(exist_ok=True)
    for source in Path("skreg", "_compiled").iterdir():
        if source.suffix in {".pyx", ".pxd", ".h"} or source.name == "__init__.py":
            shutil.copy2(source, AVX2_PACKAGE / source.name)
    return True


def extensions():
    from Cython.Build import cythonize

    # No trapping math and no errno from sqrt: lets GCC vectorise the activations' and the
    # optimizers' loops (skreg never traps on floating point exceptions nor reads errno; the
    # values are the same); no contraction into fused multiply-adds, so that every platform
    # rounds the same operations alike.
    optimise = (
        ["/O2"]
        if sys.platform == "win32"
        else ["-O3", "-fno-trapping-math", "-fno-math-errno", "-ffp-contract=off"]
    )
    builds = [("_compiled", optimise)]
    if avx2_sources():
        builds.append(("_compiled_avx2", [*optimise, "-mavx2"]))
    modules = [
        Extension(
            f"skreg.{package}.{name}",
            [f"skreg/{package}/{name}.pyx"],
            extra_compile_args=list(flags),
            depends=[f"skreg/{package}/_lanes.h"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            optional=True,  # no compiler: skreg installs and trains on NumPy
        )
        for package, flags in builds
        for name in MODULES
    ]
    extensions = cythonize(
        modules,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
        },
        quiet=True,
        annotate=bool(os.environ.get("SKREG_CYTHON_ANNOTATE")),
    )
    for extension in extensions:  # (cythonize's copies lose the flag)
        extension.optional = True
    return extensions


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildCompiledEngine})
