"""skreg's compiled engine, built by ``pip install .``: Cython kernels by concern (layers and
activations, losses, updates and penalties, the random stream, a batch's or shard's step) and the
training loops that use them (``_training``), driven from Python by
:mod:`skreg._compiled_engine`; ``_build`` says what the engine was built with."""
