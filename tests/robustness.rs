fn gen(which: &str, n: usize) -> String {
    let body = match which {
        "paren" => format!("{}y{}", "(".repeat(n), ")".repeat(n)),
        "call" => format!("{}y{}", "f(".repeat(n), ")".repeat(n)),
        "kwcall" => format!("{}y{}", "f(a: ".repeat(n), ")".repeat(n)),
        "list" => format!("{}y{}", "[".repeat(n), "]".repeat(n)),
        "comp" => format!("{}y{}", "[".repeat(n), " for i in x]".repeat(n)),
        "neg" => format!("{}y", "- ".repeat(n)),
        "not" => format!("{}y", "not ".repeat(n)),
        "block" => format!("{}y{}", "{".repeat(n), "}".repeat(n)),
        "letblock" => format!("{}y{}", "{ let a = ".repeat(n), " a }".repeat(n)),
        "choice" => format!("{}y{}", "choice { a: ".repeat(n), "}".repeat(n)),
        "vchoice" => format!("{}y{}", "choice [".repeat(n), "]".repeat(n)),
        "if" => format!("{}y{}", "if x then ".repeat(n), " else x".repeat(n)),
        "ifc" => format!("{}y{}", "if ".repeat(n), " then x else x".repeat(n)),
        "index" => format!("{}y{}", "x[".repeat(n), "]".repeat(n)),
        "pick" => format!("{}y{}", "pick 1 of [".repeat(n), "]".repeat(n)),
        "repeat" => format!("{}y{}", "repeat d [1] from h {".repeat(n), "}".repeat(n)),
        "add" => format!("y{}", " + x".repeat(n)),
        "pow" => format!("y{}", " ** x".repeat(n)),
        _ => panic!(),
    };
    format!("block B(x: int) -> int {{ return {body} }}")
}
#[test]
fn probe_child() {
    let Ok(which) = std::env::var("PROBE_WHICH") else { return };
    let n: usize = std::env::var("PROBE_N").unwrap().parse().unwrap();
    let kb: usize = std::env::var("PROBE_KB").unwrap().parse().unwrap();
    let s = gen(&which, n);
    let r = std::thread::Builder::new()
        .stack_size(kb << 10)
        .spawn(move || {
            let (p, e) = nasc::resolve::load_bytes("x", nasc::source::Origin::Memory, s.as_bytes());
            drop(p);
            e.iter().map(|e| nasc::diagnostics::wording::resolve_error(e).code.to_string()).collect::<Vec<String>>()
        })
        .unwrap()
        .join()
        .unwrap();
    let mut r2 = r.clone();
    r2.sort();
    r2.dedup();
    eprintln!("RESULT {} {:?}", r.len(), r2);
}
#[test]
fn expo() {
    for n in [20usize, 60, 150, 1000] {
        for (name, s) in [
            ("list closed", format!("block B(x: int) -> int {{ return {}x{} }}", "[".repeat(n), "]".repeat(n))),
            ("list open", format!("block B(x: int) -> int {{ return {}x }}", "[".repeat(n))),
            ("repeat d", format!("block B(x: int) -> int {{ return {}x }}", "repeat d [".repeat(n))),
            ("repeat", format!("block B(x: int) -> int {{ return {}x }}", "repeat [".repeat(n))),
            ("repeat label", format!("block B(x: int) -> int {{ return {}x }}", "repeat label \"a\" [".repeat(n))),
            ("comp open", format!("block B(x: int) -> int {{ return {}x for i in x ", "[".repeat(n))),
            ("call open", format!("block B(x: int) -> int {{ return {}x ", "f(".repeat(n))),
            ("type open", format!("block B(x: {}int) -> int {{ return x }}", "list[".repeat(n))),
            ("type", format!("block B(x: {}int{}) -> int {{ return x }}", "list[".repeat(n), "]".repeat(n))),
        ] {
            let t = std::time::Instant::now();
            let (_m, e) = nasc::syntax::parser::parse_module(&s);
            eprintln!("{name} {n}: {:?} errors {:?}", t.elapsed(), e.iter().map(|e| format!("{e:?}").chars().take(30).collect::<String>()).collect::<Vec<_>>());
        }
    }
}
#[test]
fn big() {
    let Ok(mb) = std::env::var("BIG_MB") else { return };
    let n: usize = mb.parse::<usize>().unwrap() << 20;
    let which = std::env::var("BIG_WHICH").unwrap_or_default();
    let cases: Vec<(&str, String)> = vec![
        ("comment", format!("// {}\n", "x".repeat(n))),
        ("string", format!("block B(x: int) -> int {{ return \"{}\" }}", "x".repeat(n))),
        ("ident", format!("block B(x: int) -> int {{ return {} }}", "x".repeat(n))),
        ("digits", format!("block B(x: int) -> int {{ return {} }}", "1".repeat(n))),
        ("bare ident", "x".repeat(n)),
    ];
    for (name, s) in cases {
        if !which.is_empty() && !which.contains(name) {
            continue;
        }
        let t = std::time::Instant::now();
        let (p, e) = nasc::resolve::load_bytes("x", nasc::source::Origin::Memory, s.as_bytes());
        let t1 = t.elapsed();
        let diags: Vec<_> = e.iter().map(nasc::diagnostics::wording::resolve_error).collect();
        let text = nasc::diagnostics::render_plain(&diags, &p.sources);
        let t2 = t.elapsed();
        let json = nasc::diagnostics::to_json(&diags, &p.sources);
        eprintln!(
            "{name}: load {:?} render {:?} json {:?} codes {:?} text {}",
            t1,
            t2 - t1,
            t.elapsed() - t2,
            diags.iter().map(|d| d.code).collect::<Vec<_>>(),
            text.len()
        );
        drop(json);
    }
}
#[test]
fn quad() {
    let Ok(n) = std::env::var("QUAD_N") else { return };
    let n: usize = n.parse().unwrap();
    let mut s = String::from("block B(x: int) -> int {\n");
    for i in 0..n {
        s.push_str(&format!("  let a{i} = b{i}\n"));
    }
    s.push_str("  return x\n}\n");
    let t = std::time::Instant::now();
    let (_p, e) = nasc::resolve::load_bytes("x", nasc::source::Origin::Memory, s.as_bytes());
    eprintln!("quad {n} ({} bytes): {:?} {} errors", s.len(), t.elapsed(), e.len());
}
