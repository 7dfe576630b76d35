//! The compiler's worker threads: one rayon pool with a thread per core, each with the 8 MiB
//! stack of a main thread, so that how deeply a piece of work may recurse (a nested expression
//! being parsed, a chain of block calls being elaborated) does not depend on the thread that
//! runs it. The parser splits large files across it, the type stage elaborates the networks of
//! a file on it, and the facts of several networks are computed on it.

/// The pool; `None` where no thread can be started (then work runs on the caller's thread,
/// one piece after another).
pub fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: std::sync::OnceLock<Option<rayon::ThreadPool>> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("nasc-worker-{i}"))
            .stack_size(8 << 20)
            .build()
            .ok()
    })
    .as_ref()
}

/// `f` of every item, in the items' order: on the pool's threads when there are two items or
/// more (each item is one task), on this thread otherwise or where the pool cannot start.
pub fn map_ordered<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    match pool() {
        Some(pool) if items.len() >= 2 => {
            use rayon::prelude::*;
            pool.install(|| items.par_iter().with_max_len(1).map(&f).collect())
        }
        _ => items.iter().map(f).collect(),
    }
}

/// `a()` and `b()`, side by side on the pool when it runs, one after the other otherwise.
pub fn join<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    match pool() {
        Some(pool) => pool.install(|| rayon::join(a, b)),
        None => (a(), b()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results come back in the items' order, whatever thread computed them.
    #[test]
    fn map_ordered_keeps_the_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = map_ordered(&items, |x| {
            std::thread::sleep(std::time::Duration::from_micros(100 - x));
            x * x
        });
        assert_eq!(out, items.iter().map(|x| x * x).collect::<Vec<_>>());
        assert_eq!(map_ordered(&[7u64], |x| x + 1), vec![8]);
        assert_eq!(join(|| 1, || "b"), (1, "b"));
    }
}
