//! `nasc lsp`: the language server. It speaks LSP over standard input and output
//! ([`transport`], which answers malformed messages and goes on; lsp-server's connection and
//! lsp-types' messages), single-threaded: one loop reads a
//! message, answers it, and rechecks changed documents when no message is waiting.
//!
//! Every open document is checked on each change with the front end's one pipeline
//! ([`nasc_front::driver`]: load and resolve with the standard library and neighbouring files, then
//! the type stage when resolution is clean; E0113 when idle), so the editor shows exactly the
//! diagnostics `nasc check` prints. Only
//! the items a change touches are parsed again (each document keeps a
//! [`nasc_front::syntax::parser::ParseCache`]), and the types hover shows are recorded by the
//! first hover after a change, not before the diagnostics are published. Features: diagnostics, hover (types and shapes, choices'
//! labels and domains, signatures and doc comments), go to definition, document symbols,
//! semantic tokens and completion. `editors/vscode/` is a client for VS Code.
//!
//! Robustness: analysis and every request handler run under `catch_unwind`; a panic becomes
//! an error response (or, for a check, one diagnostic saying so), and the server goes on.

pub mod analysis;
pub mod completion;
pub mod index;
pub mod semantic;
pub mod text;
pub mod transport;

use analysis::{Analysis, Target};
use lsp_server::{
    Connection, ErrorCode, Message, Notification, ProtocolError, Request, RequestId, Response,
};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
/// A document's address, as [`analysis::Analysis`] takes it (re-exported so that callers need
/// no LSP crate of their own).
pub use lsp_types::Uri;
use nasc_front::syntax::parser::ParseCache;
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

/// Runs the server on standard input and output until the client says `exit`. Exit code 0
/// after a `shutdown` request, 1 otherwise (as the protocol asks).
pub fn run() -> ExitCode {
    let (connection, client) = Connection::memory();
    let io = transport::stdio(client);
    let code = match serve(&connection) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("nasc lsp: {e}");
            1
        }
    };
    drop(connection);
    if let Err(e) = io.join() {
        eprintln!("nasc lsp: {e}");
    }
    ExitCode::from(code)
}

/// The capabilities the server announces.
pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(lsp::PositionEncodingKind::UTF16),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(["(", ",", "\"", ".", "{"].map(String::from).to_vec()),
            ..Default::default()
        }),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: semantic::legend(),
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    work_done_progress_options: Default::default(),
                },
            ),
        ),
        ..Default::default()
    }
}

/// Serves one client on `connection`: the initialize handshake, then the main loop. Returns
/// whether the client shut the server down properly (`shutdown` before `exit`).
pub fn serve(connection: &Connection) -> Result<bool, ProtocolError> {
    // Before `initialize`, a request is answered "server not initialized" (-32002) and a
    // notification dropped, as the protocol says; `exit` ends the server.
    let (id, params) = loop {
        match connection.receiver.recv() {
            Ok(Message::Request(r)) if r.method == "initialize" => break (r.id, r.params),
            Ok(Message::Request(r)) => {
                let e = Response::new_err(
                    r.id,
                    ErrorCode::ServerNotInitialized as i32,
                    format!("`{}` before `initialize`", r.method),
                );
                let _ = connection.sender.send(e.into());
            }
            Ok(Message::Notification(n)) if n.method == lsp::notification::Exit::METHOD => {
                return Ok(false)
            }
            Ok(_) => {}
            Err(_) => return Ok(false),
        }
    };
    let init: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let related = init
        .capabilities
        .text_document
        .as_ref()
        .and_then(|t| t.publish_diagnostics.as_ref())
        .and_then(|p| p.related_information)
        .unwrap_or(false);
    connection.initialize_finish(
        id,
        serde_json::json!({
            "capabilities": capabilities(),
            "serverInfo": { "name": "nasc", "version": env!("CARGO_PKG_VERSION") },
        }),
    )?;
    let mut server = Server {
        connection,
        docs: HashMap::new(),
        published: HashMap::new(),
        related,
        pending: VecDeque::new(),
    };
    server.main_loop()
}

/// An open document.
struct Doc {
    uri: Uri,
    text: String,
    version: i32,
    /// The last check of `text` (`None` while `dirty`, or if the check panicked).
    analysis: Option<Analysis>,
    /// Changed since the last check.
    dirty: bool,
    /// Labels of the last clean check, offered for completion while the file is broken.
    labels: Vec<(String, String)>,
    /// The items of the last checks, to reuse where the text is unchanged.
    cache: ParseCache,
}

/// What was published on one URI, by the document whose check found it.
struct Published {
    uri: Uri,
    by_source: HashMap<String, Vec<lsp::Diagnostic>>,
}

struct Server<'a> {
    connection: &'a Connection,
    /// Open documents by key (see [`key`]).
    docs: HashMap<String, Doc>,
    /// Diagnostics published, by the key of the URI they are on.
    published: HashMap<String, Published>,
    /// Whether the client shows related information.
    related: bool,
    /// Messages read while looking ahead, not handled yet.
    pending: VecDeque<Message>,
}

/// A document's identity: the canonical path of a file, or the URI of anything else, so that
/// one file named by two spellings of its URI is one document.
fn key(uri: &Uri) -> String {
    match text::uri_to_path(uri) {
        Some(p) => std::fs::canonicalize(&p).unwrap_or(p).display().to_string(),
        None => uri.as_str().to_string(),
    }
}

/// The message of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

impl Server<'_> {
    fn main_loop(&mut self) -> Result<bool, ProtocolError> {
        loop {
            let msg = if let Some(m) = self.pending.pop_front() {
                m
            } else if self.docs.values().any(|d| d.dirty) {
                match self.connection.receiver.try_recv() {
                    Ok(m) => m,
                    Err(e) if e.is_empty() => {
                        // Nothing waiting: check what changed (coalescing a burst of edits).
                        self.check_dirty();
                        continue;
                    }
                    Err(_) => return Ok(false),
                }
            } else {
                match self.connection.receiver.recv() {
                    Ok(m) => m,
                    Err(_) => return Ok(false),
                }
            };
            match msg {
                Message::Request(req) => {
                    if self.connection.handle_shutdown(&req)? {
                        return Ok(true);
                    }
                    let resp = self.request(req);
                    self.send(resp.into());
                }
                Message::Notification(n) => {
                    if n.method == lsp::notification::Exit::METHOD {
                        return Ok(false);
                    }
                    self.notification(n);
                }
                Message::Response(_) => {}
            }
        }
    }

    fn send(&self, msg: Message) {
        // The client is gone if this fails; the loop ends when the receiver says so.
        let _ = self.connection.sender.send(msg);
    }

    fn log(&self, message: String) {
        self.send(
            Notification::new(
                lsp::notification::LogMessage::METHOD.into(),
                lsp::LogMessageParams { typ: lsp::MessageType::LOG, message },
            )
            .into(),
        );
    }

    // ----------------------------------------------------------------------------------------
    // Notifications: the documents' text.
    // ----------------------------------------------------------------------------------------

    fn notification(&mut self, n: Notification) {
        use lsp::notification::*;
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params)
                else {
                    return;
                };
                let d = p.text_document;
                self.docs.insert(
                    key(&d.uri),
                    Doc {
                        uri: d.uri,
                        text: d.text,
                        version: d.version,
                        analysis: None,
                        dirty: true,
                        labels: Vec::new(),
                        cache: ParseCache::new(),
                    },
                );
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params)
                else {
                    return;
                };
                let Some(doc) = self.docs.get_mut(&key(&p.text_document.uri)) else { return };
                for c in &p.content_changes {
                    text::apply_change(&mut doc.text, c);
                }
                doc.version = p.text_document.version;
                doc.dirty = true;
                doc.analysis = None;
            }
            DidSaveTextDocument::METHOD => {
                // Other documents may import the saved file: check them again.
                let Ok(p) = serde_json::from_value::<lsp::DidSaveTextDocumentParams>(n.params)
                else {
                    return;
                };
                let saved = key(&p.text_document.uri);
                for (k, d) in self.docs.iter_mut() {
                    if *k != saved {
                        d.dirty = true;
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params)
                else {
                    return;
                };
                let k = key(&p.text_document.uri);
                if self.docs.remove(&k).is_some() {
                    self.publish(&k, &p.text_document.uri, None, Vec::new());
                }
            }
            _ => {}
        }
    }

    /// Checks every changed document and publishes its diagnostics.
    fn check_dirty(&mut self) {
        let dirty: Vec<String> =
            self.docs.iter().filter(|(_, d)| d.dirty).map(|(k, _)| k.clone()).collect();
        for k in dirty {
            self.check(&k);
        }
    }

    /// Checks one document: diagnostics first, then (when nothing else is waiting) the
    /// facts that say whether its constraints can be met, as `nasc check` does.
    fn check(&mut self, k: &str) {
        let Some(doc) = self.docs.get_mut(k) else { return };
        doc.dirty = false;
        let (uri, version) = (doc.uri.clone(), doc.version);
        let related = self.related;
        // The previous check is dropped after this one is published.
        let previous = doc.analysis.take();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let a = Analysis::with_cache(&doc.uri, &doc.text, &mut doc.cache);
            let (diags, dropped) = a.diagnostics(&[], related);
            (a, diags, dropped)
        }));
        let (diags, dropped, constrained) = match result {
            Ok((a, diags, dropped)) => {
                if a.checked.diagnostics.is_empty() {
                    doc.labels = a.label_names();
                }
                let constrained = a.checked.diagnostics.is_empty()
                    && a.checked.graphs.iter().any(|g| !g.constraints.is_empty());
                doc.analysis = Some(a);
                (diags, dropped, constrained)
            }
            Err(p) => {
                doc.analysis = None;
                // The cache may hold half-done work.
                doc.cache = ParseCache::new();
                let d = lsp::Diagnostic {
                    range: lsp::Range::default(),
                    severity: Some(lsp::DiagnosticSeverity::ERROR),
                    code: Some(lsp::NumberOrString::String("internal".into())),
                    source: Some("nasc".into()),
                    message: format!(
                        "nasc crashed while checking this file (a bug in nasc): {}",
                        panic_message(&*p)
                    ),
                    ..Default::default()
                };
                (vec![(Target::Document, d)], Vec::new(), false)
            }
        };
        for note in dropped {
            self.log(note);
        }
        self.publish(k, &uri, Some(version), diags);
        drop(previous);
        // The facts can take a while (they cost every architecture of a small space): only
        // when no message is waiting, and not at all if one arrives first.
        if constrained && self.idle() {
            let Some(a) = self.docs.get(k).and_then(|d| d.analysis.as_ref()) else { return };
            let extra = catch_unwind(AssertUnwindSafe(|| {
                let unsat = nasc_front::driver::unsatisfiable(&a.checked.graphs);
                if unsat.is_empty() {
                    None
                } else {
                    Some(a.diagnostics(&unsat, related).0)
                }
            }));
            if let Ok(Some(all)) = extra {
                self.publish(k, &uri, Some(version), all);
            }
        }
        // The types hover shows are recorded by the first hover that needs them, not here:
        // recording them when idle delayed the diagnostics of a change typed meanwhile.
    }

    /// Whether no message is waiting (one that is, is kept for the main loop).
    fn idle(&mut self) -> bool {
        match self.connection.receiver.try_recv() {
            Ok(m) => {
                self.pending.push_back(m);
                false
            }
            Err(e) => !e.is_disconnected(),
        }
    }

    /// Publishes the diagnostics the check of document `source` found, replacing what that
    /// check published before, on the document and on every other file concerned.
    fn publish(
        &mut self,
        source: &str,
        uri: &Uri,
        version: Option<i32>,
        diags: Vec<(Target, lsp::Diagnostic)>,
    ) {
        let mut by_target: HashMap<String, (Uri, Vec<lsp::Diagnostic>)> = HashMap::new();
        by_target.insert(source.to_string(), (uri.clone(), Vec::new()));
        for (t, d) in diags {
            let (k, u) = match t {
                Target::Document => (source.to_string(), uri.clone()),
                Target::File(u) => (key(&u), u),
            };
            by_target.entry(k).or_insert_with(|| (u, Vec::new())).1.push(d);
        }
        // Targets this source published on before and no longer does.
        for (k, p) in &self.published {
            if p.by_source.contains_key(source) && !by_target.contains_key(k) {
                by_target.insert(k.clone(), (p.uri.clone(), Vec::new()));
            }
        }
        for (k, (u, list)) in by_target {
            let entry = self
                .published
                .entry(k.clone())
                .or_insert_with(|| Published { uri: u.clone(), by_source: HashMap::new() });
            if list.is_empty() {
                entry.by_source.remove(source);
            } else {
                entry.by_source.insert(source.to_string(), list);
            }
            // Publish under the URI the client opened the document with, if it is open.
            let target_uri = self.docs.get(&k).map_or(u, |d| d.uri.clone());
            let mut all: Vec<lsp::Diagnostic> = Vec::new();
            let mut sources: Vec<&String> = entry.by_source.keys().collect();
            sources.sort();
            for s in sources {
                for d in &entry.by_source[s] {
                    if !all.contains(d) {
                        all.push(d.clone());
                    }
                }
            }
            let version = if k == source { version } else { None };
            if entry.by_source.is_empty() {
                self.published.remove(&k);
            }
            self.send(
                Notification::new(
                    lsp::notification::PublishDiagnostics::METHOD.into(),
                    lsp::PublishDiagnosticsParams { uri: target_uri, diagnostics: all, version },
                )
                .into(),
            );
        }
    }

    // ----------------------------------------------------------------------------------------
    // Requests.
    // ----------------------------------------------------------------------------------------

    fn request(&mut self, req: Request) -> Response {
        use lsp::request::*;
        let id = req.id.clone();
        match req.method.as_str() {
            HoverRequest::METHOD => self.on_doc::<HoverRequest>(
                req,
                |a, _, p| a.hover(p.text_document_position_params.position),
                |p| &p.text_document_position_params.text_document.uri,
            ),
            GotoDefinition::METHOD => self.on_doc::<GotoDefinition>(
                req,
                |a, _, p| {
                    let locs = a.definition(p.text_document_position_params.position);
                    (!locs.is_empty()).then_some(lsp::GotoDefinitionResponse::Array(locs))
                },
                |p| &p.text_document_position_params.text_document.uri,
            ),
            DocumentSymbolRequest::METHOD => self.on_doc::<DocumentSymbolRequest>(
                req,
                |a, _, _| Some(lsp::DocumentSymbolResponse::Nested(a.symbols())),
                |p| &p.text_document.uri,
            ),
            SemanticTokensFullRequest::METHOD => self.on_doc::<SemanticTokensFullRequest>(
                req,
                |a, _, _| {
                    let scope = &a.program().modules[0].scope;
                    let from_std = |name: &str| {
                        scope.get(name).is_some_and(|r| {
                            matches!(
                                a.program().sources.get(a.program().modules[r.module].file).origin,
                                nasc_front::source::Origin::Stdlib(_)
                            )
                        })
                    };
                    let data = semantic::tokens(a.text(), &from_std);
                    Some(lsp::SemanticTokensResult::Tokens(lsp::SemanticTokens {
                        result_id: None,
                        data,
                    }))
                },
                |p| &p.text_document.uri,
            ),
            Completion::METHOD => self.on_doc::<Completion>(
                req,
                |a, doc, p| {
                    let offset = a.offset(p.text_document_position.position);
                    Some(lsp::CompletionResponse::Array(completion::complete(
                        a,
                        &doc.text,
                        offset,
                        &doc.labels,
                    )))
                },
                |p| &p.text_document_position.text_document.uri,
            ),
            _ => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("nasc lsp does not handle `{}`", req.method),
            ),
        }
    }

    /// Answers a request about one document: parses its parameters, makes sure the document
    /// is checked, and runs `f` under `catch_unwind`. A document that is not open, or whose
    /// check crashed, gets a null result.
    fn on_doc<R: lsp::request::Request>(
        &mut self,
        req: Request,
        f: impl FnOnce(&Analysis, &Doc, R::Params) -> R::Result,
        uri_of: impl FnOnce(&R::Params) -> &Uri,
    ) -> Response {
        let id: RequestId = req.id;
        let params: R::Params = match serde_json::from_value(req.params) {
            Ok(p) => p,
            Err(e) => return Response::new_err(id, ErrorCode::InvalidParams as i32, e.to_string()),
        };
        let k = key(uri_of(&params));
        if self.docs.get(&k).is_some_and(|d| d.dirty) {
            self.check(&k);
        }
        let Some(doc) = self.docs.get(&k) else {
            return Response::new_ok(id, serde_json::Value::Null);
        };
        let Some(a) = doc.analysis.as_ref() else {
            return Response::new_ok(id, serde_json::Value::Null);
        };
        match catch_unwind(AssertUnwindSafe(|| f(a, doc, params))) {
            Ok(result) => Response::new_ok(id, result),
            Err(p) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("nasc panicked: {}", panic_message(&*p)),
            ),
        }
    }
}
