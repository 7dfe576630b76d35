//! The policy of the `ppo` strategy: an LSTM controller that emits one action per decision of a
//! model space, trained with PPO's clipped objective (Schulman, Wolski, Dhariwal, Radford &
//! Klimov, "Proximal Policy Optimization Algorithms", 2017). The same controller serves as the
//! ENAS controller (Pham, Guan, Zoph, Le & Dean, "Efficient Neural Architecture Search via
//! Parameter Sharing", ICML 2018): with [`ControllerConfig::enas`] (logits squashed by
//! `1.5 * tanh`), trained with REINFORCE ([`Controller::reinforce`]), and exported through its
//! greedy episode ([`Controller::most_likely`]).
//!
//! The network is the one of NNI's `PolicyBasedRL` (its default policy in
//! `nni/nas/strategy/_rl_impl.py`), itself the controller of Zoph & Le, "Neural Architecture
//! Search with Reinforcement Learning", ICLR 2017, and of ENAS (Pham et al. 2018): at step `t`
//! the input is the embedding of the previous action (a start token at the first step; one
//! table shared by every step, action `a` is token `a + 1`) concatenated with a one-hot code of
//! `t`; an LSTM of 64 units, a linear layer with ReLU, and one linear head as wide as the widest
//! decision give the logits, optionally squashed to `c * tanh(logits)`
//! ([`ControllerConfig::tanh_constant`], ENAS's), and the logits beyond the step's domain are
//! masked out, so those actions have probability zero. Weights start as PyTorch's defaults (embedding `N(0, 1)`,
//! LSTM `U(+-1/sqrt(hidden))`, linear `U(+-1/sqrt(fan_in))`), drawn from the controller's own
//! seeded generator.
//!
//! The API is burn-free: [`Controller::sample`] draws a sequence of actions with their
//! log-probabilities, [`Controller::update`] runs PPO on finished episodes,
//! [`Controller::reinforce`] one REINFORCE step. Sampling runs on a
//! plain copy of the weights (no tensors: a proposal costs tens of microseconds and needs no
//! device), refreshed after every update; training runs on burn's Flex backend with autodiff.
//! Everything random (initial weights, actions, minibatch order) comes from one `ChaCha8Rng`,
//! so a controller is determined by its seed and the calls made to it, whatever else runs in
//! the process.

use super::RuntimeError;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, Lstm, LstmConfig};
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

/// The logit given to actions outside a step's domain: `exp` of it is exactly zero in `f32`,
/// and unlike `-inf` it keeps the entropy's `p * log p` at zero instead of NaN.
const MASKED: f32 = -1.0e9;

/// One decision of the model space, as the controller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// One action among this many values.
    Categorical(usize),
    /// `k` actions among `n` values, without replacement: each step masks the values already
    /// chosen in the earlier steps of the decision.
    Subset {
        /// How many values.
        n: usize,
        /// How many are chosen.
        k: usize,
    },
}

/// The settings of the controller and of its PPO updates. The defaults are NNI's
/// (`PolicyBasedRL`'s `update_kwargs` and `default_policy_fn`, and tianshou's `PPOPolicy`
/// defaults it inherits); [`ControllerConfig::enas`] gives ENAS's.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerConfig {
    /// LSTM units (and embedding and hidden-layer width): 64.
    pub hidden: usize,
    /// Adam's learning rate: 1e-4 (betas 0.9, 0.999; epsilon 1e-8, PyTorch's).
    pub lr: f64,
    /// PPO's clipping range epsilon: 0.2.
    pub clip: f64,
    /// Weight of the entropy bonus: 0.01 (tianshou's `ent_coef` default, which NNI keeps).
    pub ent_coef: f64,
    /// Transitions (one action each) per minibatch: 32 (a minibatch holds whole episodes, as
    /// many as make up at least this many transitions).
    pub batch_size: usize,
    /// Epochs over the episodes of one update round: 5.
    pub repeat: usize,
    /// Update rounds per update, each starting from the current policy: 5.
    pub update_times: usize,
    /// When `Some(c)`, the logits become `c * tanh(logits)` before masking, so that within a
    /// step no allowed action is more than `e^(2c)` times as likely as another (ENAS's
    /// `tanh_constant`, 1.5, which keeps the controller exploring); `None` (the default, PPO's)
    /// leaves them as they are. Applied alike by the sampler and the trained network.
    pub tanh_constant: Option<f64>,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            hidden: 64,
            lr: 1e-4,
            clip: 0.2,
            ent_coef: 0.01,
            batch_size: 32,
            repeat: 5,
            update_times: 5,
            tanh_constant: None,
        }
    }
}

impl ControllerConfig {
    /// ENAS's controller settings, as NNI's ENAS (`ReinforceController` and `EnasTrainer`)
    /// and Pham et al. 2018 use them: 64 LSTM units, Adam's learning rate 3.5e-4, and logits
    /// squashed to `1.5 * tanh(logits)` ([`ControllerConfig::tanh_constant`] `Some(1.5)`). The
    /// PPO settings keep their defaults (REINFORCE, [`Controller::reinforce`], does not use
    /// them). The rest of ENAS's training is the caller's: the reward's moving-average baseline
    /// (decay 0.999), the entropy weight (1e-4) and how many episodes one step aggregates (20
    /// in NNI, `ctrl_steps_aggregate`).
    pub fn enas() -> Self {
        ControllerConfig { hidden: 64, lr: 3.5e-4, tanh_constant: Some(1.5), ..Default::default() }
    }

    /// Checks every setting.
    ///
    /// Errors: [`RuntimeError::Config`] naming the first setting out of range.
    pub fn check(&self) -> Result<(), RuntimeError> {
        let bad = |m: &str| Err(RuntimeError::Config(m.into()));
        if self.hidden == 0 {
            return bad("the controller needs at least one hidden unit");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("the learning rate must be a positive number");
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad("the clipping range must be a positive number");
        }
        if !(self.ent_coef.is_finite() && self.ent_coef >= 0.0) {
            return bad("the entropy coefficient must be a non-negative number");
        }
        if self.batch_size == 0 || self.repeat == 0 || self.update_times == 0 {
            return bad("the batch size, repeat and update times must be at least 1");
        }
        if self.tanh_constant.is_some_and(|c| !(c.is_finite() && c > 0.0)) {
            return bad("the tanh constant must be a positive number");
        }
        Ok(())
    }
}

/// One sequence of actions drawn from the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// One action per step, each inside its step's domain.
    pub actions: Vec<usize>,
    /// The log-probability of each action under the policy that drew it.
    pub log_probs: Vec<f32>,
}

/// A finished episode for [`Controller::update`] and [`Controller::reinforce`].
#[derive(Debug, Clone, PartialEq)]
pub struct Experience {
    /// The episode.
    pub episode: Episode,
    /// Its advantage (the reward less a baseline), shared by all its actions.
    pub advantage: f64,
}

/// What an update did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UpdateReport {
    /// Optimizer steps taken.
    pub steps: usize,
    /// Mean clipped surrogate objective of the first minibatch step (before any change); for
    /// [`Controller::reinforce`], the REINFORCE objective `(1/N) sum_e advantage_e * sum_t
    /// log pi(a_t)` before the step.
    pub first_objective: f64,
    /// Mean entropy of the policy's actions (nats per action, over the steps with a choice) at
    /// the last step.
    pub entropy: f64,
    /// Steps skipped because the loss was not finite.
    pub skipped: usize,
}

/// One step of an episode.
#[derive(Debug, Clone, Copy)]
struct Step {
    /// How many actions.
    size: usize,
    /// The first step of its decision (steps of a [`Decision::Subset`] exclude the actions of
    /// the earlier steps of the same decision).
    start: usize,
    /// Whether earlier actions of the decision are excluded.
    subset: bool,
}

/// The policy network as a burn module.
#[derive(Module, Debug)]
struct Policy {
    embedding: Embedding,
    lstm: Lstm,
    fc: Linear,
    head: Linear,
}

impl Policy {
    /// Logits `[batch, steps, width]` (unmasked) for episodes whose inputs are `tokens`
    /// `[batch, steps]` (the previous action plus one, 0 at the start).
    fn forward(&self, tokens: Tensor<2, Int>, one_hot: Tensor<3>) -> Tensor<3> {
        let embedded = self.embedding.forward(tokens);
        let x = Tensor::cat(vec![embedded, one_hot], 2);
        let (out, _) = self.lstm.forward(x, None);
        self.head.forward(relu(self.fc.forward(out)))
    }
}

/// The weights of the policy as plain arrays, for sampling without tensors, with the four LSTM
/// gates fused (input, forget, output, cell: `4 * hidden` outputs) and the input projections
/// precomputed: every token's embedding through the gates' input weights plus both biases, and
/// every step's one-hot row. Weights are `[in, out]` row-major, as burn stores them.
#[derive(Debug, Clone)]
struct Mirror {
    hidden: usize,
    /// `[width + 1, 4 * hidden]`.
    tokens: Vec<f32>,
    /// `[steps, 4 * hidden]`.
    steps: Vec<f32>,
    /// The gates' hidden weights, `[hidden, 4 * hidden]`.
    recurrent: Vec<f32>,
    fc: (Vec<f32>, Vec<f32>),
    head: (Vec<f32>, Vec<f32>),
}

fn values<const D: usize>(p: &Param<Tensor<D>>) -> Result<Vec<f32>, RuntimeError> {
    p.val()
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| RuntimeError::Panic(format!("cannot read the controller's weights: {e:?}")))
}

fn linear_values(l: &Linear, out: usize) -> Result<(Vec<f32>, Vec<f32>), RuntimeError> {
    let b = match &l.bias {
        Some(b) => values(b)?,
        None => vec![0.0; out],
    };
    Ok((values(&l.weight)?, b))
}

impl Mirror {
    fn of(p: &Policy, hidden: usize, width: usize, steps: usize) -> Result<Mirror, RuntimeError> {
        let forget = p.lstm.forget_gate.as_ref().ok_or_else(|| {
            RuntimeError::Panic("the controller's LSTM has no forget gate".into())
        })?;
        let (hd, g4) = (hidden, 4 * hidden);
        let embedding = values(&p.embedding.weight)?;
        let mut tokens = vec![0.0f32; (width + 1) * g4];
        let mut step_rows = vec![0.0f32; steps * g4];
        let mut recurrent = vec![0.0f32; hd * g4];
        for (g, gate) in [&p.lstm.input_gate, forget, &p.lstm.output_gate, &p.lstm.cell_gate]
            .into_iter()
            .enumerate()
        {
            let (wx, bx) = linear_values(&gate.input_transform, hd)?;
            let (wh, bh) = linear_values(&gate.hidden_transform, hd)?;
            let cols = g * hd..(g + 1) * hd;
            for v in 0..=width {
                let row = &mut tokens[v * g4..(v + 1) * g4][cols.clone()];
                for ((r, a), b) in row.iter_mut().zip(&bx).zip(&bh) {
                    *r = a + b;
                }
                Self::affine(row, &embedding[v * hd..(v + 1) * hd], &wx[..hd * hd]);
            }
            for t in 0..steps {
                step_rows[t * g4..(t + 1) * g4][cols.clone()]
                    .copy_from_slice(&wx[(hd + t) * hd..(hd + t + 1) * hd]);
            }
            for i in 0..hd {
                recurrent[i * g4..(i + 1) * g4][cols.clone()]
                    .copy_from_slice(&wh[i * hd..(i + 1) * hd]);
            }
        }
        Ok(Mirror {
            hidden,
            tokens,
            steps: step_rows,
            recurrent,
            fc: linear_values(&p.fc, hidden)?,
            head: linear_values(&p.head, width)?,
        })
    }

    /// `y += x W` for `W` `[x.len(), y.len()]` row-major.
    fn affine(y: &mut [f32], x: &[f32], w: &[f32]) {
        let out = y.len();
        for (xi, row) in x.iter().zip(w.chunks_exact(out)) {
            if *xi != 0.0 {
                for (yo, wo) in y.iter_mut().zip(row) {
                    *yo += xi * wo;
                }
            }
        }
    }

    /// One LSTM step from `token` at step `t`: updates `(h, c)` and returns the logits
    /// `[width]`.
    fn step(&self, token: usize, t: usize, h: &mut [f32], c: &mut [f32]) -> Vec<f32> {
        let (hd, g4) = (self.hidden, 4 * self.hidden);
        let mut z = self.tokens[token * g4..(token + 1) * g4].to_vec();
        for (zo, so) in z.iter_mut().zip(&self.steps[t * g4..(t + 1) * g4]) {
            *zo += so;
        }
        Self::affine(&mut z, h, &self.recurrent);
        let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
        for j in 0..hd {
            let (i, f, o, g) =
                (sigmoid(z[j]), sigmoid(z[hd + j]), sigmoid(z[2 * hd + j]), z[3 * hd + j].tanh());
            c[j] = f * c[j] + i * g;
            h[j] = o * c[j].tanh();
        }
        let mut feature = self.fc.1.clone();
        Self::affine(&mut feature, h, &self.fc.0);
        for v in feature.iter_mut() {
            *v = v.max(0.0);
        }
        let mut logits = self.head.1.clone();
        Self::affine(&mut logits, &feature, &self.head.0);
        logits
    }
}

/// Log-probabilities of the allowed actions (`None` elsewhere), in `f64`.
fn log_softmax_masked(logits: &[f32], allowed: &[bool]) -> Vec<Option<f64>> {
    let max = logits
        .iter()
        .zip(allowed)
        .filter(|(_, a)| **a)
        .map(|(l, _)| *l as f64)
        .fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 =
        logits.iter().zip(allowed).filter(|(_, a)| **a).map(|(l, _)| (*l as f64 - max).exp()).sum();
    let lse = max + sum.ln();
    logits.iter().zip(allowed).map(|(l, a)| a.then(|| *l as f64 - lse)).collect()
}

/// How [`Controller::walk`] chooses each action.
enum Pick<'a> {
    /// The given actions (checked against each step's domain).
    Given(&'a [usize]),
    /// Drawn from the policy with this generator.
    Draw(&'a mut ChaCha8Rng),
    /// The likeliest.
    Greedy,
}

/// The LSTM controller and its optimizer (see the module documentation).
pub struct Controller {
    steps: Vec<Step>,
    width: usize,
    config: ControllerConfig,
    device: Device,
    policy: Policy,
    optim: ModuleOptimizer,
    mirror: Mirror,
    rng: ChaCha8Rng,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("steps", &self.steps.len())
            .field("width", &self.width)
            .field("config", &self.config)
            .finish()
    }
}

/// Draws parameters from the controller's generator.
struct Init<'a> {
    rng: &'a mut ChaCha8Rng,
    device: &'a Device,
}

impl Init<'_> {
    fn param<const D: usize>(
        &mut self,
        shape: [usize; D],
        dist: impl Distribution<f32>,
    ) -> Param<Tensor<D>> {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| dist.sample(&mut *self.rng)).collect();
        Param::from_tensor(Tensor::from_data(TensorData::new(values, shape), self.device))
    }

    fn uniform(bound: f32) -> Result<rand_distr::Uniform<f32>, RuntimeError> {
        rand_distr::Uniform::new_inclusive(-bound, bound)
            .map_err(|e| RuntimeError::Config(e.to_string()))
    }

    /// A linear layer `[d_in, d_out]`, weight and bias uniform in `+-bound`.
    fn linear(&mut self, d_in: usize, d_out: usize, bound: f32) -> Result<Linear, RuntimeError> {
        let mut l =
            LinearConfig::new(d_in, d_out).with_initializer(Initializer::Zeros).init(self.device);
        l.weight = self.param([d_in, d_out], Self::uniform(bound)?);
        l.bias = Some(self.param([d_out], Self::uniform(bound)?));
        Ok(l)
    }
}

impl Controller {
    /// A controller for `decisions` (in the order they are taken), with weights drawn from
    /// `seed`.
    ///
    /// Errors: [`RuntimeError::Config`] for a setting out of range
    /// ([`ControllerConfig::check`]) or a decision without any value.
    pub fn new(
        decisions: &[Decision],
        config: &ControllerConfig,
        seed: u64,
    ) -> Result<Controller, RuntimeError> {
        config.check()?;
        let mut steps = Vec::new();
        for d in decisions {
            match *d {
                Decision::Categorical(size) => {
                    if size == 0 {
                        return Err(RuntimeError::Config(
                            "a decision of the controller has no value".into(),
                        ));
                    }
                    steps.push(Step { size, start: steps.len(), subset: false });
                }
                Decision::Subset { n, k } => {
                    if k > n {
                        return Err(RuntimeError::Config(format!(
                            "a decision of the controller chooses {k} of only {n} values"
                        )));
                    }
                    let start = steps.len();
                    steps.extend((0..k).map(|_| Step { size: n, start, subset: true }));
                }
            }
        }
        let width = steps.iter().map(|s| s.size).max().unwrap_or(1);
        let hidden = config.hidden;
        let device = Device::flex().autodiff();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut init = Init { rng: &mut rng, device: &device };
        let mut embedding = EmbeddingConfig::new(width + 1, hidden)
            .with_initializer(Initializer::Zeros)
            .init(&device);
        embedding.weight = init.param([width + 1, hidden], rand_distr::StandardNormal);
        let d_in = hidden + steps.len();
        let mut lstm =
            LstmConfig::new(d_in, hidden, true).with_initializer(Initializer::Zeros).init(&device);
        let bound = 1.0 / (hidden as f32).sqrt();
        let mut gate = |g: &mut burn::nn::GateController| -> Result<(), RuntimeError> {
            g.input_transform = init.linear(d_in, hidden, bound)?;
            g.hidden_transform = init.linear(hidden, hidden, bound)?;
            Ok(())
        };
        gate(&mut lstm.input_gate)?;
        if let Some(f) = lstm.forget_gate.as_mut() {
            gate(f)?;
        }
        gate(&mut lstm.output_gate)?;
        gate(&mut lstm.cell_gate)?;
        let fc = init.linear(hidden, hidden, bound)?;
        let head = init.linear(hidden, width, bound)?;
        let policy = Policy { embedding, lstm, fc, head };
        let mirror = Mirror::of(&policy, hidden, width, steps.len())?;
        let optim = AdamConfig::new().with_epsilon(1e-8).init();
        Ok(Controller { steps, width, config: config.clone(), device, policy, optim, mirror, rng })
    }

    /// The controller's state for a checkpoint: its weights and its optimizer's state (burn's
    /// records, burnpack bytes) and its random generator.
    ///
    /// Errors: [`RuntimeError::Config`] when a record cannot be serialised.
    pub fn state(&self) -> Result<(Vec<u8>, Vec<u8>, ChaCha8Rng), RuntimeError> {
        let policy = self
            .policy
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| RuntimeError::Config(format!("cannot record the controller: {e}")))?;
        let optim = self.optim.into_bytes().map_err(|e| {
            RuntimeError::Config(format!("cannot record the controller's optimizer: {e}"))
        })?;
        Ok((policy.to_vec(), optim.to_vec(), self.rng.clone()))
    }

    /// Puts back a state [`Controller::state`] gave (of a controller built for the same
    /// decisions and settings).
    ///
    /// Errors: [`RuntimeError::Config`] when a record does not fit this controller.
    pub fn restore(
        &mut self,
        policy: &[u8],
        optim: &[u8],
        rng: ChaCha8Rng,
    ) -> Result<(), RuntimeError> {
        let bad =
            |e: String| RuntimeError::Config(format!("the controller's state does not fit: {e}"));
        let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(
            policy.to_vec(),
        ))
        .map_err(|e| bad(e.to_string()))?;
        let policy = self.policy.clone().try_load_record(record).map_err(|e| {
            let m = e.to_string();
            bad(m.lines().next().unwrap_or(&m).chars().take(200).collect())
        })?;
        let optim = self
            .optim
            .clone()
            .from_bytes(burn::tensor::Bytes::from_bytes_vec(optim.to_vec()))
            .map_err(|e| bad(e.to_string()))?;
        self.mirror = Mirror::of(&policy, self.config.hidden, self.width, self.steps.len())?;
        (self.policy, self.optim, self.rng) = (policy, optim, rng);
        Ok(())
    }

    /// How many actions an episode has (one per categorical decision, `k` per subset).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether episodes are empty (no decisions).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The settings.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// Which actions step `t` allows, given the earlier actions of the episode.
    fn allowed(&self, t: usize, actions: &[usize]) -> Vec<bool> {
        let s = self.steps[t];
        let mut allowed: Vec<bool> = (0..self.width).map(|a| a < s.size).collect();
        if s.subset {
            for &a in &actions[s.start..t] {
                allowed[a] = false;
            }
        }
        allowed
    }

    /// The logits `[width]` (unmasked) of step `t` after `token`, as the sampler computes them:
    /// the network's, squashed by the tanh constant if any. Updates the LSTM state `(h, c)`.
    fn logits(&self, token: usize, t: usize, h: &mut [f32], c: &mut [f32]) -> Vec<f32> {
        let mut logits = self.mirror.step(token, t, h, c);
        if let Some(k) = self.config.tanh_constant {
            let k = k as f32;
            for l in logits.iter_mut() {
                *l = k * l.tanh();
            }
        }
        logits
    }

    /// Runs the policy along the given actions, draws them, or takes the likeliest at every
    /// step (see [`Pick`]): the actions and their log-probabilities.
    fn walk(&self, pick: Pick<'_>) -> Result<Episode, RuntimeError> {
        let hd = self.mirror.hidden;
        let (mut h, mut c) = (vec![0.0f32; hd], vec![0.0f32; hd]);
        let mut actions: Vec<usize> = Vec::with_capacity(self.steps.len());
        let mut log_probs = Vec::with_capacity(self.steps.len());
        let mut token = 0;
        let mut pick = pick;
        for t in 0..self.steps.len() {
            let logits = self.logits(token, t, &mut h, &mut c);
            let allowed = self.allowed(t, &actions);
            let lp = log_softmax_masked(&logits, &allowed);
            let a = match &mut pick {
                Pick::Given(g) => {
                    let a = g[t];
                    if !allowed.get(a).copied().unwrap_or(false) {
                        return Err(RuntimeError::Config(format!(
                            "action {a} at step {t} is outside its domain"
                        )));
                    }
                    a
                }
                Pick::Greedy => {
                    // The first of the likeliest allowed actions.
                    let mut best: Option<(usize, f64)> = None;
                    for (a, l) in lp.iter().enumerate() {
                        if let Some(l) = *l {
                            if best.is_none_or(|(_, b)| l > b) {
                                best = Some((a, l));
                            }
                        }
                    }
                    best.map(|(a, _)| a)
                        .ok_or_else(|| RuntimeError::Config(format!("step {t} allows no action")))?
                }
                Pick::Draw(rng) => {
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    let mut pick = None;
                    for (a, l) in lp.iter().enumerate() {
                        if let Some(l) = l {
                            pick = Some(a);
                            acc += l.exp();
                            if u < acc {
                                break;
                            }
                        }
                    }
                    pick.ok_or_else(|| RuntimeError::Config(format!("step {t} allows no action")))?
                }
            };
            log_probs.push(lp[a].unwrap_or(f64::NEG_INFINITY) as f32);
            actions.push(a);
            token = a + 1;
        }
        Ok(Episode { actions, log_probs })
    }

    /// Draws an episode from the policy with the controller's generator.
    pub fn sample(&mut self) -> Episode {
        // Every step allows at least one action (checked when built), so this cannot fail.
        let mut rng = self.rng.clone();
        let episode = self
            .walk(Pick::Draw(&mut rng))
            .unwrap_or_else(|_| Episode { actions: Vec::new(), log_probs: Vec::new() });
        self.rng = rng;
        episode
    }

    /// The greedy episode: the likeliest action at every step (the first of them on a tie),
    /// given the greedy actions before it, within each step's domain and never repeating a
    /// value within a subset. ENAS exports this as its final architecture (NNI's
    /// `export()` of the ENAS controller, which samples with argmax). Draws nothing from the
    /// controller's generator.
    pub fn most_likely(&self) -> Vec<usize> {
        // Every step allows at least one action (checked when built), so this cannot fail.
        self.walk(Pick::Greedy).map(|e| e.actions).unwrap_or_default()
    }

    /// The log-probability of each of `actions` under the current policy.
    ///
    /// Errors: [`RuntimeError::Config`] when `actions` is not an episode of this controller
    /// (wrong length, or an action outside its step's domain).
    pub fn log_probs(&self, actions: &[usize]) -> Result<Vec<f32>, RuntimeError> {
        if actions.len() != self.steps.len() {
            return Err(RuntimeError::Config(format!(
                "an episode has {} actions, not {}",
                self.steps.len(),
                actions.len()
            )));
        }
        Ok(self.walk(Pick::Given(actions))?.log_probs)
    }

    /// The probability of every action of step `t` after the earlier `actions` (zero outside the
    /// step's domain), as the sampler sees it.
    pub fn probabilities(&self, actions: &[usize]) -> Result<Vec<f64>, RuntimeError> {
        let t = actions.len();
        if t >= self.steps.len() {
            return Err(RuntimeError::Config(format!(
                "an episode has only {} steps",
                self.steps.len()
            )));
        }
        let hd = self.mirror.hidden;
        let (mut h, mut c) = (vec![0.0f32; hd], vec![0.0f32; hd]);
        let mut token = 0;
        for (s, &a) in actions.iter().enumerate() {
            self.mirror.step(token, s, &mut h, &mut c);
            token = a + 1;
        }
        let logits = self.logits(token, t, &mut h, &mut c);
        let allowed = self.allowed(t, actions);
        Ok(log_softmax_masked(&logits, &allowed)
            .into_iter()
            .map(|l| l.map_or(0.0, f64::exp))
            .collect())
    }

    /// Log-probabilities `[episodes, steps]` of the actions of `episodes` under the burn policy,
    /// and the per-action entropies, as tensors (the training path).
    fn evaluate(&self, batch: &Batch) -> (Tensor<2>, Tensor<2>) {
        let mut logits = self.policy.forward(batch.tokens.clone(), batch.one_hot.clone());
        if let Some(k) = self.config.tanh_constant {
            logits = logits.tanh().mul_scalar(k);
        }
        let logits = logits + batch.mask.clone();
        let all = log_softmax(logits, 2);
        let [b, l, _] = all.dims();
        let chosen = all.clone().gather(2, batch.actions.clone()).reshape([b, l]);
        let entropy = (all.clone().exp() * all).sum_dim(2).reshape([b, l]).neg();
        (chosen, entropy)
    }

    /// The current policy's log-probabilities `[episode][step]` of the batch's actions (burn).
    fn current_log_probs(&self, batch: &Batch) -> Result<Vec<f32>, RuntimeError> {
        let (lp, _) = self.evaluate(batch);
        lp.detach()
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| RuntimeError::Panic(format!("{e:?}")))
    }

    /// The tensors of a batch of episodes.
    fn batch(&self, episodes: &[&Episode]) -> Batch {
        let (b, l, w) = (episodes.len(), self.steps.len(), self.width);
        let mut tokens = Vec::with_capacity(b * l);
        let mut actions = Vec::with_capacity(b * l);
        let mut mask = Vec::with_capacity(b * l * w);
        for e in episodes {
            for t in 0..l {
                tokens.push(if t == 0 { 0 } else { e.actions[t - 1] as i64 + 1 });
                actions.push(e.actions[t] as i64);
                mask.extend(self.allowed(t, &e.actions).into_iter().map(|a| {
                    if a {
                        0.0f32
                    } else {
                        MASKED
                    }
                }));
            }
        }
        let mut one_hot = vec![0.0f32; b * l * l];
        for e in 0..b {
            for t in 0..l {
                one_hot[(e * l + t) * l + t] = 1.0;
            }
        }
        let d = &self.device;
        Batch {
            tokens: Tensor::from_data(TensorData::new(tokens, [b, l]), d),
            one_hot: Tensor::from_data(TensorData::new(one_hot, [b, l, l]), d),
            mask: Tensor::from_data(TensorData::new(mask, [b, l, w]), d),
            actions: Tensor::from_data(TensorData::new(actions, [b, l, 1]), d),
        }
    }

    /// Trains the policy on finished episodes with PPO's clipped surrogate objective plus an
    /// entropy bonus, as tianshou's `PPOPolicy.learn` (which NNI calls) does: `update_times`
    /// rounds; each round takes the log-probabilities of the actions under the policy as it is
    /// at the round's start as the old ones (in the first round, the ones recorded when the
    /// episodes were drawn, so that episodes drawn by an earlier policy are weighted correctly),
    /// then runs `repeat` epochs over the transitions (one per action of a step with more than
    /// one value) in minibatches of about `batch_size` transitions (a short last minibatch joins
    /// the one before), one Adam step each. The weights used by [`Controller::sample`] are
    /// refreshed at the end.
    ///
    /// Two departures from tianshou, both for speed (the tensors are small, so an update costs
    /// what the LSTM costs, which grows with the episodes it runs): a minibatch holds whole
    /// episodes, shuffled each epoch, rather than transitions drawn from all of them, and the
    /// advantages are normalised (less their mean, over their standard deviation) over all the
    /// episodes of the update rather than within each minibatch.
    ///
    /// Errors: [`RuntimeError::Config`] for an experience that is not an episode of this
    /// controller; [`RuntimeError::Panic`] if burn fails (the policy is then left unchanged).
    pub fn update(&mut self, experiences: &[Experience]) -> Result<UpdateReport, RuntimeError> {
        self.check_experiences(experiences, true)?;
        // Only steps with a choice carry a gradient.
        let per_episode = self.steps.iter().filter(|s| s.size > 1).count();
        if experiences.is_empty() || per_episode == 0 {
            return Ok(UpdateReport::default());
        }
        self.guarded(|c| c.run_update(experiences, per_episode))
    }

    /// Checks that every experience is an episode of this controller with a finite advantage
    /// (and, when `log_probs` is set, one recorded log-probability per action).
    fn check_experiences(
        &self,
        experiences: &[Experience],
        log_probs: bool,
    ) -> Result<(), RuntimeError> {
        for x in experiences {
            let e = &x.episode;
            if e.actions.len() != self.steps.len()
                || (log_probs && e.log_probs.len() != self.steps.len())
                || !x.advantage.is_finite()
            {
                return Err(RuntimeError::Config(
                    "an experience is not an episode of this controller".into(),
                ));
            }
            for t in 0..self.steps.len() {
                if !self.allowed(t, &e.actions).get(e.actions[t]).copied().unwrap_or(false) {
                    return Err(RuntimeError::Config(format!(
                        "action {} at step {t} is outside its domain",
                        e.actions[t]
                    )));
                }
            }
        }
        Ok(())
    }

    /// One REINFORCE step (Williams, "Simple Statistical Gradient-Following Algorithms for
    /// Connectionist Reinforcement Learning", Machine Learning 8, 1992), as ENAS (Pham et al.
    /// 2018) trains its controller: ONE Adam step, at [`ControllerConfig::lr`], on the loss
    ///
    /// `-(1/N) sum_e advantage_e * sum_t log pi(a_t)  -  entropy_weight * H`
    ///
    /// over the `N` experiences, where each advantage is the episode's reward less the caller's
    /// baseline (ENAS keeps a moving average of the rewards, decay 0.999; the advantages are
    /// used as given, not normalised) and `H` is the mean entropy of the policy, in nats per
    /// action, over the steps of the episodes that have a choice. The log-probabilities are the
    /// current policy's (the ones recorded in the episodes are not used, and may be empty). NNI
    /// instead adds the (sampled) entropy times its weight to the reward; here it is a
    /// regulariser of the loss, as in [`Controller::update`]. The weights used by
    /// [`Controller::sample`] are refreshed after the step.
    ///
    /// A loss that is not finite takes no step and is counted in [`UpdateReport::skipped`].
    /// No experiences, or episodes without a step that has a choice, take no step either.
    ///
    /// Errors: [`RuntimeError::Config`] for an experience that is not an episode of this
    /// controller or an entropy weight that is negative or not finite; [`RuntimeError::Panic`]
    /// if burn fails (the policy is then left unchanged).
    pub fn reinforce(
        &mut self,
        experiences: &[Experience],
        entropy_weight: f64,
    ) -> Result<UpdateReport, RuntimeError> {
        if !(entropy_weight.is_finite() && entropy_weight >= 0.0) {
            return Err(RuntimeError::Config(
                "the entropy weight must be a non-negative number".into(),
            ));
        }
        self.check_experiences(experiences, false)?;
        let per_episode = self.steps.iter().filter(|s| s.size > 1).count();
        if experiences.is_empty() || per_episode == 0 {
            return Ok(UpdateReport::default());
        }
        self.guarded(|c| c.run_reinforce(experiences, per_episode, entropy_weight))
    }

    /// Runs an update; on success refreshes the sampler's copy of the weights, on failure (an
    /// error or a panic inside burn) restores the policy and the optimizer as they were.
    fn guarded(
        &mut self,
        update: impl FnOnce(&mut Controller) -> Result<UpdateReport, RuntimeError>,
    ) -> Result<UpdateReport, RuntimeError> {
        let policy = self.policy.clone();
        let optim_backup = self.optim.clone();
        let result = super::train::catch_panics(|| update(&mut *self));
        match result {
            Ok(report) => {
                self.mirror =
                    Mirror::of(&self.policy, self.config.hidden, self.width, self.steps.len())?;
                Ok(report)
            }
            Err(e) => {
                self.policy = policy;
                self.optim = optim_backup;
                Err(e)
            }
        }
    }

    fn run_reinforce(
        &mut self,
        experiences: &[Experience],
        per_episode: usize,
        entropy_weight: f64,
    ) -> Result<UpdateReport, RuntimeError> {
        let (n, l) = (experiences.len(), self.steps.len());
        let episodes: Vec<&Episode> = experiences.iter().map(|x| &x.episode).collect();
        let batch = self.batch(&episodes);
        // Steps without a choice have log-probability 0 and entropy 0; they are left out of the
        // entropy's mean.
        let counted: Vec<f32> =
            self.steps.iter().map(|s| if s.size > 1 { 1.0 } else { 0.0 }).collect();
        let adv: Vec<f32> = experiences
            .iter()
            .flat_map(|x| counted.iter().map(move |c| c * (x.advantage / n as f64) as f32))
            .collect();
        let scale = 1.0 / (n * per_episode) as f32;
        let weight: Vec<f32> = (0..n).flat_map(|_| counted.iter().map(|c| c * scale)).collect();
        let d = &self.device;
        let adv = Tensor::<2>::from_data(TensorData::new(adv, [n, l]), d);
        let weight = Tensor::<2>::from_data(TensorData::new(weight, [n, l]), d);
        let (lp, entropy) = self.evaluate(&batch);
        let objective = (lp * adv).sum();
        let entropy = (entropy * weight).sum();
        let loss = objective.clone().neg() - entropy.clone().mul_scalar(entropy_weight);
        let value = loss.clone().into_scalar::<f64>();
        let mut report = UpdateReport {
            first_objective: objective.into_scalar::<f64>(),
            entropy: entropy.into_scalar::<f64>(),
            ..Default::default()
        };
        if !value.is_finite() {
            report.skipped = 1;
            return Ok(report);
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
        self.policy = self.optim.step(self.config.lr, self.policy.clone(), grads);
        report.steps = 1;
        Ok(report)
    }

    fn run_update(
        &mut self,
        experiences: &[Experience],
        per_episode: usize,
    ) -> Result<UpdateReport, RuntimeError> {
        let (n, l) = (experiences.len(), self.steps.len());
        // Advantages normalised over the update (tianshou: (adv - mean) / (std + eps), with the
        // unbiased standard deviation).
        let advs: Vec<f64> = experiences.iter().map(|x| x.advantage).collect();
        let mean = advs.iter().sum::<f64>() / n as f64;
        let std = if n > 1 {
            (advs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        let advs: Vec<f32> =
            advs.iter().map(|a| ((a - mean) / (std + f32::EPSILON as f64)) as f32).collect();
        // The weight of each transition in a minibatch's mean: steps with a choice only.
        let counted: Vec<f32> =
            self.steps.iter().map(|s| if s.size > 1 { 1.0 } else { 0.0 }).collect();
        let group = self.config.batch_size.div_ceil(per_episode).max(1);
        let mut report = UpdateReport { first_objective: f64::NAN, ..Default::default() };
        let mut order: Vec<usize> = (0..n).collect();
        let mut old: Vec<Vec<f32>> =
            experiences.iter().map(|x| x.episode.log_probs.clone()).collect();
        for round in 0..self.config.update_times {
            if round > 0 {
                let all: Vec<&Episode> = experiences.iter().map(|x| &x.episode).collect();
                let lp = self.current_log_probs(&self.batch(&all))?;
                old = lp.chunks(l).map(|c| c.to_vec()).collect();
            }
            for _ in 0..self.config.repeat {
                // Fisher-Yates with the controller's generator.
                for i in (1..n).rev() {
                    let j = self.rng.random_range(0..=i);
                    order.swap(i, j);
                }
                let mut chunks: Vec<&[usize]> = order.chunks(group).collect();
                if chunks.len() > 1 && chunks.last().is_some_and(|c| c.len() < group) {
                    let k = chunks.len();
                    let merged = &order[(k - 2) * group..];
                    chunks.truncate(k - 2);
                    chunks.push(merged);
                }
                for chunk in chunks {
                    let b = chunk.len();
                    let episodes: Vec<&Episode> =
                        chunk.iter().map(|&i| &experiences[i].episode).collect();
                    let batch = self.batch(&episodes);
                    let scale = 1.0 / (b * per_episode) as f32;
                    let weight: Vec<f32> =
                        chunk.iter().flat_map(|_| counted.iter().map(|c| c * scale)).collect();
                    let adv: Vec<f32> =
                        chunk.iter().flat_map(|&i| std::iter::repeat_n(advs[i], l)).collect();
                    let old_lp: Vec<f32> =
                        chunk.iter().flat_map(|&i| old[i].iter().copied()).collect();
                    let d = &self.device;
                    let weight = Tensor::<2>::from_data(TensorData::new(weight, [b, l]), d);
                    let adv = Tensor::<2>::from_data(TensorData::new(adv, [b, l]), d);
                    let old_lp = Tensor::<2>::from_data(TensorData::new(old_lp, [b, l]), d);
                    let (lp, entropy) = self.evaluate(&batch);
                    let ratio = (lp - old_lp).exp();
                    let clipped =
                        ratio.clone().clamp(1.0 - self.config.clip, 1.0 + self.config.clip);
                    let objective = (ratio * adv.clone()).min_pair(clipped * adv);
                    let objective = (objective * weight.clone()).sum();
                    let entropy = (entropy * weight).sum();
                    let loss =
                        objective.clone().neg() - entropy.clone().mul_scalar(self.config.ent_coef);
                    let value = loss.clone().into_scalar::<f64>();
                    if report.first_objective.is_nan() {
                        report.first_objective = objective.into_scalar::<f64>();
                    }
                    report.entropy = entropy.into_scalar::<f64>();
                    if !value.is_finite() {
                        report.skipped += 1;
                        continue;
                    }
                    let grads = GradientsParams::from_grads(loss.backward(), &self.policy);
                    self.policy = self.optim.step(self.config.lr, self.policy.clone(), grads);
                    report.steps += 1;
                }
            }
        }
        Ok(report)
    }
}

/// The tensors of a batch of episodes.
struct Batch {
    /// `[episodes, steps]`: the previous action plus one (0 at the start).
    tokens: Tensor<2, Int>,
    /// `[episodes, steps, steps]`: the one-hot code of each step.
    one_hot: Tensor<3>,
    /// `[episodes, steps, width]`: 0 for an allowed action, [`MASKED`] otherwise.
    mask: Tensor<3>,
    /// `[episodes, steps, 1]`: the actions taken.
    actions: Tensor<3, Int>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decisions() -> Vec<Decision> {
        vec![
            Decision::Categorical(3),
            Decision::Categorical(1),
            Decision::Subset { n: 5, k: 2 },
            Decision::Categorical(7),
        ]
    }

    #[test]
    fn masked_actions_have_probability_zero_and_episodes_stay_in_their_domains() {
        let mut c = Controller::new(&decisions(), &ControllerConfig::default(), 3).unwrap();
        assert_eq!(c.len(), 5);
        let p = c.probabilities(&[]).unwrap();
        assert_eq!(p.len(), 7);
        assert!(p[3..].iter().all(|x| *x == 0.0), "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let p = c.probabilities(&[2, 0, 4]).unwrap();
        assert_eq!(p[4], 0.0, "a subset never picks a value twice");
        assert!(p[5..].iter().all(|x| *x == 0.0) && p[..4].iter().all(|x| *x > 0.0), "{p:?}");
        for _ in 0..200 {
            let e = c.sample();
            assert!(
                e.actions[0] < 3
                    && e.actions[1] == 0
                    && e.actions[2] < 5
                    && e.actions[3] < 5
                    && e.actions[4] < 7,
                "{e:?}"
            );
            assert_ne!(e.actions[2], e.actions[3]);
            assert_eq!(e.log_probs[1], 0.0, "a single value is certain");
        }
    }

    /// The sampler's log-probabilities of a few drawn episodes against burn's.
    fn assert_sampler_agrees(c: &mut Controller) {
        let episodes: Vec<Episode> = (0..6).map(|_| c.sample()).collect();
        let refs: Vec<&Episode> = episodes.iter().collect();
        let burn = c.current_log_probs(&c.batch(&refs)).unwrap();
        let plain: Vec<f32> = episodes.iter().flat_map(|e| e.log_probs.iter().copied()).collect();
        assert_eq!(burn.len(), plain.len());
        for (a, b) in burn.iter().zip(&plain) {
            assert!(
                (a - b).abs() < 1e-4,
                "burn {a} vs plain {b} (tanh {:?})",
                c.config().tanh_constant
            );
        }
    }

    #[test]
    fn the_sampler_and_the_trained_network_agree() {
        for config in [
            ControllerConfig::default(),
            ControllerConfig::enas(),
            ControllerConfig { tanh_constant: Some(0.3), ..Default::default() },
        ] {
            let mut c = Controller::new(&decisions(), &config, 5).unwrap();
            assert_sampler_agrees(&mut c);
        }
        // The squash changes the policy: the same weights give other probabilities.
        let plain = Controller::new(&decisions(), &ControllerConfig::default(), 5).unwrap();
        let squashed = Controller::new(
            &decisions(),
            &ControllerConfig { tanh_constant: Some(0.3), ..Default::default() },
            5,
        )
        .unwrap();
        let (p, q) = (plain.probabilities(&[]).unwrap(), squashed.probabilities(&[]).unwrap());
        assert!(p.iter().zip(&q).any(|(a, b)| (a - b).abs() > 1e-4), "{p:?} vs {q:?}");
    }

    #[test]
    fn an_update_moves_probability_towards_positive_advantages() {
        let d = [Decision::Categorical(4), Decision::Categorical(4)];
        // One minibatch of all 40 episodes.
        let config = ControllerConfig { lr: 1e-2, batch_size: 1000, ..Default::default() };
        let mut c = Controller::new(&d, &config, 1).unwrap();
        let before = c.probabilities(&[]).unwrap()[2];
        let mut xs = Vec::new();
        for _ in 0..40 {
            let episode = c.sample();
            let advantage = if episode.actions[0] == 2 { 1.0 } else { -0.2 };
            xs.push(Experience { episode, advantage });
        }
        let report = c.update(&xs).unwrap();
        assert_eq!(
            (report.steps, report.skipped),
            (25, 0),
            "5 rounds of 5 epochs of one minibatch: {report:?}"
        );
        assert!(report.first_objective.abs() < 1e-4, "the ratios start at 1, so the objective starts at the mean normalised advantage, 0: {report:?}");
        let after = c.probabilities(&[]).unwrap()[2];
        assert!(after > before + 0.05, "p(2) {before} -> {after}");
        // The sampler's weights were refreshed: they agree with burn again.
        let e = c.sample();
        let burn = c.current_log_probs(&c.batch(&[&e])).unwrap();
        assert!(burn.iter().zip(&e.log_probs).all(|(a, b)| (a - b).abs() < 1e-4));
    }

    #[test]
    fn bad_episodes_and_settings_are_errors() {
        let mut c = Controller::new(&decisions(), &ControllerConfig::default(), 0).unwrap();
        assert!(c.log_probs(&[0, 0, 1]).is_err());
        assert!(c.log_probs(&[0, 0, 1, 1, 0]).is_err(), "a subset value twice");
        let bad = Experience {
            episode: Episode { actions: vec![5, 0, 1, 2, 0], log_probs: vec![0.0; 5] },
            advantage: 1.0,
        };
        assert!(c.update(&[bad]).is_err());
        assert!(
            Controller::new(&[Decision::Categorical(0)], &ControllerConfig::default(), 0).is_err()
        );
        assert!(
            Controller::new(&[], &ControllerConfig { lr: 0.0, ..Default::default() }, 0).is_err()
        );
        let mut empty = Controller::new(&[], &ControllerConfig::default(), 0).unwrap();
        assert!(empty.sample().actions.is_empty());
        assert_eq!(empty.update(&[]).unwrap().steps, 0);
    }

    /// The sum of the log-probabilities of `actions` under `c`'s sampler.
    fn sequence_log_prob(c: &Controller, actions: &[usize]) -> f64 {
        c.log_probs(actions).unwrap().iter().map(|x| *x as f64).sum()
    }

    #[test]
    fn reinforce_raises_the_probability_of_a_rewarded_sequence() {
        let config = ControllerConfig { lr: 1e-2, ..ControllerConfig::enas() };
        let mut c = Controller::new(&decisions(), &config, 11).unwrap();
        let target = vec![2, 0, 3, 1, 6];
        let before = sequence_log_prob(&c, &target);
        assert_ne!(c.most_likely(), target);
        // The recorded log-probabilities are not needed.
        let x = Experience {
            episode: Episode { actions: target.clone(), log_probs: Vec::new() },
            advantage: 1.0,
        };
        let report = c.reinforce(std::slice::from_ref(&x), 1e-4).unwrap();
        assert_eq!((report.steps, report.skipped), (1, 0), "{report:?}");
        assert!((report.first_objective - before).abs() < 1e-4, "one episode of advantage 1: the objective is its log-probability: {report:?} vs {before}");
        assert!(report.entropy > 0.0 && report.entropy < (7.0f64).ln(), "{report:?}");
        let once = sequence_log_prob(&c, &target);
        assert!(once > before, "log p {before} -> {once}");
        for _ in 0..20 {
            c.reinforce(std::slice::from_ref(&x), 1e-4).unwrap();
        }
        let after = sequence_log_prob(&c, &target);
        assert!(after > once + 1.0, "log p {before} -> {once} -> {after}");
        assert_eq!(c.most_likely(), target, "the pushed-up sequence is the greedy one");
        // On a fresh controller (no momentum yet), a negative advantage pushes it down.
        let mut fresh = Controller::new(&decisions(), &config, 11).unwrap();
        fresh.reinforce(&[Experience { advantage: -1.0, ..x }], 0.0).unwrap();
        assert!(sequence_log_prob(&fresh, &target) < before);
        // The sampler's weights were refreshed: they agree with burn again.
        assert_sampler_agrees(&mut c);
    }

    #[test]
    fn reinforce_raises_the_mean_reward_of_a_toy_task() {
        // Reward: the fraction of steps that choose action 0.
        let d = [
            Decision::Categorical(3),
            Decision::Categorical(4),
            Decision::Subset { n: 4, k: 2 },
            Decision::Categorical(2),
        ];
        let reward = |e: &Episode| {
            e.actions.iter().filter(|a| **a == 0).count() as f64 / e.actions.len() as f64
        };
        let config = ControllerConfig { lr: 5e-3, ..ControllerConfig::enas() };
        let mut c = Controller::new(&d, &config, 2).unwrap();
        let mean_reward =
            |c: &mut Controller| (0..200).map(|_| reward(&c.sample())).sum::<f64>() / 200.0;
        let before = mean_reward(&mut c);
        let mut baseline: Option<f64> = None;
        for _ in 0..50 {
            let episodes: Vec<Episode> = (0..8).map(|_| c.sample()).collect();
            let rewards: Vec<f64> = episodes.iter().map(reward).collect();
            let b = *baseline.get_or_insert(rewards.iter().sum::<f64>() / 8.0);
            let xs: Vec<Experience> = episodes
                .into_iter()
                .zip(&rewards)
                .map(|(episode, r)| Experience { episode, advantage: r - b })
                .collect();
            let report = c.reinforce(&xs, 1e-4).unwrap();
            assert_eq!(report.steps, 1);
            for r in &rewards {
                baseline = Some(0.9 * baseline.unwrap_or(*r) + 0.1 * r);
            }
        }
        let after = mean_reward(&mut c);
        assert!(after > before + 0.15, "mean reward {before} -> {after}");
        // The greedy episode chooses 0 wherever it can (a subset's second pick cannot).
        assert_eq!(c.most_likely().iter().filter(|a| **a == 0).count(), 4, "{:?}", c.most_likely());
    }

    #[test]
    fn the_most_likely_episode_takes_the_argmax_within_the_masks() {
        for seed in 0..5 {
            let c = Controller::new(&decisions(), &ControllerConfig::enas(), seed).unwrap();
            let greedy = c.most_likely();
            assert_eq!(greedy.len(), 5);
            assert!(c.log_probs(&greedy).is_ok(), "in every step's domain: {greedy:?}");
            assert_ne!(greedy[2], greedy[3], "a subset never picks a value twice");
            for t in 0..greedy.len() {
                let p = c.probabilities(&greedy[..t]).unwrap();
                assert!(p.iter().all(|q| *q <= p[greedy[t]]), "step {t}: {p:?} vs {greedy:?}");
            }
        }
        let mut c = Controller::new(&decisions(), &ControllerConfig::default(), 3).unwrap();
        let rng = c.rng.clone();
        c.most_likely();
        assert_eq!(
            c.sample(),
            Controller {
                rng,
                ..Controller::new(&decisions(), &ControllerConfig::default(), 3).unwrap()
            }
            .sample(),
            "draws nothing"
        );
        assert!(Controller::new(&[], &ControllerConfig::enas(), 0)
            .unwrap()
            .most_likely()
            .is_empty());
    }

    /// The largest ratio of two allowed actions' probabilities at any step of a few sampled
    /// episodes.
    fn largest_ratio(c: &mut Controller) -> f64 {
        let mut worst = 1.0f64;
        for _ in 0..20 {
            let e = c.sample();
            for t in 0..e.actions.len() {
                let p: Vec<f64> = c
                    .probabilities(&e.actions[..t])
                    .unwrap()
                    .into_iter()
                    .filter(|q| *q > 0.0)
                    .collect();
                let (max, min) =
                    (p.iter().copied().fold(0.0, f64::max), p.iter().copied().fold(1.0, f64::min));
                worst = worst.max(max / min);
            }
        }
        worst
    }

    #[test]
    fn the_tanh_constant_bounds_the_probability_ratios() {
        // Push one sequence hard, so that unsquashed logits would grow far apart.
        let target = [2, 0, 3, 1, 6];
        let x = Experience {
            episode: Episode { actions: target.to_vec(), log_probs: Vec::new() },
            advantage: 1.0,
        };
        let train = |tanh_constant| {
            let mut c = Controller::new(
                &decisions(),
                &ControllerConfig { lr: 3e-2, tanh_constant, ..Default::default() },
                4,
            )
            .unwrap();
            for _ in 0..40 {
                c.reinforce(std::slice::from_ref(&x), 0.0).unwrap();
            }
            c
        };
        let mut squashed = train(Some(1.5));
        let ratio = largest_ratio(&mut squashed);
        assert!(ratio <= 3.0f64.exp() * (1.0 + 1e-5), "max/min probability {ratio} > e^3");
        assert!(ratio > 3.0f64.exp() * 0.9, "the bound is nearly reached: {ratio}");
        assert_sampler_agrees(&mut squashed);
        let ratio = largest_ratio(&mut train(None));
        assert!(
            ratio > 3.0f64.exp(),
            "without the squash the same training goes beyond e^3: {ratio}"
        );
    }

    #[test]
    fn enas_settings_and_bad_reinforce_arguments() {
        let enas = ControllerConfig::enas();
        assert_eq!((enas.hidden, enas.lr, enas.tanh_constant), (64, 3.5e-4, Some(1.5)));
        assert!(enas.check().is_ok());
        assert_eq!(ControllerConfig::default().tanh_constant, None);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                ControllerConfig { tanh_constant: Some(bad), ..ControllerConfig::enas() }
                    .check()
                    .is_err(),
                "{bad}"
            );
        }
        let mut c = Controller::new(&decisions(), &enas, 0).unwrap();
        let x = Experience { episode: c.sample(), advantage: 1.0 };
        assert!(c.reinforce(std::slice::from_ref(&x), -1.0).is_err());
        assert!(c.reinforce(std::slice::from_ref(&x), f64::NAN).is_err());
        let outside = Experience {
            episode: Episode { actions: vec![5, 0, 1, 2, 0], log_probs: Vec::new() },
            advantage: 1.0,
        };
        assert!(c.reinforce(&[outside], 0.0).is_err());
        let nan = Experience { advantage: f64::NAN, ..x.clone() };
        assert!(c.reinforce(&[nan], 0.0).is_err());
        assert_eq!(c.reinforce(&[], 0.0).unwrap(), UpdateReport::default());
        // An advantage beyond f32 makes the loss infinite: the step is skipped.
        let before = c.probabilities(&[]).unwrap();
        let huge = Experience { advantage: 1e300, ..x };
        let report = c.reinforce(&[huge], 0.0).unwrap();
        assert_eq!((report.steps, report.skipped), (0, 1), "{report:?}");
        assert_eq!(c.probabilities(&[]).unwrap(), before);
    }

    #[test]
    fn a_seed_determines_the_controller() {
        let run = |seed| {
            let mut c = Controller::new(&decisions(), &ControllerConfig::default(), seed).unwrap();
            let xs: Vec<Experience> =
                (0..20).map(|i| Experience { episode: c.sample(), advantage: i as f64 }).collect();
            c.update(&xs).unwrap();
            (0..5).map(|_| c.sample()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
