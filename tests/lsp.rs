//! `nasc lsp` end to end: the test starts the binary as a process and exchanges real JSON-RPC
//! messages with it over its standard input and output, as an editor does.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// How long to wait for any one message before failing.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    notifications: Vec<Value>,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nasc"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start nasc lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = Some(v.parse::<usize>().expect("length"));
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                r.read_exact(&mut body).expect("body");
                let v: Value = serde_json::from_slice(&body).expect("JSON body");
                if tx.send(v).is_err() {
                    return;
                }
            }
        });
        Client { child, stdin, messages: rx, next_id: 0, notifications: Vec::new() }
    }

    fn send(&mut self, v: Value) {
        let body = serde_json::to_string(&v).unwrap();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{}", body.len(), body).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    fn recv(&mut self) -> Value {
        self.messages.recv_timeout(TIMEOUT).expect("a message from the server in time")
    }

    /// Sends a request and returns its response (the whole message), keeping notifications.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.recv();
            if m.get("id") == Some(&json!(id)) {
                assert_eq!(m["jsonrpc"], "2.0");
                return m;
            }
            self.notifications.push(m);
        }
    }

    /// The next `publishDiagnostics` for `uri` (kept or new).
    fn diagnostics_for(&mut self, uri: &str) -> Value {
        if let Some(i) = self.notifications.iter().position(|n| {
            n["method"] == "textDocument/publishDiagnostics" && n["params"]["uri"] == uri
        }) {
            return self.notifications.remove(i)["params"].clone();
        }
        loop {
            let m = self.recv();
            if m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri {
                return m["params"].clone();
            }
            self.notifications.push(m);
        }
    }

    fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": {"textDocument": {"publishDiagnostics": {"relatedInformation": true}}}}),
        );
        self.notify("initialized", json!({}));
        r
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        let r = self.request(method, json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}));
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// `shutdown`, `exit`, and the exit status.
    fn shutdown(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "nasc lsp did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for one test's files.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nasc-lsp-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::canonicalize(&dir).unwrap()
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

const LIB: &str = "\
/// A stem: convolution, batch norm and ReLU, halving the image.
block Stem(x: Tensor[n, c, h, w], width: int) -> Tensor[n, width, h / 2, w / 2] {
    return conv_bn_relu(x, out: width, kernel: 3, stride: 2)
}
";

/// A space with one error (`kernl`), after non-ASCII text on the same line (in a string) and
/// in a comment before it, so that UTF-16 columns, characters and bytes all differ.
const MAIN: &str = "\
// The language server's test space: ünïcödé 😀 in a comment.
import lib.{Stem}

/// Net: a stem with a searched width, then a fixed layer.
network Net(x: Tensor[n, 1, 28, 28]) -> Tensor[n, 10] {
    let h = conv_bn_relu(Stem(x, width: choice label \"wïdth😀\" [16, 32]), out: 8, kernl: 3)
    return linear(global_avg_pool(h), out: 10)
}
";

fn range(v: &Value) -> (u64, u64, u64, u64) {
    (
        v["start"]["line"].as_u64().unwrap(),
        v["start"]["character"].as_u64().unwrap(),
        v["end"]["line"].as_u64().unwrap(),
        v["end"]["character"].as_u64().unwrap(),
    )
}

fn hover_text(v: &Value) -> String {
    v["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("a Markdown hover, got {v}"))
        .to_string()
}

#[test]
fn a_session_diagnostics_hover_definition_fix_shutdown() {
    let dir = temp_dir("session");
    std::fs::write(dir.join("lib.nas"), LIB).unwrap();
    let main = dir.join("main.nas");
    std::fs::write(&main, MAIN).unwrap();
    let main_uri = uri(&main);
    let lib_uri = uri(&dir.join("lib.nas"));

    let mut c = Client::start();
    let init = c.initialize();
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], true, "{init}");
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert!(caps["semanticTokensProvider"]["legend"]["tokenTypes"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));

    // Open the file with the error: its diagnostic, with the CLI's code, label and help.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": main_uri, "languageId": "nas", "version": 1, "text": MAIN}}),
    );
    let d = c.diagnostics_for(&main_uri);
    assert_eq!(d["version"], 1);
    let diags = d["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{d}");
    let e = &diags[0];
    assert_eq!(e["code"], "E0016");
    assert_eq!(e["severity"], 1);
    assert_eq!(e["source"], "nasc");
    // `kernl` starts at byte 85, character 81, UTF-16 unit 82 of its line.
    assert_eq!(range(&e["range"]), (5, 82, 5, 87), "{e}");
    let message = e["message"].as_str().unwrap();
    assert!(message.starts_with("`conv_bn_relu` has no parameter `kernl`"), "{message}");
    assert!(message.contains("help: did you mean `kernel`?"), "{message}");
    let related = e["relatedInformation"].as_array().expect("related information");
    assert_eq!(related[0]["message"], "unknown keyword argument");
    assert_eq!(related[0]["location"]["uri"], main_uri.as_str());
    assert_eq!(related[1]["message"], "`conv_bn_relu` is defined here");
    assert!(related[1]["location"]["uri"].as_str().unwrap().ends_with("/ops.nas"), "{related:?}");

    // Definition of `Stem`, a block of the neighbouring file: its name there.
    let def = c.at("textDocument/definition", &main_uri, 5, 27);
    assert_eq!(def.as_array().map(Vec::len), Some(1), "{def}");
    assert_eq!(def[0]["uri"], lib_uri.as_str());
    assert_eq!(range(&def[0]["range"]), (1, 6, 1, 10));
    // Definition of a standard-library block: the read-only copy of the library.
    let def = c.at("textDocument/definition", &main_uri, 5, 16);
    let target = def[0]["uri"].as_str().unwrap();
    assert!(target.starts_with("file://") && target.ends_with("/ops.nas"), "{def}");
    let copy = PathBuf::from(target.trim_start_matches("file://"));
    let text = std::fs::read_to_string(&copy).expect("the library copy exists");
    let line = text.lines().nth(range(&def[0]["range"]).0 as usize).unwrap();
    assert!(line.contains("block conv_bn_relu"), "{line}");

    // Fix the error: the diagnostics are cleared.
    let fixed = MAIN.replace("kernl", "kernel");
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": main_uri, "version": 2}, "contentChanges": [{"text": fixed}]}));
    let d = c.diagnostics_for(&main_uri);
    assert_eq!(d["version"], 2);
    assert_eq!(d["diagnostics"], json!([]), "{d}");

    // Hover on `h`: the tensor shape.
    let h = c.at("textDocument/hover", &main_uri, 6, 34);
    assert!(hover_text(&h).contains("h: Tensor[n, 8, 14, 14]"), "{h}");
    assert_eq!(range(&h["range"]), (6, 34, 6, 35));
    // Hover on the call of `Stem`: its signature and doc, and a choice-dependent shape.
    let h = hover_text(&c.at("textDocument/hover", &main_uri, 5, 27));
    assert!(
        h.contains(
            "block Stem(x: Tensor[n, c, h, w], width: int) -> Tensor[n, width, h / 2, w / 2]"
        ),
        "{h}"
    );
    assert!(h.contains("A stem: convolution, batch norm and ReLU"), "{h}");
    assert!(h.contains("result: Tensor[n, wïdth😀, 14, 14]"), "{h}");
    // Hover on the choice: its label and domain.
    let h = hover_text(&c.at("textDocument/hover", &main_uri, 5, 45));
    assert!(
        h.contains("value choice") && h.contains("label `wïdth😀`") && h.contains("[16, 32]"),
        "{h}"
    );
    // Hover on a standard-library operator: signature and doc comment.
    let h = hover_text(&c.at("textDocument/hover", &main_uri, 6, 13));
    assert!(h.contains("operator linear(") && h.contains("-> Tensor["), "{h}");

    // Document symbols: the import and the network, with its choice inside.
    let s = c.request("textDocument/documentSymbol", json!({"textDocument": {"uri": main_uri}}));
    let syms = s["result"].as_array().unwrap();
    let net = syms.iter().find(|s| s["name"] == "Net").expect("Net");
    assert_eq!(net["children"][0]["detail"], "value choice [16, 32]", "{net}");

    // Semantic tokens: five numbers a token.
    let t =
        c.request("textDocument/semanticTokens/full", json!({"textDocument": {"uri": main_uri}}));
    let data = t["result"]["data"].as_array().unwrap();
    assert!(!data.is_empty() && data.len().is_multiple_of(5));
    // The first token is the comment: 61 UTF-16 units (60 characters, 67 bytes).
    assert_eq!(&data[..4], &[json!(0), json!(0), json!(61), json!(7)]);

    // Completion: keyword arguments inside a call, labels inside `label "`, and operators.
    let typing = fixed.replace("out: 10)\n", "out: 10, \n");
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": main_uri, "version": 3}, "contentChanges": [{"text": typing}]}));
    let items = c.at("textDocument/completion", &main_uri, 6, 47);
    let labels: Vec<&str> =
        items.as_array().unwrap().iter().filter_map(|i| i["label"].as_str()).collect();
    assert!(!labels.contains(&"out:") && labels.contains(&"x:"), "{labels:?}");
    assert!(labels.contains(&"conv2d"), "{labels:?}");
    let typing = fixed.replace("    return", "    let w = choice label \"\n    return");
    c.notify("textDocument/didChange", json!({"textDocument": {"uri": main_uri, "version": 4}, "contentChanges": [{"text": typing}]}));
    let items = c.at("textDocument/completion", &main_uri, 6, 26);
    assert!(items.as_array().unwrap().iter().any(|i| i["label"] == "wïdth😀"), "{items}");

    assert_eq!(c.shutdown(), 0);
}

#[test]
fn incremental_changes_and_errors_in_other_files() {
    let dir = temp_dir("files");
    // A neighbour with an error: published on the neighbour's own URI.
    std::fs::write(dir.join("lib.nas"), LIB.replace("stride: 2)", "stride: 2, padding: 1)"))
        .unwrap();
    let main = dir.join("main.nas");
    let text = MAIN.replace("kernl", "kernel");
    std::fs::write(&main, &text).unwrap();
    let (main_uri, lib_uri) = (uri(&main), uri(&dir.join("lib.nas")));

    let mut c = Client::start();
    c.initialize();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": main_uri, "languageId": "nas", "version": 1, "text": text}}),
    );
    let d = c.diagnostics_for(&main_uri);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    let d = c.diagnostics_for(&lib_uri);
    assert_eq!(d["diagnostics"][0]["code"], "E0016", "{d}");
    assert_eq!(range(&d["diagnostics"][0]["range"]), (2, 61, 2, 68));

    // The neighbour is fixed and saved: its diagnostics are cleared.
    std::fs::write(dir.join("lib.nas"), LIB).unwrap();
    c.notify("textDocument/didSave", json!({"textDocument": {"uri": lib_uri}}));
    let d = c.diagnostics_for(&lib_uri);
    assert_eq!(d["diagnostics"], json!([]), "{d}");

    // An incremental change that breaks a stdlib block's shape: the error is located in the
    // standard library, so it is shown at the call in this file that leads there.
    let line = "    let h = conv_bn_relu(Stem(x, width: choice label \"wïdth😀\" [16, 32]), out: 8, kernel: 3)";
    let start = line.find("conv_bn_relu").unwrap() as u64;
    let end = start + "conv_bn_relu".len() as u64;
    let change = json!({"range": {"start": {"line": 5, "character": start}, "end": {"line": 5, "character": end}}, "text": "sep_conv"});
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main_uri, "version": 2}, "contentChanges": [change]}),
    );
    // `kernel: 3` moved 4 units left (`sep_conv` is 4 shorter than `conv_bn_relu`).
    let change = json!({"range": {"start": {"line": 5, "character": 78}, "end": {"line": 5, "character": 87}}, "text": "kernel: 4"});
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": main_uri, "version": 3}, "contentChanges": [change]}),
    );
    let d = loop {
        let d = c.diagnostics_for(&main_uri);
        if d["version"] == 3 {
            break d;
        }
    };
    let e = &d["diagnostics"][0];
    assert_eq!(e["code"], "E0101", "{d}");
    // The whole call (the checker records the call that led into the standard library).
    assert_eq!(range(&e["range"]), (5, 12, 5, 88), "{e}");
    assert!(e["message"].as_str().unwrap().contains("reported in <stdlib>/ops.nas"), "{e}");

    // Closing the document clears what it published.
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": main_uri}}));
    let d = c.diagnostics_for(&main_uri);
    assert_eq!(d["diagnostics"], json!([]), "{d}");
    // A request about a document that is not open: a null result, not an error.
    assert_eq!(c.at("textDocument/hover", &main_uri, 0, 0), Value::Null);
    assert_eq!(c.shutdown(), 0);
}

#[test]
fn broken_and_half_typed_text_never_crashes_the_server() {
    let mut c = Client::start();
    c.initialize();
    let uri = "untitled:Untitled-1";
    let mut texts: Vec<String> = Vec::new();
    // Every prefix of the example space (a file being typed), at a stride.
    for end in (0..=MAIN.len()).step_by(11).filter(|&e| MAIN.is_char_boundary(e)) {
        texts.push(MAIN[..end].to_string());
    }
    texts.extend(
        [
            "network N(x: Tensor[n",
            "block B(x: Tensor[n, c]) -> Tensor[n, c] { return choice { } }",
            "\"unterminated",
            "import std.",
            "import nowhere.{x}",
            "network N(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 3, 8, 8] { return N(x) }",
            "block B(x: Tensor[n, c, h, w]) -> Tensor[n, c, h, w] { return B(x) }\nnetwork N(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 3, 8, 8] { return B(x) }",
            "\u{0}\u{feff}@@@ ((((( ]]]] }}}}",
            "network N(x: Tensor[n, 3, 8, 8]) -> Tensor[n, 3, 8, 8] { let y = repeat depth [1, 2] from x { x } return y }",
            "",
        ]
        .map(String::from),
    );
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "nas", "version": 0, "text": ""}}),
    );
    for (v, text) in texts.iter().enumerate() {
        c.notify("textDocument/didChange", json!({"textDocument": {"uri": uri, "version": v + 1}, "contentChanges": [{"text": text}]}));
        let lines = text.lines().count().max(1) as u32;
        for (line, character) in [(0, 0), (lines - 1, 3), (lines / 2, 12), (lines + 5, 99)] {
            let pos = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}});
            for method in
                ["textDocument/hover", "textDocument/definition", "textDocument/completion"]
            {
                let r = c.request(method, pos.clone());
                assert!(r.get("error").is_none(), "{method} on {text:?}: {r}");
            }
        }
        for method in ["textDocument/documentSymbol", "textDocument/semanticTokens/full"] {
            let r = c.request(method, json!({"textDocument": {"uri": uri}}));
            assert!(r.get("error").is_none(), "{method} on {text:?}: {r}");
        }
    }
    // No check crashed (a crash is reported as an `internal` diagnostic).
    for n in &c.notifications {
        if n["method"] == "textDocument/publishDiagnostics" {
            for d in n["params"]["diagnostics"].as_array().unwrap() {
                assert_ne!(d["code"], "internal", "{d}");
            }
        }
    }
    // An unknown request gets an error response, and the server goes on.
    let r = c.request("nasc/unknown", json!({}));
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(c.shutdown(), 0);
}

/// Malformed messages (a body that is not JSON, JSON that is not JSON-RPC, a header line
/// without a colon, a request before `initialize`) are answered with JSON-RPC errors and the
/// server goes on serving the same client.
#[test]
fn malformed_messages_are_answered_and_the_server_goes_on() {
    let mut c = Client::start();
    let raw = |c: &mut Client, bytes: &str| {
        c.stdin.write_all(bytes.as_bytes()).unwrap();
        c.stdin.flush().unwrap();
    };
    raw(&mut c, "Content-Length: 9\r\n\r\n{not json");
    let m = c.recv();
    assert_eq!((m["error"]["code"].as_i64(), m["id"].is_null()), (Some(-32700), true), "{m}");
    raw(&mut c, "Content-Length: 10\r\n\r\n{\"foo\": 1}");
    assert_eq!(c.recv()["error"]["code"], -32600);
    raw(&mut c, "this is no header\r\n\r\n");
    assert_eq!(c.recv()["error"]["code"], -32700);
    // A request before `initialize`: "server not initialized", with its id.
    let early = c.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    let r = c.initialize();
    assert!(r["result"]["capabilities"].is_object(), "{r}");
    raw(&mut c, "Content-Length: 2\r\n\r\n[]");
    assert_eq!(c.recv()["error"]["code"], -32600);
    assert_eq!(c.shutdown(), 0);
}
