// Even the smallest architecture (width 64) has 50,890 parameters, over the budget of 10,000.
network Net(x: Tensor[n, 784]) -> Tensor[n, 10]
    where params <= 10_000
{
    let h = relu(linear(x, out: choice width [64, 128]))
    return linear(h, out: 10)
}
