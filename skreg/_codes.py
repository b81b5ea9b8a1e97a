"""The codes of the losses, hidden activations and solvers: the one table that the NumPy engine's
names and the compiled engine's enums (``skreg/_compiled/_common.pxd``) both follow."""

#: Output losses, by code.
LOSSES = ("logistic", "softmax", "squared_error", "poisson", "quantile")
#: Hidden layers' activations, by code.
ACTIVATIONS = ("relu", "tanh", "logistic", "identity", "leaky_relu")
#: Optimizers' update rules, by code ("nesterov": momentum with ``nesterovs_momentum=True``).
SOLVERS = ("gd", "momentum", "nesterov", "adam")

LOSS_CODES = {name: code for code, name in enumerate(LOSSES)}
ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATIONS)}
SOLVER_CODES = {name: code for code, name in enumerate(SOLVERS)}
