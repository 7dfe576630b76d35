#!/usr/bin/env python3
"""The training step of benches/train_step.rs in PyTorch, for comparison.

    python3 benches/train_step_torch.py [--steps 30] [--threads 2]

Same network (two 3x3 convolutions with padding 1 and no bias, 16 and 32 channels, ReLU,
global average pooling, linear to 10 classes with bias), same batch (64 synthetic 1x28x28
images, 10 classes), same optimizer (SGD, lr 0.01, momentum 0.9, no dampening, no weight
decay), same measurements: medians over `--steps` steps after 5 warm-up steps, of the whole
step and of its phases (forward includes the loss and reading it back with `.item()`;
backward is `loss.backward()`; optimizer is `step()` and `zero_grad()`), then forward only,
forward+backward, and inference; with `--ops`, the convolutions alone. The last line (`RESULT torch ...`) is read by
benches/train_step.sh. Needs only torch (not numpy).
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64
WARMUP = 5
LR = 0.01


class Reference(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.linear = nn.Linear(32, 10)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        return self.linear(h.mean(dim=(2, 3)))


def stats(ms):
    return statistics.median(ms), min(ms), max(ms)


def show(name, s):
    print(f"  {name:<22} median {s[0]:>8.2f} ms   min {s[1]:>8.2f}   max {s[2]:>8.2f}")


def timed(steps, f):
    for _ in range(WARMUP):
        f()
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        f()
        out.append((time.perf_counter() - t) * 1e3)
    return stats(out)


def ops(steps):
    """The convolutions alone, as benches/train_step.rs times them with NASC_BENCH_OPS=1."""
    print(f"the convolutions alone (3x3, padding 1, no bias, batch {BATCH}):")
    for cin, cout in [(1, 16), (16, 32)]:
        x = torch.randn(BATCH, cin, 28, 28)
        w = torch.randn(cout, cin, 3, 3)
        g = torch.randn(BATCH, cout, 28, 28)
        with torch.no_grad():
            show(f"conv {cin}->{cout} forward", timed(steps, lambda: F.conv2d(x, w, padding=1)))
        xa = x.clone().requires_grad_()
        wa = w.clone().requires_grad_()

        def fwd_bwd():
            F.conv2d(xa, wa, padding=1).sum().backward()
            xa.grad = None
            wa.grad = None

        show(f"conv {cin}->{cout} fwd+bwd", timed(steps, fwd_bwd))

        def grad(mask):
            return lambda: torch.ops.aten.convolution_backward(g, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, mask)

        show("  weight gradient", timed(steps, grad([False, True, False])))
        show("  input gradient", timed(steps, grad([True, False, False])))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ops", action="store_true", help="also time the convolutions alone")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    net = Reference()
    optim = torch.optim.SGD(net.parameters(), lr=LR, momentum=0.9, dampening=0.0, weight_decay=0.0)
    x = torch.randn(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    params = sum(p.numel() for p in net.parameters())
    print(
        f"PyTorch {torch.__version__} training step: reference CNN, batch {BATCH}, "
        f"{torch.get_num_threads()} threads, {args.steps} steps after {WARMUP} warm-up, {params} parameters"
    )

    whole, fwd, bwd, opt = [], [], [], []
    for i in range(WARMUP + args.steps):
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x), y)
        value = loss.item()
        assert value == value, "the loss diverged"
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optim.step()
        optim.zero_grad()
        t3 = time.perf_counter()
        if i >= WARMUP:
            whole.append((t3 - t0) * 1e3)
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            opt.append((t3 - t2) * 1e3)
    step, forward, backward, optimizer = stats(whole), stats(fwd), stats(bwd), stats(opt)
    show("step", step)
    show("  forward", forward)
    show("  backward", backward)
    show("  optimizer", optimizer)

    show("forward only", timed(args.steps, lambda: F.cross_entropy(net(x), y).item()))

    def forward_backward():
        F.cross_entropy(net(x), y).backward()
        optim.zero_grad()

    show("forward+backward", timed(args.steps, forward_backward))
    net.eval()
    with torch.no_grad():
        show("inference forward", timed(args.steps, lambda: net(x)))

    if args.ops:
        ops(args.steps)

    print(
        f"RESULT torch step_ms={step[0]:.2f} step_min_ms={step[1]:.2f} step_max_ms={step[2]:.2f} "
        f"forward_ms={forward[0]:.2f} backward_ms={backward[0]:.2f} optimizer_ms={optimizer[0]:.2f}"
    )


if __name__ == "__main__":
    main()
