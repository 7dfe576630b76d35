// A small searched CNN for MNIST: the main example of the language.
//
//   nasc check examples/mnist.nas
//   nasc search examples/mnist.nas --strategy evolution --max-trials 20 --epochs 2
//   nasc train examples/mnist.nas --arch examples/archs/mnist_small.json
//
// The space: a stem width (3 values), the depth of two stages (1-3 and 1-2 blocks) and, in
// each repeated block, one of five operations: 3 * (5 + 5^2 + 5^3) * (5 + 5^2) = 13,950
// architectures. The parameter budget removes the largest one: width 64 with five blocks that
// all chose the 5x5 convolution has 513,994 parameters (4 such blocks and a 3x3: 448,458).

/// A residual block whose operation is searched. Every alternative keeps the shape, so the
/// residual addition is well typed for all of them.
block SearchedBlock(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let y = choice operation {
        conv3: conv_bn_relu(x, out: c, kernel: 3),
        conv5: conv_bn_relu(x, out: c, kernel: 5),
        sep3: sep_conv(x, out: c, kernel: 3),
        pool: max_pool(x, kernel: 3, stride: 1, padding: 1),
        skip: x,
    }
    return x + y
}

/// 28x28 grey digits to 10 class scores. The stem halves the image (14x14) and a pooling
/// layer halves it again (7x7), which keeps every architecture cheap enough to train on a CPU.
network Mnist(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10]
    where params <= 500_000
{
    let width = choice width [16, 32, 64]
    let h = conv_bn_relu(x, out: width, kernel: 3, stride: 2)
    let h = repeat depth [1, 2, 3] from h { SearchedBlock(h) }
    let h = max_pool(h, kernel: 2)
    let h = repeat depth2 [1, 2] from h { SearchedBlock(h) }
    return linear(global_avg_pool(h), out: 10)
}
