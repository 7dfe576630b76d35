// Input choices reduce with `sum`, `mean` or `concat`; `add` and `max` are not reductions.
block Node(a: Tensor[n, c, h, w], b: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] {
    let s = pick 1 of [a, b] reduce add
    return pick 1 of [a, s] reduce max
}
