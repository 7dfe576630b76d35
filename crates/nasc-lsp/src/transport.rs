//! The stdio transport: LSP's base protocol (header lines, a blank line, then a JSON-RPC body
//! of `Content-Length` bytes) read and written by the server itself, so that one bad message
//! costs that message only.
//!
//! lsp-server's own stdio transport ends the server on the first malformed message (invalid
//! JSON, a header it cannot read) and allocates whatever `Content-Length` says. Here:
//! - a body that is not JSON gets JSON-RPC's parse error (-32700), one that is JSON but not a
//!   request, response or notification gets "invalid request" (-32600), each with `id: null`
//!   (the JSON-RPC 2.0 specification, section 5.1), and the server reads on;
//! - a header line it cannot read, or a message without `Content-Length`, gets a parse error and
//!   the header block is skipped;
//! - a body longer than [`MAX_MESSAGE`] bytes gets a parse error and is read and dropped in
//!   small pieces, never held.
//!
//! The server side is an ordinary [`lsp_server::Connection`] ([`stdio`] returns its other end's
//! threads), so the server's loop is the same over this transport and in memory (tests).

use lsp_server::{Connection, Message};
use std::io::{self, BufRead, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The largest message body read, in bytes (64 MiB: a document of that size is not a `.nas`
/// file; the largest the tests open is under 1 MiB).
pub const MAX_MESSAGE: u64 = 64 << 20;

/// JSON-RPC's code for a body that is not JSON (or a message that cannot be framed).
const PARSE_ERROR: i32 = -32700;
/// JSON-RPC's code for JSON that is not a request, response or notification.
const INVALID_REQUEST: i32 = -32600;

/// One framed read from the client.
#[derive(Debug)]
pub enum Frame {
    /// A message.
    Message(Message),
    /// A message that cannot be taken: the JSON-RPC error code, what was wrong, and the
    /// request's id when the body had one.
    Bad {
        /// `-32700` (parse error) or `-32600` (invalid request).
        code: i32,
        /// What was wrong, for the client's log.
        reason: String,
        /// The `id` of the body, when it was JSON with one.
        id: Option<serde_json::Value>,
    },
    /// The client closed its end.
    End,
}

/// Reads one message from `r`: headers, then a body of `Content-Length` bytes.
///
/// Errors: only the reader's own (a closed pipe mid-body is [`Frame::End`]).
pub fn read_frame(r: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<u64, String>> = None;
    let mut bad_header: Option<String> = None;
    let mut line = Vec::new();
    let mut any = false;
    loop {
        line.clear();
        // A header line is short; a longer one is cut (and is then a bad header).
        let n = r.by_ref().take(4096).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Frame::End);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if any {
                break;
            }
            // Blank lines between messages are skipped.
            continue;
        }
        any = true;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("Content-Length") => {
                let value = value.trim();
                length = Some(value.parse::<u64>().map_err(|_| value.to_string()));
            }
            Some(_) => {}
            None => {
                bad_header.get_or_insert_with(|| {
                    format!("a header line without `:`: {:?}", truncate(text, 80))
                });
            }
        }
    }
    let fail = |reason: String| Ok(Frame::Bad { code: PARSE_ERROR, reason, id: None });
    if let Some(reason) = bad_header {
        // The body, if any, cannot be found: the next header block is read as the next message.
        return fail(reason);
    }
    let length = match length {
        None => return fail("a message without a Content-Length header".into()),
        Some(Err(v)) => {
            return fail(format!("Content-Length {:?} is not a byte count", truncate(&v, 40)))
        }
        Some(Ok(n)) => n,
    };
    if length > MAX_MESSAGE {
        // Read and dropped, never held.
        let skipped = io::copy(&mut r.by_ref().take(length), &mut io::sink())?;
        if skipped < length {
            return Ok(Frame::End);
        }
        return fail(format!(
            "a message of {length} bytes; the largest taken is {MAX_MESSAGE} bytes"
        ));
    }
    let mut body = Vec::with_capacity(length as usize);
    r.by_ref().take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return fail(format!("the body is not JSON: {e}")),
    };
    let id = value.get("id").cloned();
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Ok(Frame::Message(m)),
        Err(_) => Ok(Frame::Bad {
            code: INVALID_REQUEST,
            reason: "the body is JSON but not a JSON-RPC request, response or notification".into(),
            id,
        }),
    }
}

/// The first `n` characters of `s`.
fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Writes `body` as one LSP message.
fn write_body(w: &mut impl Write, body: &str) -> io::Result<()> {
    write!(w, "Content-Length: {}\r\n\r\n", body.len())?;
    w.write_all(body.as_bytes())?;
    w.flush()
}

/// The JSON-RPC error response to a message that could not be taken.
pub fn error_response(code: i32, reason: &str, id: Option<serde_json::Value>) -> String {
    let id = match id {
        Some(v @ (serde_json::Value::Number(_) | serde_json::Value::String(_))) => v,
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": reason },
    })
    .to_string()
}

/// The threads of [`stdio`]: join [`Io::join`] after the server's connection is dropped so that
/// every answer is written.
pub struct Io {
    writer: JoinHandle<io::Result<()>>,
}

impl Io {
    /// Waits until every message the server sent is written. The reader is not waited for: it
    /// may be blocked on a client that never closes its end.
    ///
    /// Errors: writing to standard output failed.
    pub fn join(self) -> io::Result<()> {
        self.writer.join().unwrap_or_else(|_| Err(io::Error::other("the writer panicked")))
    }
}

/// Connects `client` (the far end of [`Connection::memory`]) to standard input and output: a
/// reader thread frames the client's messages ([`read_frame`]) and answers the bad ones itself;
/// a writer thread writes the server's messages. The reader stops at the `exit` notification
/// or the end of input; the writer when the server's connection is dropped.
pub fn stdio(client: Connection) -> Io {
    let out = Arc::new(Mutex::new(io::stdout()));
    let Connection { sender, receiver } = client;
    let reader_out = out.clone();
    std::thread::spawn(move || -> io::Result<()> {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        loop {
            match read_frame(&mut input)? {
                Frame::End => return Ok(()),
                Frame::Message(m) => {
                    let exit = matches!(&m, Message::Notification(n) if n.method == "exit");
                    if sender.send(m).is_err() || exit {
                        return Ok(());
                    }
                }
                Frame::Bad { code, reason, id } => {
                    let body = error_response(code, &reason, id);
                    let mut w = reader_out.lock().unwrap_or_else(|p| p.into_inner());
                    write_body(&mut *w, &body)?;
                }
            }
        }
    });
    let writer = std::thread::spawn(move || -> io::Result<()> {
        for m in receiver {
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            m.write(&mut *w)?;
        }
        Ok(())
    });
    Io { writer }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut r = io::BufReader::new(input);
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r).expect("reads") {
                Frame::End => return out,
                Frame::Message(Message::Request(q)) => out.push(format!("request {}", q.method)),
                Frame::Message(Message::Notification(n)) => {
                    out.push(format!("notification {}", n.method))
                }
                Frame::Message(Message::Response(_)) => out.push("response".into()),
                Frame::Bad { code, reason, .. } => out.push(format!("{code} {reason}")),
            }
        }
    }

    fn msg(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn bad_messages_are_answered_and_the_next_is_read() {
        let good = msg(r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#);
        let input = [
            msg("{not json"),
            msg("[1, 2]"),
            msg(r#"{"jsonrpc":"2.0","id":7}"#),
            "Content-Length: 99999999999999999999999\r\n\r\n".to_string(),
            "Garbage header\r\n\r\n".to_string(),
            "X-Other: 1\r\n\r\n".to_string(),
            good.clone(),
        ]
        .concat();
        let got = frames(input.as_bytes());
        assert_eq!(got.len(), 7, "{got:#?}");
        assert!(got[0].starts_with("-32700 the body is not JSON"), "{}", got[0]);
        assert!(got[1].starts_with("-32600"), "{}", got[1]);
        assert!(got[2].starts_with("-32600"), "{}", got[2]);
        assert!(got[3].contains("is not a byte count"), "{}", got[3]);
        assert!(got[4].contains("without `:`"), "{}", got[4]);
        assert!(got[5].contains("without a Content-Length"), "{}", got[5]);
        assert_eq!(got[6], "notification initialized");
    }

    #[test]
    fn an_oversized_body_is_dropped_not_held() {
        let big = MAX_MESSAGE + 10;
        let mut input = format!("Content-Length: {big}\r\n\r\n").into_bytes();
        input.resize(input.len() + big as usize, b' ');
        input.extend(msg(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#).as_bytes());
        let got = frames(&input);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("the largest taken is"), "{}", got[0]);
        assert_eq!(got[1], "request shutdown");
        // A length announced but never sent ends the input, nothing allocated.
        assert!(frames(b"Content-Length: 8000000000\r\n\r\n{}").is_empty());
    }

    #[test]
    fn the_error_response_keeps_a_usable_id() {
        let v: serde_json::Value =
            serde_json::from_str(&error_response(-32600, "x", Some(serde_json::json!(7))))
                .expect("json");
        assert_eq!((v["id"].as_i64(), v["error"]["code"].as_i64()), (Some(7), Some(-32600)));
        let v: serde_json::Value =
            serde_json::from_str(&error_response(-32700, "x", Some(serde_json::json!([1]))))
                .expect("json");
        assert!(v["id"].is_null());
    }
}
