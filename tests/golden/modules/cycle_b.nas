// The other half of the import cycle used by E0014_import_cycle.nas.
import cycle_a

block B(x: Tensor[n, f]) -> Tensor[n, f] {
    return relu(x)
}
