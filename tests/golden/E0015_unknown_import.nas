// `std.ops` has `conv2d`, not `conv2dd`; `modules/layers.nas` has `mlp`, not `mlp2`.
import std.ops.{conv2dd, relu}
import modules.layers.{mlp2}

network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(relu(x), out: 10)
}
