// `modules/cycle_a.nas` imports `modules/cycle_b.nas`, which imports `cycle_a` back.
import modules.cycle_a

network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(x, out: 10)
}
