fn gen(which: &str, n: usize) -> String {
    match which {
        "paren" => format!("block B(x: int) -> int {{ return {}y{} }}", "(".repeat(n), ")".repeat(n)),
        "call" => format!("block B(x: int) -> int {{ return {}x{} }}", "f(".repeat(n), ")".repeat(n)),
        "list" => format!("block B(x: int) -> int {{ return {}x{} }}", "[".repeat(n), "]".repeat(n)),
        "neg" => format!("block B(x: int) -> int {{ return {}x }}", "- ".repeat(n)),
        "add" => format!("block B(x: int) -> int {{ return x{} }}", " + x".repeat(n)),
        "block" => format!("block B(x: int) -> int {{ return {}x{} }}", "{".repeat(n), "}".repeat(n)),
        "choice" => format!("block B(x: int) -> int {{ return {}x{} }}", "choice { a: ".repeat(n), "}".repeat(n)),
        "if" => format!("block B(x: int) -> int {{ return {}x{} }}", "if x then ".repeat(n), " else x".repeat(n)),
        "for" => format!("block B(x: int) -> int {{ {} return x }}", "for i in x {".repeat(n) + &"}".repeat(n)),
        _ => panic!(),
    }
}
#[test]
fn probe_child() {
    let Ok(which) = std::env::var("PROBE_WHICH") else { return };
    let n: usize = std::env::var("PROBE_N").unwrap().parse().unwrap();
    let kb: usize = std::env::var("PROBE_KB").unwrap().parse().unwrap();
    let check = std::env::var("CHECK").is_ok();
    let s = gen(&which, n);
    let r = std::thread::Builder::new().stack_size(kb << 10).spawn(move || {
        if check {
            let (p, e) = nasc::resolve::load_bytes("x", nasc::source::Origin::Memory, s.as_bytes());
            drop(p); e.iter().map(|e| nasc::diagnostics::wording::resolve_error(e).code.to_string()).collect::<Vec<String>>()
        } else {
            let (m, e) = nasc::syntax::parser::parse_module(&s); drop(m); e.iter().map(|e| format!("{e:?}").chars().take(20).collect::<String>()).collect()
        }
    }).unwrap().join().unwrap();
    eprintln!("RESULT {r:?}");
}
fn ok(which: &str, n: usize, kb: usize) -> bool {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "probe_child", "--nocapture"])
        .env("PROBE_WHICH", which).env("PROBE_N", n.to_string()).env("PROBE_KB", kb.to_string())
        .output().unwrap();
    out.status.success()
}
#[test]
fn probe_stack() {
    let Ok(which) = std::env::var("PROBE") else { return };
    for kb in [1024usize, 2048, 8192] {
        let (mut lo, mut hi) = (0usize, 201usize);
        if ok(&which, hi, kb) { eprintln!("{which} {kb}KiB: survives 201"); continue; }
        while hi - lo > 1 { let mid = (lo + hi) / 2; if ok(&which, mid, kb) { lo = mid } else { hi = mid } }
        eprintln!("{which} {kb}KiB: max n {lo}  => ~{} bytes/level", (kb << 10) / lo.max(1));
    }
}
#[test]
fn sizes() {
    use nasc::syntax::ast::*;
    eprintln!("Expr {} SyntaxError {} Res {} Stmt {} Ident {}", std::mem::size_of::<Expr>(), std::mem::size_of::<nasc::syntax::parser::SyntaxError>(), std::mem::size_of::<Result<(Expr, usize), nasc::syntax::parser::SyntaxError>>(), std::mem::size_of::<Stmt>(), std::mem::size_of::<Ident>());
}
