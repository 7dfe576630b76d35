// An integer literal that does not fit in 64 bits.
network Net(x: Tensor[n, 784]) -> Tensor[n, 10]
    where params <= 99_999_999_999_999_999_999
{
    return linear(x, out: 10)
}
