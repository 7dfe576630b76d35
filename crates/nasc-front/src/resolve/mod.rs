//! The name stage: loads a file and everything it imports (from the embedded standard library
//! or relative to the importing file), then checks every name: imports, calls and their
//! arguments, variables, types, reductions and explicit choice labels.
//!
//! Input: a root path or text. Output: a [`Program`] (every module's AST and item table) plus
//! typed [`ResolveError`]s located in files; `crate::diagnostics::wording` words them.

mod names;

use crate::source::{FileId, Loc, Origin, SourceFile, SourceMap, Span};
use crate::stdlib;
use crate::syntax::ast::{self, Item};
use crate::syntax::parser::{parse_module, parse_module_cached, ParseCache, SyntaxError};
use rustc_hash::FxHashMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use names::check_names;

/// Where an item lives: module index and item index in that module's AST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemRef {
    /// Index into [`Program::modules`].
    pub module: usize,
    /// Index into that module's `ast.items`.
    pub item: usize,
}

/// One loaded module.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    /// `std.ops` for the standard library, the path otherwise.
    pub name: String,
    /// Its source file.
    pub file: FileId,
    /// Its syntax tree (items with syntax errors left out).
    pub ast: ast::Module,
    /// Names visible at the top level of the module: its own items, then imported ones, then
    /// the prelude's.
    pub scope: FxHashMap<String, ItemRef>,
    /// For each `import` item in source order, the index of the module it loaded (`None` where
    /// the module could not be loaded).
    pub imports: Vec<Option<usize>>,
    /// The prelude module, implicitly imported (`None` for the prelude itself).
    pub prelude: Option<usize>,
}

/// Everything loaded for one compilation.
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// The text of every file.
    pub sources: SourceMap,
    /// Every module, the root first.
    pub modules: Vec<LoadedModule>,
}

impl Program {
    /// The item an [`ItemRef`] points at.
    pub fn item(&self, r: ItemRef) -> &Item {
        &self.modules[r.module].ast.items[r.item]
    }

    /// Where the item's name is written.
    pub fn item_loc(&self, r: ItemRef) -> Loc {
        let m = &self.modules[r.module];
        let span = match self.item(r) {
            Item::Block(b) => b.name.span,
            Item::Op(o) => o.name.span,
            Item::Import(i) => i.span,
        };
        Loc::new(m.file, span)
    }
}

/// A problem found while loading or resolving, typed; worded in `crate::diagnostics::wording`.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolveError {
    /// A syntax error in a loaded file.
    Syntax(SyntaxError),
    /// The file is not valid UTF-8 (E0006); `offset` is the first bad byte.
    InvalidUtf8 {
        /// The first invalid byte.
        offset: usize,
    },
    /// A name that is not in scope (E0010).
    UnknownName {
        /// The use.
        span: Span,
        /// The name.
        name: String,
        /// A close name in scope.
        suggestion: Option<String>,
    },
    /// A call of a block or operator that does not exist (E0011).
    UnknownCallee {
        /// The callee's name.
        span: Span,
        /// The name.
        name: String,
        /// A close block or operator name.
        suggestion: Option<String>,
    },
    /// Something defined twice in the same place (E0012).
    Duplicate {
        /// The second definition.
        span: Span,
        /// The name.
        name: String,
        /// What was defined: "block", "parameter", "alternative", ...
        what: &'static str,
        /// The first definition.
        first: Loc,
    },
    /// An import of a module that does not exist (E0013).
    UnknownModule {
        /// The module path.
        span: Span,
        /// The dotted path.
        module: String,
        /// Where it was looked for.
        looked_at: String,
        /// A close module name.
        suggestion: Option<String>,
    },
    /// Modules that import each other (E0014).
    ImportCycle {
        /// The import that closes the cycle.
        span: Span,
        /// The modules in the cycle, starting and ending with the same one.
        cycle: Vec<String>,
    },
    /// `import m.{x}` where `m` has no `x` (E0015).
    UnknownImport {
        /// The imported name.
        span: Span,
        /// The name.
        name: String,
        /// The module.
        module: String,
        /// A close name in the module.
        suggestion: Option<String>,
    },
    /// A keyword argument that the callee does not have (E0016).
    UnknownKeyword {
        /// The keyword.
        span: Span,
        /// The keyword.
        name: String,
        /// The callee.
        callee: String,
        /// A close parameter name.
        suggestion: Option<String>,
        /// The callee's definition.
        def: Loc,
    },
    /// More positional arguments than parameters (E0017).
    TooManyArguments {
        /// The first extra argument.
        span: Span,
        /// The callee.
        callee: String,
        /// How many parameters it has.
        expected: usize,
        /// How many positional arguments were given.
        given: usize,
        /// The callee's definition.
        def: Loc,
    },
    /// Required parameters that were not given (E0018).
    MissingArguments {
        /// The call.
        span: Span,
        /// The callee.
        callee: String,
        /// The missing parameters, in order.
        missing: Vec<String>,
        /// The callee's definition.
        def: Loc,
    },
    /// A parameter given twice, positionally and by keyword or twice by keyword (E0019).
    ArgumentTwice {
        /// The second argument.
        span: Span,
        /// The parameter.
        name: String,
        /// The first argument.
        first: Span,
    },
    /// One explicit label used for choices with different domains (E0020).
    LabelDomain {
        /// The second choice.
        span: Span,
        /// The label.
        label: String,
        /// The second domain, as written.
        domain: String,
        /// The first choice.
        first: Loc,
        /// The first domain.
        first_domain: String,
    },
    /// A type name that does not exist (E0021).
    UnknownType {
        /// The type name.
        span: Span,
        /// The name.
        name: String,
        /// A close type name.
        suggestion: Option<String>,
    },
    /// A `reduce` that is not `sum`, `mean` or `concat` (E0022).
    UnknownReduction {
        /// The reduction.
        span: Span,
        /// The name.
        name: String,
        /// A close reduction.
        suggestion: Option<String>,
    },
    /// A block or network without a `return` as its last statement (E0023).
    MissingReturn {
        /// The block's name.
        span: Span,
        /// The block.
        block: String,
        /// The body's closing brace.
        end: Span,
    },
    /// An operator clause other than `params = ...` or `flops = ...` (E0024).
    UnknownMeasure {
        /// The clause's name.
        span: Span,
        /// The name.
        name: String,
        /// A close measure.
        suggestion: Option<String>,
    },
    /// A value called as if it were a block (E0025).
    NotCallable {
        /// The call's callee.
        span: Span,
        /// The name.
        name: String,
        /// Where the value is bound.
        bound: Span,
    },
    /// A block or operator used as a value (E0026).
    NotAValue {
        /// The use.
        span: Span,
        /// The name.
        name: String,
        /// Its definition.
        def: Loc,
    },
    /// Statements after a `return` (E0027).
    AfterReturn {
        /// The first statement after the return.
        span: Span,
        /// The return.
        ret: Span,
    },
}

/// A [`ResolveError`] in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The file the primary span is in.
    pub file: FileId,
    /// The error.
    pub error: ResolveError,
}

/// Failure to read the file named on the command line (not a diagnostic: exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path}: {source}")]
pub struct ReadError {
    /// The path given.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Loads `path` and everything it imports, then resolves every name.
///
/// Errors: a [`ReadError`] if `path` itself cannot be read; problems inside the files are
/// returned as located errors, sorted by file and position, next to the program.
pub fn load_path(path: &Path) -> Result<(Program, Vec<Located>), ReadError> {
    let bytes = std::fs::read(path)
        .map_err(|source| ReadError { path: path.display().to_string(), source })?;
    Ok(load_bytes(&path.display().to_string(), Origin::Disk(path.to_path_buf()), &bytes))
}

/// Loads a root file given as bytes (an editor buffer, a test) named `name`, resolving
/// relative imports against `origin`'s directory when it is on disk.
pub fn load_bytes(name: &str, origin: Origin, bytes: &[u8]) -> (Program, Vec<Located>) {
    load(name, origin, bytes, None)
}

/// Like [`load_bytes`], parsing every file loaded (the root, the standard library's modules,
/// imported files) with `cache`: the items whose text is unchanged since an earlier load with
/// the same cache are reused, not parsed again (see [`parse_module_cached`]). The result is the
/// same as [`load_bytes`]'s.
pub fn load_bytes_cached(
    name: &str,
    origin: Origin,
    bytes: &[u8],
    cache: &mut ParseCache,
) -> (Program, Vec<Located>) {
    load(name, origin, bytes, Some(cache))
}

fn load(
    name: &str,
    origin: Origin,
    bytes: &[u8],
    cache: Option<&mut ParseCache>,
) -> (Program, Vec<Located>) {
    let mut loader = Loader {
        program: Program::default(),
        errors: Vec::new(),
        by_key: HashMap::new(),
        stack: Vec::new(),
        shown: Vec::new(),
        cache,
    };
    loader.load(name.to_string(), origin, bytes.to_vec(), None);
    let Loader { mut program, mut errors, .. } = loader;
    let mut resolved = check_names(&mut program);
    errors.append(&mut resolved);
    errors.sort_by_key(|e| (e.file, primary_span(&e.error).start));
    (program, errors)
}

/// The primary span of an error.
pub fn primary_span(e: &ResolveError) -> Span {
    use ResolveError::*;
    match e {
        Syntax(s) => s.span(),
        InvalidUtf8 { offset } => Span::new(*offset, *offset),
        UnknownName { span, .. }
        | UnknownCallee { span, .. }
        | Duplicate { span, .. }
        | UnknownModule { span, .. }
        | ImportCycle { span, .. }
        | UnknownImport { span, .. }
        | UnknownKeyword { span, .. }
        | TooManyArguments { span, .. }
        | MissingArguments { span, .. }
        | ArgumentTwice { span, .. }
        | LabelDomain { span, .. }
        | UnknownType { span, .. }
        | UnknownReduction { span, .. }
        | MissingReturn { span, .. }
        | UnknownMeasure { span, .. }
        | NotCallable { span, .. }
        | NotAValue { span, .. }
        | AfterReturn { span, .. } => *span,
    }
}

/// Names longer than this (in bytes) get no suggestion and are never suggested: the edit
/// distance takes time and memory proportional to the product of the two lengths, and a
/// 100 MB name must not take minutes and gigabytes to report.
const SUGGEST_MAX_LEN: usize = 256;

/// The closest candidate to `name` by edit distance, if it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    if name.len() > SUGGEST_MAX_LEN {
        return None;
    }
    let name_len = name.chars().count();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name || c.len() > SUGGEST_MAX_LEN {
            continue;
        }
        let c_len = c.chars().count();
        // One edit in three characters: no suggestion at all for one- and two-letter names.
        let limit = name_len.max(c_len) / 3;
        // The distance is at least the difference in length.
        if name_len.abs_diff(c_len) > limit {
            continue;
        }
        let d = strsim::damerau_levenshtein(name, c);
        if d > 0 && d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

struct Loader<'c> {
    program: Program,
    errors: Vec<Located>,
    /// Module key (dotted std name or canonical path) -> index.
    by_key: HashMap<String, usize>,
    /// Keys of the modules being loaded, outermost first, for cycle detection.
    stack: Vec<String>,
    /// The same modules as users name them (the root's path, then the imports as written).
    shown: Vec<String>,
    /// Parsed items to reuse, if any.
    cache: Option<&'c mut ParseCache>,
}

/// A module found for an import.
enum Found {
    Std(String),
    Disk(PathBuf),
}

impl Loader<'_> {
    fn load(&mut self, name: String, origin: Origin, bytes: Vec<u8>, key: Option<String>) -> usize {
        let (text, bad) = match String::from_utf8(bytes) {
            Ok(t) => (t, None),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(offset))
            }
        };
        let is_prelude = matches!(&origin, Origin::Stdlib(m) if m == stdlib::PRELUDE);
        let base = match &origin {
            Origin::Disk(p) => p.parent().map(Path::to_path_buf),
            _ => None,
        };
        let from_std = matches!(origin, Origin::Stdlib(_));
        let file = self.program.sources.add(SourceFile::new(name.clone(), origin, text));
        let key = key.unwrap_or_else(|| match &self.program.sources.get(file).origin {
            Origin::Disk(p) => {
                std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()).display().to_string()
            }
            _ => name.clone(),
        });
        let (ast, syntax_errors) = match bad {
            Some(offset) => {
                self.errors.push(Located { file, error: ResolveError::InvalidUtf8 { offset } });
                (ast::Module::default(), Vec::new())
            }
            None => match self.cache.as_deref_mut() {
                Some(cache) => parse_module_cached(&self.program.sources.get(file).text, cache),
                None => parse_module(&self.program.sources.get(file).text),
            },
        };
        for e in syntax_errors {
            self.errors.push(Located { file, error: ResolveError::Syntax(e) });
        }
        let index = self.program.modules.len();
        self.program.modules.push(LoadedModule {
            name,
            file,
            ast,
            scope: FxHashMap::default(),
            imports: Vec::new(),
            prelude: None,
        });
        self.by_key.insert(key.clone(), index);
        self.stack.push(key);
        self.shown.push(match &self.program.sources.get(file).origin {
            Origin::Stdlib(m) => m.clone(),
            _ => self.program.modules[index].name.clone(),
        });

        let mut imports = Vec::new();
        let prelude = if is_prelude {
            None
        } else if let Some(&i) = self.by_key.get(stdlib::PRELUDE) {
            Some(i)
        } else {
            self.load_std(stdlib::PRELUDE, file, Span::default())
        };
        let import_decls: Vec<ast::Import> = self.program.modules[index]
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Import(imp) => Some(imp.clone()),
                _ => None,
            })
            .collect();
        for imp in &import_decls {
            let dotted = imp.dotted();
            let found = self.find(&dotted, base.as_deref(), from_std);
            let target = match found {
                Ok(Found::Std(m)) => self.load_std(&m, file, imp.path_span()),
                Ok(Found::Disk(p)) => self.load_disk(&p, file, imp.path_span()),
                Err(looked_at) => {
                    let all = stdlib::modules();
                    let suggestion = suggest(&dotted, all.iter().map(String::as_str));
                    self.errors.push(Located {
                        file,
                        error: ResolveError::UnknownModule {
                            span: imp.path_span(),
                            module: dotted,
                            looked_at,
                            suggestion,
                        },
                    });
                    None
                }
            };
            imports.push(target);
        }
        self.stack.pop();
        self.shown.pop();
        self.program.modules[index].imports = imports;
        self.program.modules[index].prelude = prelude;
        index
    }

    /// Finds the module an import names. `Err` carries where it was looked for.
    fn find(&self, dotted: &str, base: Option<&Path>, from_std: bool) -> Result<Found, String> {
        if dotted == "std" || dotted.starts_with("std.") {
            return match stdlib::source(dotted) {
                Some(_) => Ok(Found::Std(dotted.to_string())),
                None => Err("the standard library".to_string()),
            };
        }
        if from_std {
            return Err("the standard library".to_string());
        }
        let rel: PathBuf = format!("{}.nas", dotted.replace('.', "/")).into();
        let path = match base {
            Some(b) => b.join(&rel),
            None => rel.clone(),
        };
        if path.is_file() {
            Ok(Found::Disk(path))
        } else {
            Err(path.display().to_string())
        }
    }

    fn check_cycle(&mut self, key: &str, file: FileId, span: Span) -> bool {
        if let Some(pos) = self.stack.iter().position(|k| k == key) {
            let mut cycle: Vec<String> = self.shown[pos..].to_vec();
            cycle.push(self.shown[pos].clone());
            self.errors.push(Located { file, error: ResolveError::ImportCycle { span, cycle } });
            return true;
        }
        false
    }

    fn load_std(&mut self, module: &str, file: FileId, span: Span) -> Option<usize> {
        if self.check_cycle(module, file, span) {
            return None;
        }
        if let Some(&i) = self.by_key.get(module) {
            return Some(i);
        }
        let text = stdlib::source(module)?;
        let name = format!("<stdlib>/{}.nas", module.trim_start_matches("std.").replace('.', "/"));
        Some(self.load(
            name,
            Origin::Stdlib(module.to_string()),
            text.as_bytes().to_vec(),
            Some(module.to_string()),
        ))
    }

    fn load_disk(&mut self, path: &Path, file: FileId, span: Span) -> Option<usize> {
        let key = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        if self.check_cycle(&key, file, span) {
            return None;
        }
        if let Some(&i) = self.by_key.get(&key) {
            return Some(i);
        }
        match std::fs::read(path) {
            Ok(bytes) => Some(self.load(
                path.display().to_string(),
                Origin::Disk(path.to_path_buf()),
                bytes,
                Some(key),
            )),
            Err(e) => {
                self.errors.push(Located {
                    file,
                    error: ResolveError::UnknownModule {
                        span,
                        module: path.display().to_string(),
                        looked_at: format!("{} ({e})", path.display()),
                        suggestion: None,
                    },
                });
                None
            }
        }
    }
}
