"""The PyTorch oracle of nasc's tests (tests/export.rs): PyTorch runs the module and weights
written by `nasc export --format pytorch`. Run by the Python of the virtual environment that
.ci/run makes (target/venv, with tests/onnx/requirements.txt and
tests/pytorch/requirements.txt).

    run_pytorch.py MANIFEST.json
        MANIFEST is a JSON list of cases {"module", "class", "weights", "input", "shape",
        "output"}: `module` is a generated model.py, `weights` its state dict (safetensors),
        loaded with strict=True (every tensor of the module, nothing else); `input` holds
        float32 values (little-endian, row-major) of shape `shape`, batch first. The module
        runs in eval mode under no_grad and its output is written to `output` the same way.
        Then it must train: one step in train mode on the same input, whose backward pass
        gives every parameter a gradient. Prints one JSON line per case.
"""

import importlib.util
import json
import sys

import numpy as np
import torch
from safetensors.torch import load_file


def load(path, name):
    spec = importlib.util.spec_from_file_location(f"nasc_model_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name), module


def main(manifest_path):
    torch.set_num_threads(1)
    with open(manifest_path) as f:
        cases = json.load(f)
    for case in cases:
        cls, module = load(case["module"], case["class"])
        net = cls()
        net.load_state_dict(load_file(case["weights"]), strict=True)
        net.eval()
        x = torch.from_numpy(np.fromfile(case["input"], dtype="<f4").reshape(case["shape"]))
        with torch.no_grad():
            y = net(x)
        np.ascontiguousarray(y.numpy(), dtype="<f4").tofile(case["output"])
        # Retrainable: a training step reaches every parameter.
        net.train()
        net(x).square().mean().backward()
        missing = [n for n, p in net.named_parameters() if p.grad is None]
        if missing:
            raise SystemExit(f"{case['module']}: no gradient for {missing}")
        print(
            json.dumps(
                {
                    "module": case["module"],
                    "shape": list(y.shape),
                    "parameters": sum(p.numel() for p in net.parameters()),
                    "architecture": module.ARCHITECTURE,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
