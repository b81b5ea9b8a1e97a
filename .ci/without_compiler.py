"""CI: skreg installed without a C compiler trains on NumPy and says, once, what it misses."""

import warnings

from skreg import RegularizedMLPClassifier
from skreg._engines import CompiledEngineMissingWarning, compiled_engine

assert compiled_engine() is None, "the compiled engine was built although no compiler was allowed"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = RegularizedMLPClassifier(max_iter=50).fit([[0.0], [1.0], [2.0]], [0, 1, 1])
    RegularizedMLPClassifier(max_iter=5).fit([[0.0], [1.0]], [0, 1])
missing = [w for w in caught if issubclass(w.category, CompiledEngineMissingWarning)]
assert len(missing) == 1, [str(w.message) for w in caught]
try:
    RegularizedMLPClassifier(max_iter=5, engine="compiled").fit([[0.0], [1.0]], [0, 1])
except ImportError as error:
    assert "C compiler" in str(error), error
else:
    raise AssertionError('engine="compiled" trained without the compiled engine')
print("without a compiler: installed, trains on NumPy and warns once:", missing[0].message)
