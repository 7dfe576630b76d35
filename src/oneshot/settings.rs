//! The settings of a one-shot search: the [`CommonSettings`] every strategy shares (the data,
//! the weights' training, the scoring of architectures) and each strategy's own settings
//! ([`StrategySettings`]), each with the papers' and NNI's defaults, a typed check
//! ([`SettingsError`]) and a typed parse of the command line's `--option NAME=VALUE`
//! ([`OptionError`]).
//!
//! Serialized (the experiment store keeps the configuration as JSON), a [`OneShotConfig`] is
//! the common settings' fields, `"strategy": "<name>"` and the strategy's own settings under
//! `"settings"`. Configurations stored by earlier versions, one flat object of every setting of
//! every strategy, still read: see [`OneShotConfig`]'s `Deserialize`.

use crate::ir::Measure;
use crate::lower::OneShotKind;
use crate::runtime::train::Task;
use serde::{Deserialize, Serialize};

/// Why a setting is out of range (the message names the option or flag that sets it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// No epochs, an empty batch or no steps.
    #[error("--epochs, --batch-size and --max-steps must be at least 1")]
    Counts,
    /// The weights' learning rate is not in (0, 1].
    #[error("--lr must be in (0, 1]")]
    Lr,
    /// The end of the cosine schedule is not between 0 and the start.
    #[error(
        "option lr_min (the learning rate the cosine schedule ends at) must be between 0 and --lr"
    )]
    LrMin,
    /// The learning rate of alpha or of the controller is not a positive number.
    #[error("the architecture learning rate must be a positive number")]
    ArchLr,
    /// GumbelDARTS' temperatures are not positive or rise.
    #[error("the Gumbel temperatures must be positive, the first at least the last")]
    Temperatures,
    /// Proxyless' resource target is not a number above 1.
    #[error("the resource target must be a number above 1")]
    Target,
    /// ENAS updates its controller after no samples.
    #[error("option controller_aggregate must be at least 1")]
    ControllerAggregate,
    /// SPOS' evolution has a population below 2.
    #[error("option population must be at least 2")]
    Population,
    /// SPOS' tournament is empty or larger than the population.
    #[error("option tournament must be between 1 and the population")]
    Tournament,
    /// SPOS' evolution would score no candidate, so nothing could be exported.
    #[error("option search_candidates must be at least 1")]
    SearchCandidates,
    /// ENAS would score no architecture of its controller, so nothing could be exported.
    #[error("option top_k must be at least 1")]
    TopK,
    /// A candidate would be scored on no batches.
    #[error("option score_batches must be at least 1")]
    ScoreBatches,
}

/// Why `--option NAME=VALUE` was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    /// No one-shot strategy has an option of this name.
    #[error("`{strategy}` has no option `{name}`; its options are {}", valid.join(", "))]
    Unknown {
        /// The strategy's command-line name (`one-shot` for [`CommonSettings`], `alpha` for
        /// [`AlphaOptimizer`]).
        strategy: &'static str,
        /// The name given.
        name: String,
        /// The options the strategy takes.
        valid: Vec<&'static str>,
    },
    /// The value does not parse as the option's number.
    #[error("option `{name}` takes a number, not `{value}`")]
    NotANumber {
        /// The option.
        name: String,
        /// The value given.
        value: String,
    },
    /// The option is another strategy's: this strategy does not use it (the value parses).
    /// The command line warns and goes on, as earlier versions, which took every option for
    /// every strategy, went on silently.
    #[error(
        "`{strategy}` does not use option `{name}` (an option of {}); it is ignored",
        owners.join(", ")
    )]
    NotUsed {
        /// The strategy's command-line name.
        strategy: &'static str,
        /// The option.
        name: String,
        /// The strategies that use it.
        owners: Vec<&'static str>,
    },
}

/// Parses `value` as option `name`'s number.
fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, OptionError> {
    value
        .parse()
        .map_err(|_| OptionError::NotANumber { name: name.to_string(), value: value.to_string() })
}

/// The error for an option `name` that `owner`'s settings, with options `valid`, do not have.
fn unknown(owner: &'static str, name: &str, valid: &[&'static str]) -> OptionError {
    OptionError::Unknown { strategy: owner, name: name.to_string(), valid: valid.to_vec() }
}

/// The settings every one-shot strategy shares: the data, the training of the shared weights
/// (SGD with momentum, cosine learning-rate schedule, as DARTS' and NNI's) and the scoring of
/// architectures under the trained weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommonSettings {
    /// Epochs over the weights' half of the training data.
    pub epochs: usize,
    /// Items per batch (64, as DARTS and NNI).
    pub batch_size: usize,
    /// Seed of everything random: the split, the weights, alpha, the sampled paths.
    pub seed: u64,
    /// The task (classification or regression).
    pub task: Task,
    /// Weights: SGD learning rate at the start of the cosine schedule (0.025).
    pub lr: f64,
    /// Weights: learning rate at the end of the cosine schedule (0.001).
    pub lr_min: f64,
    /// Weights: SGD momentum (0.9).
    pub momentum: f64,
    /// Weights: L2 weight decay (3e-4).
    pub weight_decay: f64,
    /// Weights: gradient norm clipping (5; burn clips each tensor's norm, PyTorch's DARTS
    /// code the global norm).
    pub grad_clip: Option<f32>,
    /// Training batches that recalibrate a candidate's batch-norm statistics before it is
    /// scored (10).
    pub calibration_batches: usize,
    /// Validation batches that score a candidate (the same batches for every candidate; 16).
    pub score_batches: usize,
    /// Validation batches of the per-epoch figures (`None`: the whole validation split; 32).
    pub eval_batches: Option<usize>,
    /// At most this many weight steps per epoch (for quick runs).
    pub max_steps: Option<usize>,
}

impl Default for CommonSettings {
    /// DARTS' settings for the weights (Liu et al. 2019, section 3.1), 10 epochs.
    fn default() -> Self {
        CommonSettings {
            epochs: 10,
            batch_size: 64,
            seed: 0,
            task: Task::Classification,
            lr: 0.025,
            lr_min: 0.001,
            momentum: 0.9,
            weight_decay: 3e-4,
            grad_clip: Some(5.0),
            calibration_batches: 10,
            score_batches: 16,
            eval_batches: Some(32),
            max_steps: None,
        }
    }
}

impl CommonSettings {
    /// The names `--option` sets.
    pub const OPTIONS: &'static [&'static str] =
        &["lr_min", "calibration_batches", "score_batches"];

    /// Sets option `name` (one of [`CommonSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name (its strategy left empty),
    /// [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "lr_min" => self.lr_min = number(name, value)?,
            "calibration_batches" => self.calibration_batches = number(name, value)?,
            "score_batches" => self.score_batches = number(name, value)?,
            _ => return Err(unknown("one-shot", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the settings.
    ///
    /// Errors: the first setting out of range.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.epochs == 0 || self.batch_size == 0 || self.max_steps == Some(0) {
            return Err(SettingsError::Counts);
        }
        if !(self.lr > 0.0 && self.lr <= 1.0) {
            return Err(SettingsError::Lr);
        }
        if !(self.lr_min >= 0.0 && self.lr_min <= self.lr) {
            return Err(SettingsError::LrMin);
        }
        if self.score_batches == 0 {
            return Err(SettingsError::ScoreBatches);
        }
        Ok(())
    }
}

/// Adam on the architecture parameters alpha (DARTS, GumbelDARTS, Proxyless); its options are
/// `arch_lr`, `arch_beta1` and `arch_weight_decay`. Beta 2 is 0.999 and epsilon 1e-8.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlphaOptimizer {
    /// Learning rate (DARTS 3e-4, Proxyless 1e-3).
    pub lr: f64,
    /// Beta 1 (DARTS 0.5, Proxyless 0).
    pub beta1: f32,
    /// L2 weight decay (DARTS 1e-3, Proxyless 0).
    pub weight_decay: f64,
}

impl AlphaOptimizer {
    /// The names `--option` sets.
    pub const OPTIONS: &'static [&'static str] = &["arch_lr", "arch_beta1", "arch_weight_decay"];

    /// DARTS' (Liu et al. 2019, section 3.1): lr 3e-4, betas (0.5, 0.999), weight decay 1e-3.
    pub fn darts() -> AlphaOptimizer {
        AlphaOptimizer { lr: 3e-4, beta1: 0.5, weight_decay: 1e-3 }
    }

    /// ProxylessNAS' (Cai et al. 2019, section 4.1): lr 1e-3, betas (0, 0.999), no decay.
    pub fn proxyless() -> AlphaOptimizer {
        AlphaOptimizer { lr: 1e-3, beta1: 0.0, weight_decay: 0.0 }
    }

    /// Sets option `name` (one of [`AlphaOptimizer::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "arch_lr" => self.lr = number(name, value)?,
            "arch_beta1" => self.beta1 = number(name, value)?,
            "arch_weight_decay" => self.weight_decay = number(name, value)?,
            _ => return Err(unknown("alpha", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the learning rate.
    ///
    /// Errors: [`SettingsError::ArchLr`].
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.lr > 0.0 && self.lr.is_finite() {
            Ok(())
        } else {
            Err(SettingsError::ArchLr)
        }
    }
}

/// DARTS' own settings (Liu, Simonyan & Yang 2019).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DartsSettings {
    /// Adam on alpha.
    pub alpha: AlphaOptimizer,
    /// The second-order (unrolled) architecture step (`--unrolled`; the paper's eq. 7).
    pub unrolled: bool,
}

impl Default for DartsSettings {
    /// First order, DARTS' Adam.
    fn default() -> Self {
        DartsSettings { alpha: AlphaOptimizer::darts(), unrolled: false }
    }
}

impl DartsSettings {
    /// The names `--option` sets (`--unrolled` is a flag).
    pub const OPTIONS: &'static [&'static str] = AlphaOptimizer::OPTIONS;

    /// Sets option `name` (one of [`DartsSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            _ if AlphaOptimizer::OPTIONS.contains(&name) => self.alpha.set_option(name, value),
            _ => Err(unknown("darts", name, Self::OPTIONS)),
        }
    }

    /// Checks the settings.
    ///
    /// Errors: [`SettingsError::ArchLr`].
    pub fn check(&self) -> Result<(), SettingsError> {
        self.alpha.check()
    }
}

/// GumbelDARTS' own settings (SNAS, Xie et al. 2019; GDAS, Dong & Yang 2019): DARTS' Adam on
/// alpha and the Gumbel-softmax temperature, annealed linearly over the epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GumbelDartsSettings {
    /// Adam on alpha.
    pub alpha: AlphaOptimizer,
    /// The temperature of the first epoch (1.0).
    pub tau_max: f64,
    /// The temperature of the last epoch (0.33).
    pub tau_min: f64,
}

impl Default for GumbelDartsSettings {
    /// DARTS' Adam; the temperature from 1.0 to 0.33.
    fn default() -> Self {
        GumbelDartsSettings { alpha: AlphaOptimizer::darts(), tau_max: 1.0, tau_min: 0.33 }
    }
}

impl GumbelDartsSettings {
    /// The names `--option` sets.
    pub const OPTIONS: &'static [&'static str] =
        &["arch_lr", "arch_beta1", "arch_weight_decay", "tau_max", "tau_min"];

    /// Sets option `name` (one of [`GumbelDartsSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "tau_max" => self.tau_max = number(name, value)?,
            "tau_min" => self.tau_min = number(name, value)?,
            _ if AlphaOptimizer::OPTIONS.contains(&name) => self.alpha.set_option(name, value)?,
            _ => return Err(unknown("gumbel-darts", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the settings.
    ///
    /// Errors: [`SettingsError::ArchLr`], [`SettingsError::Temperatures`].
    pub fn check(&self) -> Result<(), SettingsError> {
        self.alpha.check()?;
        if !(self.tau_min > 0.0 && self.tau_max >= self.tau_min) {
            return Err(SettingsError::Temperatures);
        }
        Ok(())
    }

    /// The temperature of `epoch` (1-based) of `epochs`: linear from `tau_max` to `tau_min`.
    pub fn tau(&self, epoch: usize, epochs: usize) -> f64 {
        if epochs > 1 {
            self.tau_max - (self.tau_max - self.tau_min) * (epoch - 1) as f64 / (epochs - 1) as f64
        } else {
            self.tau_max
        }
    }
}

/// ProxylessNAS' own settings (Cai, Zhu & Han 2019): Adam on alpha and the optional resource
/// loss `ce * (log(E) / log(target))^beta`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProxylessSettings {
    /// Adam on alpha (lr 1e-3, betas (0, 0.999)).
    pub alpha: AlphaOptimizer,
    /// The resource the loss limits and its target (`--target-flops`, `--target-params`).
    pub target: Option<(Measure, f64)>,
    /// The exponent of the resource loss (0.6, the paper's).
    pub resource_beta: f64,
}

impl Default for ProxylessSettings {
    /// The paper's Adam, no resource loss.
    fn default() -> Self {
        ProxylessSettings { alpha: AlphaOptimizer::proxyless(), target: None, resource_beta: 0.6 }
    }
}

impl ProxylessSettings {
    /// The names `--option` sets (the target is `--target-flops` or `--target-params`).
    pub const OPTIONS: &'static [&'static str] =
        &["arch_lr", "arch_beta1", "arch_weight_decay", "resource_beta"];

    /// Sets option `name` (one of [`ProxylessSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "resource_beta" => self.resource_beta = number(name, value)?,
            _ if AlphaOptimizer::OPTIONS.contains(&name) => self.alpha.set_option(name, value)?,
            _ => return Err(unknown("proxyless", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the settings.
    ///
    /// Errors: [`SettingsError::ArchLr`], [`SettingsError::Target`].
    pub fn check(&self) -> Result<(), SettingsError> {
        self.alpha.check()?;
        if let Some((_, t)) = self.target {
            if !(t > 1.0 && t.is_finite()) {
                return Err(SettingsError::Target);
            }
        }
        Ok(())
    }
}

/// ENAS' own settings (Pham et al. 2018; NNI's defaults): the controller's training by
/// REINFORCE and how many of its architectures are scored at the end.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnasSettings {
    /// The controller's Adam learning rate (3.5e-4; option `arch_lr`).
    pub lr: f64,
    /// Weight of the entropy bonus (1e-4).
    pub entropy_weight: f64,
    /// Decay of the reward's moving-average baseline (0.999).
    pub baseline_decay: f64,
    /// Controller samples per epoch, each scored on one validation batch (100).
    pub controller_steps: usize,
    /// Samples per controller update (20, NNI's `ctrl_steps_aggregate`).
    pub controller_aggregate: usize,
    /// How many of the controller's architectures are scored and recorded (top-k; 5).
    pub top_k: usize,
}

impl Default for EnasSettings {
    /// NNI's ENAS defaults.
    fn default() -> Self {
        EnasSettings {
            lr: 3.5e-4,
            entropy_weight: 1e-4,
            baseline_decay: 0.999,
            controller_steps: 100,
            controller_aggregate: 20,
            top_k: 5,
        }
    }
}

impl EnasSettings {
    /// The names `--option` sets.
    pub const OPTIONS: &'static [&'static str] = &[
        "arch_lr",
        "entropy_weight",
        "baseline_decay",
        "controller_steps",
        "controller_aggregate",
        "top_k",
    ];

    /// Sets option `name` (one of [`EnasSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "arch_lr" => self.lr = number(name, value)?,
            "entropy_weight" => self.entropy_weight = number(name, value)?,
            "baseline_decay" => self.baseline_decay = number(name, value)?,
            "controller_steps" => self.controller_steps = number(name, value)?,
            "controller_aggregate" => self.controller_aggregate = number(name, value)?,
            "top_k" => self.top_k = number(name, value)?,
            _ => return Err(unknown("enas", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the settings.
    ///
    /// Errors: [`SettingsError::ArchLr`], [`SettingsError::ControllerAggregate`],
    /// [`SettingsError::TopK`].
    pub fn check(&self) -> Result<(), SettingsError> {
        if !(self.lr > 0.0 && self.lr.is_finite()) {
            return Err(SettingsError::ArchLr);
        }
        if self.controller_aggregate == 0 {
            return Err(SettingsError::ControllerAggregate);
        }
        if self.top_k == 0 {
            return Err(SettingsError::TopK);
        }
        Ok(())
    }
}

/// SPOS' own settings (Guo et al. 2020, section 3.3): the regularized evolution over the
/// trained supernet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SposSettings {
    /// Candidates the evolution scores after training (60).
    pub search_candidates: usize,
    /// The evolution's population (the paper's P; 20).
    pub population: usize,
    /// The evolution's tournament size (the paper's S; 5).
    pub tournament: usize,
}

impl Default for SposSettings {
    /// 60 candidates, population 20, tournament 5.
    fn default() -> Self {
        SposSettings { search_candidates: 60, population: 20, tournament: 5 }
    }
}

impl SposSettings {
    /// The names `--option` sets.
    pub const OPTIONS: &'static [&'static str] = &["search_candidates", "population", "tournament"];

    /// Sets option `name` (one of [`SposSettings::OPTIONS`]) to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for another name, [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "search_candidates" => self.search_candidates = number(name, value)?,
            "population" => self.population = number(name, value)?,
            "tournament" => self.tournament = number(name, value)?,
            _ => return Err(unknown("random-oneshot", name, Self::OPTIONS)),
        }
        Ok(())
    }

    /// Checks the settings.
    ///
    /// Errors: [`SettingsError::SearchCandidates`], [`SettingsError::Population`],
    /// [`SettingsError::Tournament`].
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.search_candidates == 0 {
            return Err(SettingsError::SearchCandidates);
        }
        if self.population < 2 {
            return Err(SettingsError::Population);
        }
        if self.tournament == 0 || self.tournament > self.population {
            return Err(SettingsError::Tournament);
        }
        Ok(())
    }
}

/// The strategy and its own settings. Serialized as `"strategy": "<name>"` (the command-line
/// name) and `"settings": {...}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "strategy", content = "settings", rename_all = "kebab-case")]
pub enum StrategySettings {
    /// DARTS.
    Darts(DartsSettings),
    /// GumbelDARTS.
    GumbelDarts(GumbelDartsSettings),
    /// ENAS.
    Enas(EnasSettings),
    /// SPOS (`random-oneshot`).
    RandomOneshot(SposSettings),
    /// ProxylessNAS.
    Proxyless(ProxylessSettings),
}

impl StrategySettings {
    /// The defaults of `kind`.
    pub fn new(kind: OneShotKind) -> StrategySettings {
        match kind {
            OneShotKind::Darts => StrategySettings::Darts(DartsSettings::default()),
            OneShotKind::GumbelDarts => {
                StrategySettings::GumbelDarts(GumbelDartsSettings::default())
            }
            OneShotKind::Enas => StrategySettings::Enas(EnasSettings::default()),
            OneShotKind::RandomOneshot => StrategySettings::RandomOneshot(SposSettings::default()),
            OneShotKind::Proxyless => StrategySettings::Proxyless(ProxylessSettings::default()),
        }
    }

    /// The strategy.
    pub fn kind(&self) -> OneShotKind {
        match self {
            StrategySettings::Darts(_) => OneShotKind::Darts,
            StrategySettings::GumbelDarts(_) => OneShotKind::GumbelDarts,
            StrategySettings::Enas(_) => OneShotKind::Enas,
            StrategySettings::RandomOneshot(_) => OneShotKind::RandomOneshot,
            StrategySettings::Proxyless(_) => OneShotKind::Proxyless,
        }
    }

    /// The names `--option` sets for this strategy (besides [`CommonSettings::OPTIONS`]).
    pub fn options(&self) -> &'static [&'static str] {
        match self {
            StrategySettings::Darts(_) => DartsSettings::OPTIONS,
            StrategySettings::GumbelDarts(_) => GumbelDartsSettings::OPTIONS,
            StrategySettings::Enas(_) => EnasSettings::OPTIONS,
            StrategySettings::RandomOneshot(_) => SposSettings::OPTIONS,
            StrategySettings::Proxyless(_) => ProxylessSettings::OPTIONS,
        }
    }

    /// Sets the strategy's option `name` to `value`.
    ///
    /// Errors: [`OptionError::Unknown`] for a name not in [`StrategySettings::options`],
    /// [`OptionError::NotANumber`].
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        match self {
            StrategySettings::Darts(s) => s.set_option(name, value),
            StrategySettings::GumbelDarts(s) => s.set_option(name, value),
            StrategySettings::Enas(s) => s.set_option(name, value),
            StrategySettings::RandomOneshot(s) => s.set_option(name, value),
            StrategySettings::Proxyless(s) => s.set_option(name, value),
        }
    }

    /// Checks the strategy's settings.
    ///
    /// Errors: the first setting out of range.
    pub fn check(&self) -> Result<(), SettingsError> {
        match self {
            StrategySettings::Darts(s) => s.check(),
            StrategySettings::GumbelDarts(s) => s.check(),
            StrategySettings::Enas(s) => s.check(),
            StrategySettings::RandomOneshot(s) => s.check(),
            StrategySettings::Proxyless(s) => s.check(),
        }
    }
}

/// The settings of a one-shot search: the common ones and the strategy's own.
/// [`OneShotConfig::new`] gives the papers' and NNI's defaults for a strategy; the CLI changes
/// them with its flags and [`OneShotConfig::set_option`].
///
/// It deserializes from its own serialized form and from the flat form of earlier versions
/// (every setting of every strategy in one object, `"strategy": "<name>"` among them), which
/// experiment stores written by them keep; of the flat form, the strategy's settings are kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredConfig")]
pub struct OneShotConfig {
    /// The settings every strategy shares.
    #[serde(flatten)]
    pub common: CommonSettings,
    /// The strategy and its own settings.
    #[serde(flatten)]
    pub strategy: StrategySettings,
}

impl OneShotConfig {
    /// The defaults of `kind` (DARTS' for the weights of every strategy).
    pub fn new(kind: OneShotKind) -> OneShotConfig {
        OneShotConfig { common: CommonSettings::default(), strategy: StrategySettings::new(kind) }
    }

    /// The strategy.
    pub fn kind(&self) -> OneShotKind {
        self.strategy.kind()
    }

    /// Checks every setting.
    ///
    /// Errors: the first setting out of range.
    pub fn check(&self) -> Result<(), SettingsError> {
        self.common.check()?;
        self.strategy.check()
    }

    /// Sets one option by name (`nasc search --option NAME=VALUE`): one of
    /// [`CommonSettings::OPTIONS`] or of the strategy's ([`StrategySettings::options`]).
    ///
    /// Errors: [`OptionError::NotANumber`]; [`OptionError::NotUsed`] for an option of another
    /// one-shot strategy (nothing changes); [`OptionError::Unknown`] for any other name, with
    /// the options this strategy takes.
    pub fn set_option(&mut self, name: &str, value: &str) -> Result<(), OptionError> {
        if CommonSettings::OPTIONS.contains(&name) {
            return self.common.set_option(name, value);
        }
        if self.strategy.options().contains(&name) {
            return self.strategy.set_option(name, value);
        }
        let strategy = self.kind().name();
        let mut owners = Vec::new();
        for kind in OneShotKind::ALL {
            let mut other = StrategySettings::new(kind);
            if other.options().contains(&name) {
                other.set_option(name, value)?;
                owners.push(kind.name());
            }
        }
        if owners.is_empty() {
            let mut valid = CommonSettings::OPTIONS.to_vec();
            valid.extend(self.strategy.options());
            return Err(OptionError::Unknown { strategy, name: name.to_string(), valid });
        }
        Err(OptionError::NotUsed { strategy, name: name.to_string(), owners })
    }
}

/// A stored configuration: this version's form, or the flat form of earlier versions.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredConfig {
    /// This version's.
    Nested(NestedConfig),
    /// Earlier versions'.
    Flat(Box<FlatConfig>),
}

/// This version's serialized form (what [`OneShotConfig`] serializes to).
#[derive(Deserialize)]
struct NestedConfig {
    #[serde(flatten)]
    common: CommonSettings,
    #[serde(flatten)]
    strategy: StrategySettings,
}

/// The flat configuration earlier versions stored: every setting of every strategy.
#[derive(Deserialize)]
struct FlatConfig {
    strategy: OneShotKind,
    epochs: usize,
    batch_size: usize,
    seed: u64,
    task: Task,
    lr: f64,
    lr_min: f64,
    momentum: f64,
    weight_decay: f64,
    grad_clip: Option<f32>,
    arch_lr: f64,
    arch_beta1: f32,
    arch_weight_decay: f64,
    unrolled: bool,
    tau_max: f64,
    tau_min: f64,
    target: Option<(Measure, f64)>,
    resource_beta: f64,
    entropy_weight: f64,
    baseline_decay: f64,
    controller_steps: usize,
    controller_aggregate: usize,
    search_candidates: usize,
    population: usize,
    tournament: usize,
    calibration_batches: usize,
    score_batches: usize,
    eval_batches: Option<usize>,
    top_k: usize,
    max_steps: Option<usize>,
}

impl From<StoredConfig> for OneShotConfig {
    fn from(stored: StoredConfig) -> OneShotConfig {
        let f = match stored {
            StoredConfig::Nested(n) => {
                return OneShotConfig { common: n.common, strategy: n.strategy };
            }
            StoredConfig::Flat(f) => f,
        };
        let common = CommonSettings {
            epochs: f.epochs,
            batch_size: f.batch_size,
            seed: f.seed,
            task: f.task,
            lr: f.lr,
            lr_min: f.lr_min,
            momentum: f.momentum,
            weight_decay: f.weight_decay,
            grad_clip: f.grad_clip,
            calibration_batches: f.calibration_batches,
            score_batches: f.score_batches,
            eval_batches: f.eval_batches,
            max_steps: f.max_steps,
        };
        let alpha = AlphaOptimizer {
            lr: f.arch_lr,
            beta1: f.arch_beta1,
            weight_decay: f.arch_weight_decay,
        };
        let strategy = match f.strategy {
            OneShotKind::Darts => {
                StrategySettings::Darts(DartsSettings { alpha, unrolled: f.unrolled })
            }
            OneShotKind::GumbelDarts => StrategySettings::GumbelDarts(GumbelDartsSettings {
                alpha,
                tau_max: f.tau_max,
                tau_min: f.tau_min,
            }),
            OneShotKind::Proxyless => StrategySettings::Proxyless(ProxylessSettings {
                alpha,
                target: f.target,
                resource_beta: f.resource_beta,
            }),
            OneShotKind::Enas => StrategySettings::Enas(EnasSettings {
                lr: f.arch_lr,
                entropy_weight: f.entropy_weight,
                baseline_decay: f.baseline_decay,
                controller_steps: f.controller_steps,
                controller_aggregate: f.controller_aggregate,
                top_k: f.top_k,
            }),
            OneShotKind::RandomOneshot => StrategySettings::RandomOneshot(SposSettings {
                search_candidates: f.search_candidates,
                population: f.population,
                tournament: f.tournament,
            }),
        };
        OneShotConfig { common, strategy }
    }
}

#[cfg(test)]
/// The configuration `nasc search --strategy darts --epochs 2 --max-steps 3` stored before
/// the settings were nested: the flat settings of every strategy and the keys the command
/// line adds.
pub(crate) const OLD_FLAT_DARTS: &str = r#"{
    "strategy": "darts", "epochs": 2, "batch_size": 64, "seed": 0,
    "task": "classification", "lr": 0.025, "lr_min": 0.001, "momentum": 0.9,
    "weight_decay": 0.0003, "grad_clip": 5.0, "arch_lr": 0.0003, "arch_beta1": 0.5,
    "arch_weight_decay": 0.001, "unrolled": true, "tau_max": 1.0, "tau_min": 0.33,
    "target": null, "resource_beta": 0.6, "entropy_weight": 0.0001,
    "baseline_decay": 0.999, "controller_steps": 100, "controller_aggregate": 20,
    "search_candidates": 60, "population": 20, "tournament": 5,
    "calibration_batches": 10, "score_batches": 16, "eval_batches": 32, "top_k": 5,
    "max_steps": 3, "kind": "oneshot", "mode": "max", "metric": "supernet_val_acc",
    "val_fraction": 0.5, "data": "mnist:/data/mnist", "device": "flex"
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_flat_configuration_still_loads() {
        let cfg: OneShotConfig = serde_json::from_str(OLD_FLAT_DARTS).expect("the old form loads");
        assert_eq!(cfg.kind(), OneShotKind::Darts);
        assert_eq!(cfg.common.epochs, 2);
        assert_eq!(cfg.common.max_steps, Some(3));
        assert_eq!(cfg.common.eval_batches, Some(32));
        assert_eq!(
            cfg.strategy,
            StrategySettings::Darts(DartsSettings {
                alpha: AlphaOptimizer::darts(),
                unrolled: true
            })
        );
        // Each strategy keeps its own settings of the flat form.
        let mut v: serde_json::Value = serde_json::from_str(OLD_FLAT_DARTS).expect("JSON");
        v["strategy"] = "proxyless".into();
        v["target"] = serde_json::json!(["flops", 1e6]);
        v["arch_beta1"] = 0.0.into();
        let cfg: OneShotConfig = serde_json::from_value(v.clone()).expect("loads");
        assert_eq!(
            cfg.strategy,
            StrategySettings::Proxyless(ProxylessSettings {
                alpha: AlphaOptimizer { lr: 3e-4, beta1: 0.0, weight_decay: 1e-3 },
                target: Some((Measure::Flops, 1e6)),
                resource_beta: 0.6,
            })
        );
        v["strategy"] = "enas".into();
        v["top_k"] = 2.into();
        let cfg: OneShotConfig = serde_json::from_value(v.clone()).expect("loads");
        assert_eq!(
            cfg.strategy,
            StrategySettings::Enas(EnasSettings { lr: 3e-4, top_k: 2, ..EnasSettings::default() })
        );
        v["strategy"] = "random-oneshot".into();
        let cfg: OneShotConfig = serde_json::from_value(v).expect("loads");
        assert_eq!(cfg.strategy, StrategySettings::RandomOneshot(SposSettings::default()));
        // Neither form: an error, not a panic.
        assert!(serde_json::from_str::<OneShotConfig>(r#"{"strategy": "darts"}"#).is_err());
    }

    #[test]
    fn the_nested_form_round_trips_and_names_the_strategy() {
        for kind in OneShotKind::ALL {
            let mut cfg = OneShotConfig::new(kind);
            cfg.common.max_steps = Some(7);
            let v = serde_json::to_value(&cfg).expect("serialises");
            // `nasc runs list` and `runs show` read the strategy's name from here.
            assert_eq!(v["strategy"].as_str(), Some(kind.name()), "{v}");
            assert!(v["settings"].is_object(), "{v}");
            assert_eq!(v["epochs"], 10, "{v}");
            let back: OneShotConfig = serde_json::from_value(v).expect("reads back");
            assert_eq!(back, cfg);
        }
    }

    #[test]
    fn the_defaults_are_the_papers() {
        let c = CommonSettings::default();
        assert_eq!((c.epochs, c.batch_size, c.lr, c.lr_min), (10, 64, 0.025, 0.001));
        assert_eq!((c.momentum, c.weight_decay, c.grad_clip), (0.9, 3e-4, Some(5.0)));
        assert_eq!((c.calibration_batches, c.score_batches, c.eval_batches), (10, 16, Some(32)));
        assert_eq!(
            AlphaOptimizer::darts(),
            AlphaOptimizer { lr: 3e-4, beta1: 0.5, weight_decay: 1e-3 }
        );
        assert_eq!(
            AlphaOptimizer::proxyless(),
            AlphaOptimizer { lr: 1e-3, beta1: 0.0, weight_decay: 0.0 }
        );
        let g = GumbelDartsSettings::default();
        assert_eq!((g.tau_max, g.tau_min), (1.0, 0.33));
        assert_eq!((g.tau(1, 3), g.tau(1, 1)), (1.0, 1.0));
        assert!((g.tau(2, 3) - 0.665).abs() < 1e-12 && (g.tau(3, 3) - 0.33).abs() < 1e-12);
        assert_eq!(ProxylessSettings::default().resource_beta, 0.6);
        let e = EnasSettings::default();
        assert_eq!((e.lr, e.entropy_weight, e.baseline_decay), (3.5e-4, 1e-4, 0.999));
        assert_eq!((e.controller_steps, e.controller_aggregate, e.top_k), (100, 20, 5));
        assert_eq!(
            SposSettings::default(),
            SposSettings { search_candidates: 60, population: 20, tournament: 5 }
        );
        for kind in OneShotKind::ALL {
            assert_eq!(OneShotConfig::new(kind).check(), Ok(()), "{}", kind.name());
        }
    }

    #[test]
    fn options_are_typed_per_strategy() {
        let mut cfg = OneShotConfig::new(OneShotKind::GumbelDarts);
        cfg.set_option("tau_min", "0.1").expect("a GumbelDARTS option");
        cfg.set_option("arch_lr", "0.01").expect("an alpha option");
        cfg.set_option("score_batches", "3").expect("a common option");
        let StrategySettings::GumbelDarts(g) = cfg.strategy else { panic!("GumbelDARTS") };
        assert_eq!((g.tau_min, g.alpha.lr, cfg.common.score_batches), (0.1, 0.01, 3));
        // A bad number.
        assert_eq!(
            cfg.set_option("tau_max", "hot").map_err(|e| e.to_string()),
            Err("option `tau_max` takes a number, not `hot`".to_string())
        );
        // No strategy's option: the error lists this strategy's.
        let e = cfg.set_option("nope", "1").expect_err("unknown");
        assert_eq!(
            e.to_string(),
            "`gumbel-darts` has no option `nope`; its options are lr_min, calibration_batches, score_batches, arch_lr, arch_beta1, arch_weight_decay, tau_max, tau_min"
        );
        // Another strategy's option: not used, nothing changes; its value is still checked.
        let before = cfg.clone();
        let e = cfg.set_option("population", "4").expect_err("SPOS's");
        assert!(
            matches!(&e, OptionError::NotUsed { owners, .. } if owners == &["random-oneshot"]),
            "{e:?}"
        );
        assert_eq!(cfg, before);
        assert!(matches!(
            cfg.set_option("population", "many"),
            Err(OptionError::NotANumber { .. })
        ));
        // ENAS' `arch_lr` is its controller's learning rate.
        let mut enas = OneShotConfig::new(OneShotKind::Enas);
        enas.set_option("arch_lr", "0.02").expect("the controller's lr");
        assert!(
            matches!(enas.strategy, StrategySettings::Enas(EnasSettings { lr, .. }) if lr == 0.02)
        );
    }

    #[test]
    fn checks_name_the_setting_out_of_range() {
        let mut spos = OneShotConfig::new(OneShotKind::RandomOneshot);
        spos.set_option("tournament", "100").expect("sets");
        assert_eq!(spos.check(), Err(SettingsError::Tournament));
        spos.set_option("search_candidates", "0").expect("sets");
        assert_eq!(spos.check(), Err(SettingsError::SearchCandidates));
        assert!(SettingsError::Tournament.to_string().contains("option tournament"));
        let mut darts = OneShotConfig::new(OneShotKind::Darts);
        darts.common.epochs = 0;
        assert_eq!(darts.check(), Err(SettingsError::Counts));
        let mut gumbel = OneShotConfig::new(OneShotKind::GumbelDarts);
        gumbel.set_option("tau_min", "2").expect("sets");
        assert_eq!(gumbel.check(), Err(SettingsError::Temperatures));
        let mut proxyless = OneShotConfig::new(OneShotKind::Proxyless);
        if let StrategySettings::Proxyless(p) = &mut proxyless.strategy {
            p.target = Some((Measure::Params, 1.0));
        }
        assert_eq!(proxyless.check(), Err(SettingsError::Target));
        let mut enas = OneShotConfig::new(OneShotKind::Enas);
        enas.set_option("top_k", "0").expect("sets");
        assert_eq!(enas.check(), Err(SettingsError::TopK));
        enas.set_option("top_k", "2").expect("sets");
        enas.set_option("controller_aggregate", "0").expect("sets");
        assert_eq!(enas.check(), Err(SettingsError::ControllerAggregate));
        enas.set_option("arch_lr", "-1").expect("sets");
        assert_eq!(enas.check(), Err(SettingsError::ArchLr));
    }
}
