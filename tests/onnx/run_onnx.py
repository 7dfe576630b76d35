"""The ONNX oracle of nasc's tests (tests/export.rs): ONNX's checker and ONNX Runtime on models
written by `nasc export --format onnx`. Run by the Python of the virtual environment that
.ci/run makes (target/venv, with the versions pinned in tests/onnx/requirements.txt).

    run_onnx.py run MANIFEST.json
        MANIFEST is a JSON list of cases {"model", "input", "shape", "output"}: `input` holds
        float32 values (little-endian, row-major) of shape `shape`, batch first. Each model is
        checked (onnx.checker with full_check, which runs ONNX's shape inference against the
        shapes the model declares), run in ONNX Runtime on the input, and its output written
        to `output` the same way. The first sample is run alone too and must give the first
        row of the batch's output (the batch dimension is dynamic). Prints one JSON line per
        case: the output's shape, the model's opset and metadata.

    run_onnx.py accuracy MODEL IMAGES LABELS
        The test accuracy of MODEL on MNIST-format IDX files (gzipped or not), read here with
        numpy (pixels scaled to [0, 1], as nasc reads them), independently of nasc. Prints
        {"correct", "count", "accuracy"} as JSON.
"""

import gzip
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def session(path):
    options = ort.SessionOptions()
    # One thread: CI has two cores, and the results do not depend on it.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def run(manifest_path):
    with open(manifest_path) as f:
        cases = json.load(f)
    for case in cases:
        model = onnx.load(case["model"])
        onnx.checker.check_model(model, full_check=True)
        sess = session(case["model"])
        x = np.fromfile(case["input"], dtype="<f4").reshape(case["shape"])
        name = sess.get_inputs()[0].name
        (y,) = sess.run(["output"], {name: x})
        y = np.ascontiguousarray(y, dtype="<f4")
        (first,) = sess.run(["output"], {name: x[:1]})
        gap = float(np.max(np.abs(first[0] - y[0])))
        if gap > 1e-5:
            raise SystemExit(f"{case['model']}: sample 0 alone differs from the batch by {gap}")
        y.tofile(case["output"])
        print(
            json.dumps(
                {
                    "model": case["model"],
                    "shape": list(y.shape),
                    "opset": [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")],
                    "batch": sess.get_inputs()[0].shape[0],
                    "metadata": {p.key: p.value for p in model.metadata_props},
                }
            ),
            flush=True,
        )


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def accuracy(model_path, images_path, labels_path):
    images = idx(images_path).astype(np.float32) / 255.0
    labels = idx(labels_path).astype(np.int64)
    x = images.reshape(len(images), 1, images.shape[1], images.shape[2])
    sess = session(model_path)
    name = sess.get_inputs()[0].name
    correct = 0
    for start in range(0, len(x), 500):
        (logits,) = sess.run(["output"], {name: x[start : start + 500]})
        correct += int(np.sum(np.argmax(logits, axis=1) == labels[start : start + 500]))
    print(json.dumps({"correct": correct, "count": len(x), "accuracy": correct / len(x)}))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "accuracy":
        accuracy(*sys.argv[2:])
    else:
        raise SystemExit(__doc__)
