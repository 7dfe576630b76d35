// Neither module exists: `modules/missing.nas` is not there, and the standard library has
// `std.ops`, not `std.opps`.
import modules.missing
import std.opps

network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(x, out: 10)
}
