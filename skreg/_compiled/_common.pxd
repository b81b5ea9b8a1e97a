# Typed records and codes shared by the compiled engine's kernels.
#
# Layout (as skreg._network's): the parameters are one flat buffer, layer after layer, its
# coefficients (n_in, n_out) row-major then its intercepts. A batch's inputs, activations and
# deltas are units-major: layer i's (n_units, n_rows) block starts at unit_offsets[i] * n_rows.
# Floating buffers are typed by the kernels (float or double, the parameters' dtype); records
# hold them as void pointers, and their scalars in double, which a kernel rounds to the
# parameters' dtype as NumPy's in-place operations round a Python float.

from libc.stdint cimport int64_t, uint32_t, uint64_t

ctypedef Py_ssize_t intp_t

# The codes of skreg._codes, which the Python driver passes (tests/test_engines.py checks them).
cdef enum LossCode:
    LOSS_LOGISTIC = 0
    LOSS_SOFTMAX = 1
    LOSS_SQUARED_ERROR = 2
    LOSS_POISSON = 3
    LOSS_QUANTILE = 4

cdef enum ActivationCode:
    ACTIVATION_RELU = 0
    ACTIVATION_TANH = 1
    ACTIVATION_LOGISTIC = 2
    ACTIVATION_IDENTITY = 3
    ACTIVATION_LEAKY_RELU = 4

cdef enum SolverCode:
    SOLVER_GD = 0
    SOLVER_MOMENTUM = 1
    SOLVER_NESTEROV = 2
    SOLVER_ADAM = 3


ctypedef struct Network:
    intp_t n_layers
    const intp_t* units              # n_layers + 1 entries, the input layer's first
    const intp_t* coef_offsets       # where layer i's coefficients start in the parameters
    const intp_t* intercept_offsets  # ... and its intercepts
    const intp_t* unit_offsets       # units of the layers before layer i (input excluded)
    intp_t n_units                   # units of all layers but the input
    ActivationCode activation
    double leaky_slope


ctypedef struct Loss:
    LossCode code
    double quantile


ctypedef struct Regularization:
    # What regularises training besides dropout (which has its own record): the weight
    # penalties, input noise and max-norm.
    double l2                        # the cost's l2 / (2 m) sum W**2
    double l1                        # ... and l1 / m sum |W|, by a proximal step
    double m                         # the training set's total weight
    double input_noise               # the standard deviation of the inputs' noise (0: none)
    double max_norm                  # each unit's incoming weights' norm at most (0: none)


ctypedef struct Dropout:
    # Per hidden layer: where its words start, in units (-1: no dropout), its keep threshold and
    # its scale 1 / keep_prob.
    const int64_t* word_offsets
    const uint32_t* thresholds
    const double* scales
    intp_t words_per_row
    bint unmasked                    # keep each dropped layer's outputs before its mask


ctypedef struct Batch:
    # The rows of one step (or of a shard of a step) and their buffers.
    intp_t n_rows
    intp_t first_row                 # where they start among the step's rows...
    intp_t step_rows                 # ... for which the step's dropout words were drawn
    const uint32_t* words            # the step's dropout words (see skreg._random)
    void* XT                         # inputs (n_features, n_rows)
    void* YT                         # targets (n_outputs, n_rows)
    void* activations                # n_units * n_rows
    void* deltas                     # n_units * n_rows
    void* unmasked                   # n_units * n_rows, or NULL (see Dropout.unmasked)
    void* weights                    # the rows' sample weights summing to 1 over the step, or NULL


ctypedef struct Optimizer:
    SolverCode solver
    double step_size                 # the scheduled step size
    double last_step_size            # the last update's (Adam's bias-corrected): the L1 step's
    double momentum
    double beta_1
    double beta_2
    double epsilon
    int64_t t                        # Adam's steps
    bint invscaling
    double learning_rate
    double power_t
    double samples_seen
    void* first                      # momentum's velocity, Adam's first moment (or NULL)
    void* second                     # Adam's second moment (or NULL)


ctypedef struct RandomState:
    uint64_t a
    uint64_t b
    uint64_t c
    uint64_t counter


cdef extern from "_lanes.h":
    enum: DROPOUT_LANES "SKREG_DROPOUT_LANES"  # skreg._random.DROPOUT_LANES


ctypedef struct DropoutLanes:       # the lanes' SFC64 states, lane by lane in each array
    uint64_t a[DROPOUT_LANES]
    uint64_t b[DROPOUT_LANES]
    uint64_t c[DROPOUT_LANES]
    uint64_t counter[DROPOUT_LANES]


ctypedef struct Problem:
    Network network
    Loss loss
    Regularization regularization
    Dropout dropout
    Optimizer optimizer
    RandomState random
    DropoutLanes lanes
    intp_t n_samples
    intp_t n_features
    intp_t n_outputs
    intp_t n_params
    intp_t batch_size
    void* flat
    void* grads
    void* X                          # the data, row-major (n_samples, n_features)...
    void* Y
    void* XT                         # ... or units-major, or a batch's gathered rows
    void* YT
    void* noisy                      # the step's inputs with their noise
    void* sample_weight              # each sample's weight (NULL: all 1)...
    void* weights                    # ... normalised over the full batch, or a batch's
    void* activations
    void* deltas
    void* unmasked
    uint32_t* words
    double* normals


ctypedef struct PenaltySums:
    # The coefficients' sums that the penalties' cost needs, over some of the parameters.
    double squares                   # sum W**2 (L2)
    double absolute                  # sum |W| (L1)


ctypedef struct StepRows:
    # The rows of a step: row s is inputs[input_rows[s]] (row-major, n_features columns), with
    # the targets Y[target_rows[s]].
    const void* inputs
    const intp_t* input_rows
    const intp_t* target_rows
    intp_t n_rows
    void* weights                    # the rows' sample weights summing to 1 over the step, or NULL


ctypedef struct Shards:
    intp_t n_shards                  # a full batch's; at most, a mini-batch's
    intp_t rows_per_shard            # a mini-batch's shards' rows, about
    intp_t max_rows                  # the rows of the largest shard
    const intp_t* bounds             # a full batch's shards' first rows, and its end
    void* XT                         # thread t's buffers start at t times their size
    void* YT
    void* activations
    void* deltas
    void* unmasked
    void* grads                      # (n_shards, n_params)
    double* costs
    intp_t n_slices
    const intp_t* slices             # the parameters' slices' bounds
    PenaltySums* partials            # the penalty's sums over each slice
    const intp_t* identity           # 0, 1, ...: the rows of a batch's noisy inputs
