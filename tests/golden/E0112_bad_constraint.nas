// A constraint compares `params` or `flops` with a constant; `params <= flops` does not.
network Net(x: Tensor[n, 784]) -> Tensor[n, 10]
    where params <= flops
{
    return linear(x, out: 10)
}
