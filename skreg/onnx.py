"""ONNX export: converters for skreg's estimators, registered with skl2onnx.

Importing this module registers them (:func:`register_converters`), after which
:func:`skl2onnx.to_onnx` converts a fitted estimator, or a :class:`~sklearn.pipeline.Pipeline`
ending in one, like any scikit-learn model::

    import skreg.onnx  # registers the converters
    from skl2onnx import to_onnx

    onx = to_onnx(pipeline, X[:1].astype(np.float64), options={"zipmap": False})

The exported graph is the deterministic network that ``predict`` evaluates: dropout, max-norm and
input noise act during training only. Labels are computed from the logits as ``predict`` computes
them (the sign of the logit for binary and multilabel targets, the largest logit otherwise), and
probabilities as ``predict_proba`` does. With float64 inputs the graph computes in float64; with
float32 inputs, in float32. Needs the optional dependencies skl2onnx and onnxruntime
(``pip install "skreg[onnx]"``).
"""

import numpy as np

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
        guess_proto_type,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers
    from skl2onnx.common.utils_classifier import get_label_classes
    from skl2onnx.proto import onnx_proto
except ImportError as error:  # pragma: no cover - exercised without the extra
    raise ImportError(
        'ONNX export needs skl2onnx (and onnxruntime to run the graphs): pip install "skreg[onnx]".'
    ) from error

from ._base import LEAKY_RELU_SLOPE
from ._classifier import RegularizedMLPClassifier
from ._regressor import RegularizedMLPRegressor

__all__ = ["register_converters"]

#: ONNX operators of the hidden activations (leaky ReLU is built from two: onnxruntime has no
#: float64 LeakyRelu).
HIDDEN_ACTIVATIONS = {"relu": "Relu", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}


def register_converters():
    """Register the converters of skreg's estimators with skl2onnx (done on import)."""
    update_registered_converter(
        RegularizedMLPClassifier,
        "SkregRegularizedMLPClassifier",
        _classifier_output_shapes,
        _convert_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False]},
    )
    update_registered_converter(
        RegularizedMLPRegressor,
        "SkregRegularizedMLPRegressor",
        _regressor_output_shapes,
        _convert_regressor,
    )


# -- shapes --------------------------------------------------------------------------------------


def _float_type(operator):
    """The tensor type the graph computes in: float64 for float64 inputs, else float32."""
    is_double = isinstance(operator.inputs[0].type, DoubleTensorType)
    return DoubleTensorType if is_double else FloatTensorType


def _classifier_output_shapes(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=2)
    model = operator.raw_operator
    classes = get_label_classes(operator.scope_inst, model)  # their indices with "nocl"
    n_rows = operator.inputs[0].get_first_dimension()
    multilabel = _is_multilabel(model)
    label_type = StringTensorType if classes.dtype.kind in "OUS" else Int64TensorType
    label_shape = [n_rows, len(classes)] if multilabel else [n_rows]
    operator.outputs[0].type = label_type(shape=label_shape)
    operator.outputs[1].type = _float_type(operator)(shape=[n_rows, len(classes)])


def _regressor_output_shapes(operator):
    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    model = operator.raw_operator
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _float_type(operator)(shape=[n_rows, model.n_outputs_])


def _is_multilabel(model):
    return model.out_activation_ == "logistic" and model.n_outputs_ > 1


# -- graphs --------------------------------------------------------------------------------------


def _logits(scope, operator, container, model, proto_dtype):
    """Nodes of the forward pass up to the output layer's logits; returns their name."""
    dtype = np.float64 if proto_dtype == onnx_proto.TensorProto.DOUBLE else np.float32
    activations = scope.get_unique_variable_name("inputs")
    container.add_node("Cast", operator.inputs[0].full_name, activations, to=proto_dtype)
    last = len(model.coefs_) - 1
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        coefs = scope.get_unique_variable_name("coefs")
        intercepts = scope.get_unique_variable_name("intercepts")
        container.add_initializer(coefs, proto_dtype, W.shape, W.astype(dtype).ravel())
        container.add_initializer(intercepts, proto_dtype, [1, b.size], b.astype(dtype))
        product = scope.get_unique_variable_name("product")
        container.add_node("MatMul", [activations, coefs], product)
        outputs = scope.get_unique_variable_name("layer_outputs")
        container.add_node("Add", [product, intercepts], outputs)
        if i < last:
            activations = _hidden_activation(
                scope, container, model.activation, outputs, proto_dtype
            )
        else:
            activations = outputs
    return activations


def _hidden_activation(scope, container, activation, inputs, proto_dtype):
    """Nodes of a hidden layer's activation; returns the name of its output."""
    if activation == "leaky_relu":  # max(z, slope * z), as the slope is below 1
        slope = scope.get_unique_variable_name("slope")
        container.add_initializer(slope, proto_dtype, [], [LEAKY_RELU_SLOPE])
        scaled = _node(scope, container, "Mul", [inputs, slope])
        return _node(scope, container, "Max", [inputs, scaled])
    return _node(scope, container, HIDDEN_ACTIVATIONS[activation], inputs)


def _convert_classifier(scope, operator, container):
    model = operator.raw_operator
    classes = get_label_classes(scope, model)  # their indices with "nocl"
    proto_dtype = guess_proto_type(_float_type(operator)())
    logits = _logits(scope, operator, container, model, proto_dtype)
    labels, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    if model.out_activation_ == "softmax":
        container.add_node("Softmax", logits, probabilities, axis=1)
        indices = _node(scope, container, "ArgMax", logits, axis=1, keepdims=0)
        _class_labels(scope, container, classes, indices, labels)
        return
    zero = _zero(scope, container, proto_dtype)
    if _is_multilabel(model):
        container.add_node("Sigmoid", logits, probabilities)
        positive = _node(scope, container, "Greater", [logits, zero])
        container.add_node("Cast", positive, labels, to=onnx_proto.TensorProto.INT64)
        return
    # Binary: one logit z, probabilities softmax([0, z]) = [sigmoid(-z), sigmoid(z)], as
    # predict_proba computes them: 1 - sigmoid(z), or onnxruntime's Sigmoid of a large negative
    # logit, would keep only a few digits of the small probability of a confident prediction.
    zeros = _node(scope, container, "Sub", [logits, logits])
    pair = _node(scope, container, "Concat", [zeros, logits], axis=1)
    container.add_node("Softmax", pair, probabilities, axis=1)
    positive = _node(scope, container, "Greater", [logits, zero])
    as_int = _node(scope, container, "Cast", positive, to=onnx_proto.TensorProto.INT64)
    indices = _node(scope, container, "Reshape", [as_int, _shape(scope, container, [-1])])
    _class_labels(scope, container, classes, indices, labels)


def _convert_regressor(scope, operator, container):
    """Predictions ``(n_samples, n_outputs)`` as skl2onnx's regressors give them (one column
    for one output, where ``predict`` returns 1-D arrays): the logits, or for
    ``loss="poisson"`` their exponential."""
    model = operator.raw_operator
    proto_dtype = guess_proto_type(_float_type(operator)())
    logits = _logits(scope, operator, container, model, proto_dtype)
    output = operator.outputs[0].full_name
    if model.out_activation_ == "exp":
        container.add_node("Exp", logits, output)
    else:
        container.add_node("Identity", logits, output)


def _class_labels(scope, container, classes, indices, labels):
    """``labels = classes[indices]``: strings, or numbers as int64."""
    if classes.dtype.kind in "OUS":
        values = np.array([str(c).encode("utf-8") for c in classes])
        proto = onnx_proto.TensorProto.STRING
    else:  # integers, booleans or integral floats (a classifier refuses continuous labels)
        values, proto = classes.astype(np.int64), onnx_proto.TensorProto.INT64
        if not np.array_equal(values, classes):
            raise ValueError(
                f"The class labels {classes.tolist()} do not fit the int64 labels of an ONNX "
                'graph; export with options={"nocl": True} for their indices instead.'
            )
    table = scope.get_unique_variable_name("classes")
    container.add_initializer(table, proto, values.shape, values.tolist())
    container.add_node("Gather", [table, indices], labels, axis=0)


def _node(scope, container, op_type, inputs, **attributes):
    """A node with one new output; returns the output's name."""
    output = scope.get_unique_variable_name(op_type.lower())
    container.add_node(op_type, inputs, output, **attributes)
    return output


def _zero(scope, container, proto_dtype):
    zero = scope.get_unique_variable_name("zero")
    container.add_initializer(zero, proto_dtype, [], [0.0])
    return zero


def _shape(scope, container, shape):
    name = scope.get_unique_variable_name("shape")
    container.add_initializer(name, onnx_proto.TensorProto.INT64, [len(shape)], shape)
    return name


register_converters()
