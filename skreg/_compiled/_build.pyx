"""What the compiled engine was built with: OpenMP or not, and OpenMP's thread limit (as
scikit-learn's ``sklearn.utils._openmp_helpers`` tells them), and the codes of its enums."""

from ._common cimport (
    ACTIVATION_IDENTITY, ACTIVATION_LEAKY_RELU, ACTIVATION_LOGISTIC, ACTIVATION_RELU,
    ACTIVATION_TANH, LOSS_LOGISTIC, LOSS_POISSON, LOSS_QUANTILE, LOSS_SOFTMAX,
    LOSS_SQUARED_ERROR, SOLVER_ADAM, SOLVER_GD, SOLVER_MOMENTUM, SOLVER_NESTEROV,
)

cdef extern from *:
    """
    #ifdef _OPENMP
    static const int SKREG_OPENMP = 1;
    #else
    static const int SKREG_OPENMP = 0;
    #endif
    """
    const int SKREG_OPENMP

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int skreg_openmp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int skreg_openmp_max_threads(void) { return 1; }
    #endif
    """
    int skreg_openmp_max_threads()


def openmp_max_threads():
    """How many threads an OpenMP parallel region started from the calling thread may use
    (``omp_get_max_threads``: ``OMP_NUM_THREADS``, or ``threadpoolctl.threadpool_limits`` with
    ``user_api="openmp"``); 1 without OpenMP."""
    return skreg_openmp_max_threads()


def openmp_enabled():
    """True if the compiled engine runs its parallel loops on OpenMP threads, False if it was
    built without OpenMP (they then run on the calling thread)."""
    return bool(SKREG_OPENMP)


def enum_codes():
    """The enums of ``_common.pxd`` by name, as :mod:`skreg._codes` must number them."""
    return {
        "losses": {
            "logistic": LOSS_LOGISTIC, "softmax": LOSS_SOFTMAX,
            "squared_error": LOSS_SQUARED_ERROR, "poisson": LOSS_POISSON,
            "quantile": LOSS_QUANTILE,
        },
        "activations": {
            "relu": ACTIVATION_RELU, "tanh": ACTIVATION_TANH, "logistic": ACTIVATION_LOGISTIC,
            "identity": ACTIVATION_IDENTITY, "leaky_relu": ACTIVATION_LEAKY_RELU,
        },
        "solvers": {
            "gd": SOLVER_GD, "momentum": SOLVER_MOMENTUM, "nesterov": SOLVER_NESTEROV,
            "adam": SOLVER_ADAM,
        },
    }
