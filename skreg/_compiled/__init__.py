"""skreg's compiled engine, built by ``pip install .``: Cython kernels by concern (layers and
activations, losses, updates and penalties, the random stream) and the training loops that use
them (``_training``), driven from Python by :mod:`skreg._compiled_engine`."""
