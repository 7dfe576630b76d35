// A small space with nesting for the strategy tests (tests/strategy.rs, tests/ppo.rs): a layer
// choice with a value choice inside one alternative, an input choice (2 of 3), a repeat of 1-3
// blocks each with its own layer choice, a width, and a parameter budget that rules out the
// largest networks. 6,561 label assignments give 1,755 distinct networks.
network Small(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 10]
    where params <= 2_000
{
    let width = choice width [4, 8, 12]
    let h = conv_bn_relu(x, out: width, kernel: 3)
    let h = choice op {
        conv: dropout(conv_bn_relu(h, out: width, kernel: 3), p: choice rate [0.0, 0.1, 0.5]),
        pool: max_pool(h, kernel: 3, stride: 1, padding: 1),
        skip: h,
    }
    let paths = [conv_bn_relu(h, out: width, kernel: 1), max_pool(h, kernel: 3, stride: 1, padding: 1), h]
    let h = pick fuse 2 of paths reduce sum
    let h = repeat depth [1, 2, 3] from h {
        choice kind {
            conv1: conv_bn_relu(h, out: width, kernel: 1),
            conv3: conv_bn_relu(h, out: width, kernel: 3),
            skip: h,
        }
    }
    return linear(global_avg_pool(h), out: 10)
}
