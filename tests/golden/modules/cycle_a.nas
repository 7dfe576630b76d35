// Half of an import cycle used by E0014_import_cycle.nas.
import cycle_b

block A(x: Tensor[n, f]) -> Tensor[n, f] {
    return relu(x)
}
