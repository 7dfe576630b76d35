#[test]
fn expo() {
    for n in [10usize, 14, 16, 18, 20] {
        for (name, s) in [
            ("list closed", format!("block B(x: int) -> int {{ return {}x{} }}", "[".repeat(n), "]".repeat(n))),
            ("list open", format!("block B(x: int) -> int {{ return {}x }}", "[".repeat(n))),
            ("repeat", format!("block B(x: int) -> int {{ return {}x }}", "repeat d [".repeat(n))),
        ] {
            let t = std::time::Instant::now();
            let (_m, e) = nasc::syntax::parser::parse_module(&s);
            eprintln!("{name} {n}: {:?} errors {}", t.elapsed(), e.len());
        }
    }
}
