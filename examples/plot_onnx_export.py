"""
=================================================
Exporting a model to ONNX
=================================================

`ONNX <https://onnx.ai>`_ is a portable format for trained models: a service written in C++, C#,
Java or JavaScript runs it with `onnxruntime <https://onnxruntime.ai>`_, without Python or
scikit-learn. ``skreg.onnx`` registers skreg's estimators with
`skl2onnx <https://onnx.ai/sklearn-onnx/>`_, so a whole :class:`~sklearn.pipeline.Pipeline`,
scaling included, converts in one call. Install the extra with ``pip install "skreg[onnx]"``.
"""

# %%
# Train a pipeline
# ----------------
# Dropout regularises training only; the exported graph is the deterministic network that
# ``predict`` evaluates.
import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as rt
from skl2onnx import to_onnx
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skreg.onnx  # noqa: F401  (registers the converters with skl2onnx)
from skreg import RegularizedMLPClassifier
from skreg.datasets import make_football

X_train, X_test, y_train, y_test = make_football()
labels = np.array(["France", "other team"])
pipeline = make_pipeline(
    StandardScaler(), RegularizedMLPClassifier(keep_prob=0.86, max_iter=3000, random_state=3)
).fit(X_train, labels[y_train])

# %%
# Convert and run it with onnxruntime
# -----------------------------------
# ``X[:1]`` tells skl2onnx the input's type and width: float64 here, so the graph computes in
# float64. ``zipmap=False`` returns the probabilities as an array rather than a list of
# ``{label: probability}`` dictionaries.
onx = to_onnx(pipeline, X_test[:1], options={"zipmap": False})
session = rt.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
onnx_labels, onnx_proba = session.run(None, {session.get_inputs()[0].name: X_test})

print("labels equal:", np.array_equal(onnx_labels, pipeline.predict(X_test)))
print("largest probability difference:", np.abs(onnx_proba - pipeline.predict_proba(X_test)).max())

# %%
# The runtime draws the same decision boundary
# --------------------------------------------
# Probabilities of "other team" over the field, from onnxruntime.
grid = np.stack(np.meshgrid(np.linspace(-0.8, 0.6, 200), np.linspace(-0.8, 0.8, 200)), -1)
_, grid_proba = session.run(None, {session.get_inputs()[0].name: grid.reshape(-1, 2)})
fig, ax = plt.subplots(figsize=(6, 5))
contour = ax.contourf(grid[..., 0], grid[..., 1], grid_proba[:, 1].reshape(200, 200), levels=20)
ax.scatter(*X_test.T, c=y_test, cmap="coolwarm", edgecolors="k", s=20)
fig.colorbar(contour, label='P("other team") from onnxruntime')
ax.set_title("The exported pipeline, run by onnxruntime")
plt.show()
