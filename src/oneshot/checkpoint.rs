//! The checkpoint of a one-shot search: everything the loop of [`run`](super::run) and its
//! strategy need to go on after the epoch it was written at, in one file of the experiment's
//! directory ([`FILE`]), rewritten at the end of every epoch.
//!
//! The file: the magic bytes `NASCCKPT`, the length of a JSON header (8 bytes, little endian),
//! the header (the format, what identifies the search: nasc's version, the hash of the space's
//! text and the strategy's configuration; the loop's position; the strategy's small state such
//! as its random generators; the names and lengths of the binary parts), the binary parts one
//! after the other (burn's records in burnpack form: the supernet's weights, its optimizer's
//! state, the strategy's parameters and optimizers), and an FNV-1a hash of everything before it
//! (8 bytes), so that a damaged file is refused instead of read.
//!
//! It is written atomically: to a temporary file beside it, flushed to the disk (`fsync`), then
//! renamed over the previous checkpoint (and the directory flushed), so that a process killed
//! while writing leaves the previous checkpoint as it was.

use crate::runtime::RuntimeError;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The checkpoint's file name in the experiment's directory.
pub const FILE: &str = "oneshot.ckpt";

/// The first bytes of a checkpoint.
const MAGIC: &[u8; 8] = b"NASCCKPT";

/// The version of the file's layout.
const FORMAT: u32 = 1;

/// Where a one-shot search keeps its checkpoint and what identifies the search (a checkpoint of
/// another space, settings or nasc version is refused).
#[derive(Debug, Clone)]
pub struct Checkpointing {
    /// The checkpoint file (`DIR/oneshot.ckpt`).
    pub path: PathBuf,
    /// The hash of the space's text ([`crate::experiment::hash_space`]).
    pub space_hash: String,
    /// Whether to continue from the checkpoint when there is one (`--resume`); a new search
    /// starts from scratch and overwrites it.
    pub resume: bool,
}

/// What identifies the search a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Identity {
    /// The version of nasc that wrote it.
    pub nasc: String,
    /// The hash of the space's text.
    pub space_hash: String,
    /// The strategy and its settings, as the store keeps them.
    pub config: serde_json::Value,
}

/// Where the loop stood when the checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Position {
    /// The epochs finished (from 1): the next epoch is `epoch + 1`.
    pub epoch: usize,
    /// The weight steps taken over the whole search (the learning-rate schedule's position).
    pub step: usize,
    /// How many times the training data was put in a new order (one per epoch).
    pub train_orders: usize,
    /// How many times the validation data was put in a new order.
    pub val_orders: usize,
    /// The last trial recorded before the checkpoint (none: no trial yet); trials after it
    /// belong to an export that was interrupted and are dropped on resume.
    pub last_trial: Option<u64>,
}

/// A strategy's own state: small values in JSON, and named binary parts (burn's records).
#[derive(Debug, Default)]
pub(super) struct StrategyState {
    /// Small values: random generators, a baseline.
    pub json: serde_json::Value,
    /// Records, by name.
    pub parts: Vec<(String, Vec<u8>)>,
}

impl StrategyState {
    /// The part named `name`.
    ///
    /// Errors: no such part (a message for [`RuntimeError::Record`]).
    pub fn part(&self, name: &str) -> Result<&[u8], String> {
        self.parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| format!("it holds no `{name}`"))
    }

    /// The JSON value `key` as a `T`.
    ///
    /// Errors: missing or of another type.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<T, String> {
        let v = self.json.get(key).ok_or_else(|| format!("it holds no `{key}`"))?;
        serde_json::from_value(v.clone()).map_err(|e| format!("its `{key}` is unreadable: {e}"))
    }
}

/// A checkpoint as read: the loop's position, its own parts and the strategy's state.
#[derive(Debug)]
pub(super) struct Checkpoint {
    /// Where the loop stood.
    pub position: Position,
    /// The loop's parts (`supernet`, `weights_optimizer`).
    pub parts: Vec<(String, Vec<u8>)>,
    /// The strategy's state.
    pub strategy: StrategyState,
}

impl Checkpoint {
    /// The loop's part named `name`.
    ///
    /// Errors: no such part.
    pub fn part(&self, name: &str) -> Result<&[u8], String> {
        self.parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
            .ok_or_else(|| format!("it holds no `{name}`"))
    }
}

/// The JSON header of the file.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: u32,
    identity: Identity,
    position: Position,
    strategy: serde_json::Value,
    /// `(name, length)` of every binary part, in the file's order; the strategy's names start
    /// with `strategy.`.
    parts: Vec<(String, u64)>,
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The error of checkpoint `path`.
fn error(path: &Path, message: impl Into<String>) -> RuntimeError {
    RuntimeError::Record { path: path.display().to_string(), message: message.into() }
}

/// Writes the checkpoint atomically (see the module documentation).
///
/// Errors: [`RuntimeError::Record`] when the file cannot be written; the previous checkpoint is
/// then left as it was.
pub(super) fn write(
    path: &Path,
    identity: &Identity,
    position: &Position,
    parts: &[(String, Vec<u8>)],
    strategy: &StrategyState,
) -> Result<(), RuntimeError> {
    let all: Vec<(String, &[u8])> = parts
        .iter()
        .map(|(n, b)| (n.clone(), b.as_slice()))
        .chain(strategy.parts.iter().map(|(n, b)| (format!("strategy.{n}"), b.as_slice())))
        .collect();
    let header = Header {
        format: FORMAT,
        identity: identity.clone(),
        position: *position,
        strategy: strategy.json.clone(),
        parts: all.iter().map(|(n, b)| (n.clone(), b.len() as u64)).collect(),
    };
    let header = serde_json::to_vec(&header)
        .map_err(|e| error(path, format!("cannot write the checkpoint: {e}")))?;
    let mut bytes =
        Vec::with_capacity(16 + header.len() + all.iter().map(|(_, b)| b.len()).sum::<usize>() + 8);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&header);
    for (_, b) in &all {
        bytes.extend_from_slice(b);
    }
    let sum = fnv1a(&bytes);
    bytes.extend_from_slice(&sum.to_le_bytes());
    let tmp = path.with_extension("ckpt.tmp");
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself reaches the disk when the directory is flushed.
        if let Some(dir) = path.parent() {
            if let Ok(d) =
                std::fs::File::open(if dir.as_os_str().is_empty() { Path::new(".") } else { dir })
            {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        error(path, format!("cannot write the checkpoint: {e}"))
    })
}

/// Reads the checkpoint at `path`, written for `identity`. `Ok(None)` when there is none (the
/// search starts from scratch).
///
/// Errors: [`RuntimeError::Record`] naming the file when it is unreadable, damaged, of another
/// format or nasc version, or of another space or settings.
pub(super) fn read(path: &Path, identity: &Identity) -> Result<Option<Checkpoint>, RuntimeError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(error(path, format!("cannot read the checkpoint: {e}"))),
    };
    let damaged = || {
        error(
            path,
            "the checkpoint is damaged (truncated or altered); delete it to start the search over",
        )
    };
    if bytes.len() < 24 || &bytes[..8] != MAGIC {
        return Err(error(path, "not a nasc checkpoint"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let sum = u64::from_le_bytes(sum.try_into().map_err(|_| damaged())?);
    if fnv1a(body) != sum {
        return Err(damaged());
    }
    let len = u64::from_le_bytes(body[8..16].try_into().map_err(|_| damaged())?);
    let len = usize::try_from(len).ok().filter(|l| *l <= body.len() - 16).ok_or_else(damaged)?;
    let header: Header = serde_json::from_slice(&body[16..16 + len]).map_err(|_| damaged())?;
    if header.format != FORMAT {
        return Err(error(
            path,
            format!(
                "the checkpoint's format {} is not this nasc's ({FORMAT}); start a new search",
                header.format
            ),
        ));
    }
    if header.identity.nasc != identity.nasc {
        return Err(error(
            path,
            format!(
                "the checkpoint was written by nasc {}, this is nasc {}: it cannot be resumed by another version",
                header.identity.nasc, identity.nasc
            ),
        ));
    }
    if header.identity.space_hash != identity.space_hash {
        return Err(error(
            path,
            "the checkpoint belongs to another space; delete it to start the search over",
        ));
    }
    if header.identity.config != identity.config {
        return Err(error(
            path,
            "the checkpoint belongs to a search with other settings; delete it to start the search over",
        ));
    }
    let mut at = 16 + len;
    let mut parts = Vec::new();
    let mut strategy = StrategyState { json: header.strategy, parts: Vec::new() };
    for (name, n) in header.parts {
        let n = usize::try_from(n).ok().filter(|n| *n <= body.len() - at).ok_or_else(damaged)?;
        let b = body[at..at + n].to_vec();
        at += n;
        match name.strip_prefix("strategy.") {
            Some(s) => strategy.parts.push((s.to_string(), b)),
            None => parts.push((name, b)),
        }
    }
    if at != body.len() {
        return Err(damaged());
    }
    Ok(Some(Checkpoint { position: header.position, parts, strategy }))
}

/// The state of a ChaCha8 generator: its seed, stream and position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RngState {
    seed: Vec<u8>,
    stream: u64,
    /// The position in words (a `u128`, as a decimal string).
    word_pos: String,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &ChaCha8Rng) -> RngState {
        RngState {
            seed: rng.get_seed().to_vec(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// The generator in this state.
    ///
    /// Errors: a malformed state.
    pub fn rng(&self) -> Result<ChaCha8Rng, String> {
        use rand::SeedableRng;
        let seed: [u8; 32] = self
            .seed
            .as_slice()
            .try_into()
            .map_err(|_| "a random generator's seed is malformed")?;
        let pos: u128 =
            self.word_pos.parse().map_err(|_| "a random generator's position is malformed")?;
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(pos);
        Ok(rng)
    }
}

/// burn's record of `module` (burnpack bytes).
///
/// Errors: the record cannot be serialised.
pub(super) fn module_bytes<M: burn::module::Module>(module: &M) -> Result<Vec<u8>, String> {
    module.clone().into_record().into_bytes().map(|b| b.to_vec()).map_err(|e| e.to_string())
}

/// `module` with the parameters (and their ids, which optimizer states refer to) of the record
/// `bytes`.
///
/// Errors: a record that does not fit the module.
pub(super) fn load_module<M: burn::module::Module>(module: M, bytes: &[u8]) -> Result<M, String> {
    let record =
        burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
            .map_err(|e| e.to_string())?;
    module.try_load_record(record).map_err(|e| {
        let m = e.to_string();
        m.lines().next().unwrap_or(&m).chars().take(200).collect()
    })
}

/// burn's record of an optimizer's state (burnpack bytes).
///
/// Errors: the record cannot be serialised.
pub(super) fn optimizer_bytes(optim: &burn::optim::ModuleOptimizer) -> Result<Vec<u8>, String> {
    optim.into_bytes().map(|b| b.to_vec()).map_err(|e| e.to_string())
}

/// `optim` with the state of the record `bytes`.
///
/// Errors: an unreadable record.
pub(super) fn load_optimizer(
    optim: burn::optim::ModuleOptimizer,
    bytes: &[u8],
) -> Result<burn::optim::ModuleOptimizer, String> {
    optim.from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oneshot::mixing::ArchParams;
    use burn::module::Param;
    use burn::optim::decay::WeightDecayConfig;
    use burn::optim::momentum::MomentumConfig;
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
    use burn::tensor::{Device, Tensor, TensorData};

    fn params(values: &[f32], device: &Device) -> ArchParams {
        let t = Tensor::<1>::from_data(TensorData::new(values.to_vec(), [values.len()]), device);
        ArchParams { alpha: vec![Param::from_tensor(t.require_grad())] }
    }

    fn step(p: ArchParams, optim: &mut ModuleOptimizer) -> ArchParams {
        let x = p.alpha[0].val();
        let loss = (x.clone() * x.clone() * x).sum();
        let mut g = loss.backward();
        let ids: Vec<_> = p.alpha.iter().map(|a| a.id).collect();
        let grads = GradientsParams::from_params(&mut g, &p, &ids);
        optim.step(0.1, p, grads)
    }

    fn values(p: &ArchParams) -> Vec<f32> {
        p.alpha[0].val().into_data().try_into_vec_as::<f32>().expect("floats")
    }

    /// Parameters and an optimizer's state written to bytes and read back into freshly built
    /// ones give the very next step the uninterrupted run takes.
    #[test]
    fn optimizer_state_survives_the_round_trip() {
        let device = Device::flex().autodiff();
        let optims: [fn() -> ModuleOptimizer; 2] = [
            || {
                AdamConfig::new()
                    .with_beta_1(0.5)
                    .with_weight_decay(Some(WeightDecayConfig::new(1e-3)))
                    .init()
            },
            || {
                SgdConfig::new()
                    .with_momentum(Some(MomentumConfig {
                        momentum: 0.9,
                        dampening: 0.0,
                        nesterov: false,
                    }))
                    .init()
            },
        ];
        for make in optims {
            let mut optim = make();
            let mut p = params(&[0.3, -0.2, 0.7], &device);
            for _ in 0..3 {
                p = step(p, &mut optim);
            }
            let (pb, ob) =
                (module_bytes(&p).expect("record"), optimizer_bytes(&optim).expect("ok"));
            let fresh = params(&[0.0, 0.0, 0.0], &device);
            let mut q = load_module(fresh, &pb).expect("loads");
            let mut optim2 = load_optimizer(make(), &ob).expect("loads");
            assert_eq!(values(&q), values(&p));
            assert_eq!(q.alpha[0].id, p.alpha[0].id, "the parameter keeps its id");
            for _ in 0..2 {
                p = step(p, &mut optim);
                q = step(q, &mut optim2);
                assert_eq!(values(&q), values(&p));
            }
        }
    }

    fn identity() -> Identity {
        Identity {
            nasc: "1.0.0".into(),
            space_hash: "abc".into(),
            config: serde_json::json!({ "strategy": "darts", "lr": 0.025 }),
        }
    }

    fn position() -> Position {
        Position { epoch: 2, step: 6, train_orders: 2, val_orders: 3, last_trial: None }
    }

    #[test]
    fn a_checkpoint_reads_back_what_was_written() {
        let dir = std::env::temp_dir().join(format!("nasc-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(FILE);
        let parts = vec![("supernet".to_string(), vec![1, 2, 3]), ("w".to_string(), vec![])];
        let state = StrategyState {
            json: serde_json::json!({ "baseline": 7 }),
            parts: vec![("alpha".into(), vec![9; 100])],
        };
        assert!(read(&path, &identity()).expect("none yet").is_none());
        write(&path, &identity(), &position(), &parts, &state).expect("writes");
        let cp = read(&path, &identity()).expect("reads").expect("there");
        assert_eq!(cp.position, position());
        assert_eq!(cp.part("supernet"), Ok(&[1u8, 2, 3][..]));
        assert_eq!(cp.strategy.part("alpha").map(<[u8]>::len), Ok(100));
        assert_eq!(cp.strategy.get::<u64>("baseline"), Ok(7));
        assert!(!path.with_extension("ckpt.tmp").exists(), "no temporary file is left");

        // A write killed before its rename leaves a partial temporary file: the checkpoint is
        // the previous one.
        std::fs::write(path.with_extension("ckpt.tmp"), b"NASCCKPT partial").expect("writes");
        assert_eq!(read(&path, &identity()).expect("reads").expect("there").position, position());

        // Another version, space or settings, and a damaged file: refused, naming the file.
        let refused = |id: &Identity, want: &str| {
            let e = read(&path, id).expect_err("refused").to_string();
            assert!(e.contains(&path.display().to_string()) && e.contains(want), "{e}");
        };
        refused(&Identity { nasc: "2.0.0".into(), ..identity() }, "written by nasc 1.0.0");
        refused(&Identity { space_hash: "xyz".into(), ..identity() }, "another space");
        refused(
            &Identity { config: serde_json::json!({ "strategy": "enas" }), ..identity() },
            "other settings",
        );
        let bytes = std::fs::read(&path).expect("reads");
        for cut in [0, 10, 30, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..cut]).expect("writes");
            let e = read(&path, &identity()).expect_err("refused").to_string();
            assert!(e.contains(FILE), "{e}");
        }
        let mut flipped = bytes.clone();
        flipped[40] ^= 1;
        std::fs::write(&path, &flipped).expect("writes");
        let e = read(&path, &identity()).expect_err("refused").to_string();
        assert!(e.contains("damaged"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
