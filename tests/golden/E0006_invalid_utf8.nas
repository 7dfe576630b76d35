// The golden test replaces the marker below with the byte 0xFF, which is never valid UTF-8
// (a committed binary file would be awkward to review). Marker: <0xFF>
network Net(x: Tensor[n, 784]) -> Tensor[n, 10] {
    return linear(x, out: 10)
}
