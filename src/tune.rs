//! Fine-tuning all-MiniLM-L6-v2: its layers tuned together with a linear head, on
//! (question, answer) pairs read as one BERT input (`[CLS] question [SEP] answer [SEP]`),
//! mean-pooled. Two uses:
//! - sentiment ([`train`], [`TunedSentiment`]): a five-grade softmax head;
//! - the codes of an officer-coded sample ([`train_encoder`], for `consult train`): one
//!   sigmoid per code (binary cross-entropy); only the tuned encoder is kept, written as a
//!   sentence-model folder that the code heads then read answers with. `consult train`
//!   leaves the embeddings and the lowest layer as they are ([`Settings::frozen_layers`]),
//!   which makes its three epochs cost what two of every weight did. A sample under 500
//!   answers is fine-tuned SetFit-style instead ([`train_encoder_contrastive`]): each answer
//!   read alone, on pairs that share a code or share none, with no head.
//!
//! Training is AdamW with a linear warm-up (10% of steps) and linear decay,
//! batches of 16 drawn from length-sorted buckets, dropout on, seeded: the same data and
//! the same settings give the same weights on the same machine. The tuned network is saved as
//! `model.safetensors` (fp32, ~87 MB) beside a `meta.json` that says how it was made and how
//! it scored on the held-out fold. It is not committed: `make sentiment-model` rebuilds it.
//!
//! Inference ([`TunedSentiment`]) runs like the embedding model: several single-threaded
//! copies take length-packed batches from one queue (bf16 where the CPU multiplies it).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use rust_bert::bert::{BertConfig, BertEmbeddings, BertModel};
use rust_bert::pipelines::common::TokenizerOption;
use rust_bert::Config;
use rust_tokenizers::tokenizer::TruncationStrategy;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

use crate::cache::{self, Store};
use crate::codebook::hex;
use crate::model::{self, plan_batches, Precision};
use crate::sentiment::GRADES;

/// The weights file in a tuned model's folder.
pub const WEIGHTS: &str = "model.safetensors";
/// How the tuned model was made and scored.
pub const META: &str = "meta.json";
/// Token limit of one (question, answer) input; longer pairs lose tokens from the longer side.
pub const MAX_TOKENS: usize = 128;
const HEAD: &str = "sentiment_head";
const CODES_HEAD: &str = "codes_head";

/// The network: BERT (no pooler) and a linear head over the mean of the token states.
struct PairNet {
    vs: nn::VarStore,
    bert: BertModel<BertEmbeddings>,
    head: nn::Linear,
}

impl PairNet {
    /// Builds the sentiment network and fills it from `weights`: the base sentence model (the
    /// head starts from a seeded random draw) or a tuned model (every variable must be there).
    fn load(base: &Path, weights: &Path, tuned: bool) -> Result<PairNet> {
        PairNet::load_with(base, weights, tuned, HEAD, GRADES)
    }

    fn load_with(base: &Path, weights: &Path, tuned: bool, head: &str, outputs: usize) -> Result<PairNet> {
        let mut net = PairNet::build_with(base, head, outputs);
        let vs = &mut net.vs;
        if tuned {
            vs.load(weights).with_context(|| format!("loading the tuned sentiment model {}", weights.display()))?;
        } else {
            let missing = vs.load_partial(weights).with_context(|| format!("loading {}", weights.display()))?;
            if let Some(m) = missing.iter().find(|m| !m.starts_with(head)) {
                bail!("{}: no weights for {m}: not a BERT sentence model", weights.display());
            }
        }
        Ok(net)
    }

    /// The sentiment network with freshly initialised (seeded random) weights.
    fn build(base: &Path) -> PairNet {
        PairNet::build_with(base, HEAD, GRADES)
    }

    fn build_with(base: &Path, head: &str, outputs: usize) -> PairNet {
        let config = BertConfig::from_file(base.join("config.json"));
        let vs = nn::VarStore::new(Device::Cpu);
        let bert = BertModel::<BertEmbeddings>::new_with_optional_pooler(vs.root(), &config, false);
        let head = nn::linear(vs.root().set_group(1) / head, config.hidden_size, outputs as i64, Default::default());
        PairNet { vs, bert, head }
    }

    /// The mean of the token states of each input of one padded batch, in fp32 whatever the
    /// network computes in.
    fn pooled(&self, batch: &Batch, train: bool) -> Result<Tensor> {
        let out = self
            .bert
            .forward_t(Some(&batch.ids), Some(&batch.mask), Some(&batch.types), None, None, None, None, train)
            .map_err(|e| anyhow!("sentiment model forward pass: {e}"))?;
        let m = batch.mask.unsqueeze(-1).to_kind(Kind::Float);
        Ok((out.hidden_state.to_kind(Kind::Float) * &m).sum_dim_intlist(1, false, None) / m.sum_dim_intlist(1, false, None))
    }

    /// Grade logits for one padded batch (the head in its own number format).
    fn logits(&self, batch: &Batch, train: bool) -> Result<Tensor> {
        let pooled = self.pooled(batch, train)?;
        Ok(self.head.forward(&pooled.to_kind(self.head.ws.kind())).to_kind(Kind::Float))
    }

    /// Leaves the embeddings and the lowest `layers` layers as they are (none when 0).
    fn freeze(&self, layers: usize) {
        let frozen: Vec<String> = (0..layers).map(|i| format!("encoder.layer.{i}.")).collect();
        for (name, t) in self.vs.variables() {
            if (layers > 0 && name.starts_with("embeddings.")) || frozen.iter().any(|l| name.starts_with(l.as_str())) {
                let _ = t.set_requires_grad(false);
            }
        }
    }
}

/// Token ids of (question, answer) pairs, unpadded, end to end: pair `i` is
/// `ids[start[i]..start[i + 1]]`. Compact (4 + 1 bytes a token), since `analyse` holds every
/// distinct pair of a large export at once.
struct Encoded {
    ids: Vec<u32>,
    types: Vec<u8>,
    start: Vec<usize>,
}

impl Encoded {
    fn len_of(&self, i: usize) -> usize {
        self.start[i + 1] - self.start[i]
    }

    /// Every pair's length in tokens.
    fn lengths(&self) -> Vec<usize> {
        self.start.windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Inputs tokenised a block at a time by `tokenise`: the tokenizer's full output (offsets,
    /// masks, ...) is many times the size of the ids, so only a block of it exists at once.
    fn build<T>(items: &[T], tokenise: impl Fn(&[T]) -> Vec<rust_tokenizers::TokenizedInput>) -> Encoded {
        let mut enc = Encoded { ids: Vec::new(), types: Vec::new(), start: vec![0] };
        for block in items.chunks(1024) {
            for e in tokenise(block) {
                enc.ids.extend(e.token_ids.iter().map(|&t| t as u32));
                enc.types.extend(e.segment_ids.iter().map(|&s| s as u8));
                enc.start.push(enc.ids.len());
            }
        }
        enc.ids.shrink_to_fit();
        enc.types.shrink_to_fit();
        enc
    }
}

/// (question, answer) pairs as one input each, `[CLS] question [SEP] answer [SEP]`.
fn encode(tok: &TokenizerOption, pairs: &[(&str, &str)]) -> Encoded {
    Encoded::build(pairs, |block| tok.encode_pair_list(block, MAX_TOKENS, &TruncationStrategy::LongestFirst, 0))
}

struct Batch {
    ids: Tensor,
    mask: Tensor,
    types: Tensor,
}

/// Pads the chosen items to the batch's longest (pad id 0, mask 0).
fn batch(enc: &Encoded, items: &[usize]) -> Batch {
    let len = items.iter().map(|&i| enc.len_of(i)).max().unwrap_or(1);
    let (mut ids, mut mask, mut types) = (Vec::new(), Vec::new(), Vec::new());
    for &i in items {
        let (a, b) = (enc.start[i], enc.start[i + 1]);
        let pad = len - (b - a);
        ids.extend(enc.ids[a..b].iter().map(|&t| t as i64).chain(std::iter::repeat_n(0, pad)));
        types.extend(enc.types[a..b].iter().map(|&t| t as i64).chain(std::iter::repeat_n(0, pad)));
        mask.extend(std::iter::repeat_n(1i64, b - a).chain(std::iter::repeat_n(0, pad)));
    }
    let shape = [items.len() as i64, len as i64];
    Batch {
        ids: Tensor::from_slice(&ids).view(shape),
        mask: Tensor::from_slice(&mask).view(shape),
        types: Tensor::from_slice(&types).view(shape),
    }
}

/// Training settings (recorded in `meta.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub epochs: usize,
    pub batch_size: usize,
    pub encoder_learning_rate: f64,
    pub head_learning_rate: f64,
    pub weight_decay: f64,
    pub warmup_fraction: f64,
    pub seed: u64,
    /// Share of each target's probability spread evenly over the grades (0: plain
    /// cross-entropy).
    #[serde(default)]
    pub label_smoothing: f64,
    /// Keep the embeddings (word, position and segment tables: half the model's weights) and
    /// the first this many of the six layers as they are, when above 0: the backward pass
    /// stops above them and each step updates fewer weights, so training is faster.
    #[serde(default)]
    pub frozen_layers: usize,
    /// Weight of an auxiliary loss on the NHS FFT theme codes of the examples that carry them
    /// (binary cross-entropy over extra outputs of the head, dropped when the model is saved);
    /// 0: grades only.
    #[serde(default)]
    pub theme_weight: f64,
    /// R-Drop (Liang et al. 2021): each batch is read twice, under different dropout, and this
    /// weight times the symmetric KL divergence between the two readings' grade
    /// distributions joins the loss (0: read once).
    #[serde(default)]
    pub rdrop: f64,
    /// Stop after this many optimiser steps, when fewer than `epochs` epochs take: the last
    /// epoch is then a partial one, and the warm-up and decay are spread over these steps.
    /// None: every epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
}

impl Settings {
    /// Optimiser steps in one epoch over `items` training items.
    fn steps_per_epoch(&self, items: usize) -> usize {
        items.div_ceil(self.batch_size)
    }

    /// Cuts these settings to at most `budget` answer-epochs over `answers` (answers times
    /// epochs): fewer than `epochs` epochs, the last a partial one, when the sample is larger
    /// than `budget / epochs`. Returns the epochs they now run (fractional).
    pub fn within_budget(&mut self, answers: usize, budget: usize) -> f64 {
        let epochs = (self.epochs as f64).min(budget as f64 / answers.max(1) as f64);
        if epochs < self.epochs as f64 {
            self.max_steps = Some(((epochs * self.steps_per_epoch(answers) as f64).round() as usize).max(1));
        }
        epochs
    }

    /// The share of the learning rates at `step` (from 0) of `steps`: a linear warm-up over the
    /// first `warmup_fraction` of the steps, then a linear decay to 0.
    fn schedule(&self, step: usize, steps: f64) -> f64 {
        ((step as f64 + 1.0) / (self.warmup_fraction * steps)).min(1.0) * ((steps - step as f64) / steps).max(0.0)
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            epochs: 3,
            batch_size: 16,
            encoder_learning_rate: 5e-5,
            head_learning_rate: 1e-3,
            weight_decay: 0.01,
            warmup_fraction: 0.1,
            seed: 0,
            label_smoothing: 0.0,
            frozen_layers: 0,
            theme_weight: 0.0,
            rdrop: 0.0,
            max_steps: None,
        }
    }
}

/// One training example: a (question, answer) pair, its grade (0 = very positive .. 4) and
/// the weight of its loss.
pub struct Example<'a> {
    pub question: &'a str,
    pub text: &'a str,
    pub grade: usize,
    pub weight: f32,
    /// Theme codes (1/0 per code) for the auxiliary loss, when the example has them.
    pub themes: Option<&'a [f32]>,
}

/// SplitMix64: a small seeded generator for the shuffles (no dependency, stable across
/// platforms and crate versions).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// One epoch's batches: the items shuffled, cut into buckets of 20 batches, each bucket sorted
/// by length and cut into batches, the batches shuffled (little padding, random order).
fn epoch_batches(lengths: &[usize], size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut idx: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut idx);
    let mut batches = Vec::new();
    for bucket in idx.chunks(size * 20) {
        let mut b = bucket.to_vec();
        b.sort_by_key(|&i| lengths[i]);
        batches.extend(b.chunks(size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

/// Fine-tunes the base sentence model on `examples` and writes `model.safetensors` into `out`.
/// `progress` hears each epoch's mean loss.
pub fn train(base: &Path, examples: &[Example], s: &Settings, out: &Path, progress: &dyn Fn(usize, f64)) -> Result<()> {
    if examples.is_empty() {
        bail!("no training examples");
    }
    let pairs: Vec<(&str, &str)> = examples.iter().map(|e| (e.question, e.text)).collect();
    let k = if s.theme_weight > 0.0 { examples.iter().find_map(|e| e.themes.map(<[f32]>::len)).unwrap_or(0) } else { 0 };
    let loss = |logits: Tensor, items: &[usize]| -> Tensor {
        let y = Tensor::from_slice(&items.iter().map(|&i| examples[i].grade as i64).collect::<Vec<_>>());
        let w = Tensor::from_slice(&items.iter().map(|&i| examples[i].weight).collect::<Vec<_>>());
        let logp = logits.narrow(1, 0, GRADES as i64).log_softmax(-1, Kind::Float);
        let nll = -logp.gather(1, &y.unsqueeze(1), false).squeeze_dim(1) * (1.0 - s.label_smoothing)
            - logp.mean_dim(-1, false, Kind::Float) * s.label_smoothing;
        let grades = (nll * &w).sum(Kind::Float) / w.sum(Kind::Float);
        let with: Vec<i64> = items.iter().enumerate().filter(|(_, &i)| examples[i].themes.is_some()).map(|(j, _)| j as i64).collect();
        if k == 0 || with.is_empty() {
            return grades;
        }
        let t: Vec<f32> = items.iter().filter_map(|&i| examples[i].themes).flat_map(|t| t.iter().copied()).collect();
        let t = Tensor::from_slice(&t).view([with.len() as i64, k as i64]);
        let out = logits.narrow(1, GRADES as i64, k as i64).index_select(0, &Tensor::from_slice(&with));
        grades + out.binary_cross_entropy_with_logits::<&Tensor>(&t, None, None, tch::Reduction::Mean) * s.theme_weight
    };
    let net = fit(base, &pairs, HEAD, GRADES + k, s, &loss, progress)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if k == 0 {
        net.vs.save(out.join(WEIGHTS)).with_context(|| format!("writing {}", out.join(WEIGHTS).display()))?;
    } else {
        // The theme outputs were for training only: the saved head gives the grades.
        let named: Vec<(String, Tensor)> = net
            .vs
            .variables()
            .into_iter()
            .map(|(name, t)| if name.starts_with(HEAD) { (name, t.narrow(0, 0, GRADES as i64)) } else { (name, t) })
            .collect();
        Tensor::write_safetensors(&named, out.join(WEIGHTS)).with_context(|| format!("writing {}", out.join(WEIGHTS).display()))?;
    }
    Ok(())
}

/// Fine-tunes the base sentence model on (question, answer) pairs with one sigmoid output per
/// code (`targets[i][c]` 1 when pair `i` carries code `c`; binary cross-entropy, positives
/// weighted by the square root of the code's negative-to-positive ratio), and writes the tuned
/// encoder, without the head, into `out` as a sentence-model folder: the base folder's
/// config, tokenizer and pooling files beside the new `model.safetensors`.
pub fn train_encoder(
    base: &Path,
    pairs: &[(&str, &str)],
    targets: &[Vec<f32>],
    s: &Settings,
    out: &Path,
    progress: &dyn Fn(usize, f64),
) -> Result<()> {
    let k = targets.first().map_or(0, Vec::len);
    if pairs.is_empty() || k == 0 {
        bail!("no training examples");
    }
    let n = targets.len() as f32;
    let pos_weight: Vec<f32> = (0..k)
        .map(|c| {
            let p = (targets.iter().map(|t| t[c]).sum::<f32>() / n).max(1e-3);
            ((1.0 - p) / p).sqrt()
        })
        .collect();
    let pos_weight = Tensor::from_slice(&pos_weight);
    let loss = |logits: Tensor, items: &[usize]| -> Tensor {
        let y: Vec<f32> = items.iter().flat_map(|&i| targets[i].iter().copied()).collect();
        let y = Tensor::from_slice(&y).view([items.len() as i64, k as i64]);
        logits.binary_cross_entropy_with_logits::<&Tensor>(&y, None, Some(&pos_weight), tch::Reduction::Mean)
    };
    let net = fit(base, pairs, CODES_HEAD, k, s, &loss, progress)?;
    save_encoder(&net, base, out)
}

/// How many rounds of contrastive pairs a sample of `answers` gets from a budget of `budget`
/// answer-rounds: the budget shared out, rounded, between 5 and 20. Fine-tuning time follows
/// the pairs, so a small sample, whose pairs are few, gets more passes over them in about the
/// time 5 rounds take for the budget's answers; a larger one keeps 5 rounds, since 4 scored
/// lower on 470 answers (BENCHMARKS.md §4).
pub fn contrastive_rounds(answers: usize, budget: usize) -> usize {
    ((budget as f64 / answers.max(1) as f64).round() as usize).clamp(5, 20)
}

/// SetFit-style contrastive fine-tuning (Tunstall et al. 2022, "Efficient few-shot learning
/// without prompts") for a small coded sample, where fine-tuning with a head on the codes did
/// worse than the base model. Each round gives every answer one partner that shares a code
/// with it (target cosine 1) and one that shares none (target 0), drawn with the seed; the
/// encoder reads each answer alone, mean-pooled and normalised, as the heads will read it, and
/// learns the targets by mean squared error: one pass over the pairs, batches of
/// `s.batch_size` pairs from length-sorted buckets, AdamW at `s.encoder_learning_rate` with the
/// usual warm-up and decay. `codes[i]` are answer `i`'s codes (any ids). Writes the encoder as
/// [`train_encoder`] does; returns how many pairs it learnt from.
pub fn train_encoder_contrastive(
    base: &Path,
    texts: &[&str],
    codes: &[Vec<String>],
    rounds: usize,
    s: &Settings,
    out: &Path,
    progress: &dyn Fn(usize, f64),
) -> Result<usize> {
    let n = texts.len();
    if n < 2 || rounds == 0 {
        bail!("contrastive fine-tuning needs at least two answers and one round");
    }
    let mut rng = Rng(s.seed);
    let mut by_code: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, cs) in codes.iter().enumerate() {
        for c in cs {
            by_code.entry(c.as_str()).or_default().push(i);
        }
    }
    let shares = |i: usize, j: usize| codes[i].iter().any(|c| codes[j].contains(c));
    let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
    for _ in 0..rounds {
        for (i, cs) in codes.iter().enumerate() {
            if !cs.is_empty() {
                let code = &cs[(rng.next() % cs.len() as u64) as usize];
                let others: Vec<usize> = by_code[code.as_str()].iter().copied().filter(|&j| j != i).collect();
                if !others.is_empty() {
                    pairs.push((i, others[(rng.next() % others.len() as u64) as usize], 1.0));
                }
            }
            // A partner sharing no code: a few draws, since most answers share none.
            for _ in 0..20 {
                let j = (rng.next() % n as u64) as usize;
                if j != i && !shares(i, j) {
                    pairs.push((i, j, 0.0));
                    break;
                }
            }
        }
    }
    if pairs.is_empty() {
        bail!("no pairs to learn from: the answers' codes give neither a shared nor an unshared pair");
    }
    let (net, tok) = start(base, CODES_HEAD, 1, s)?;
    let enc = Encoded::build(texts, |block| tok.encode_list(block, MAX_TOKENS, &TruncationStrategy::LongestFirst, 0));
    let lengths: Vec<usize> = pairs.iter().map(|&(i, j, _)| enc.len_of(i).max(enc.len_of(j))).collect();
    let batches = epoch_batches(&lengths, s.batch_size, &mut rng);
    let mut opt = nn::AdamW { wd: s.weight_decay, ..Default::default() }.build(&net.vs, s.encoder_learning_rate)?;
    let steps = batches.len() as f64;
    let mut total = 0.0;
    for (step, items) in batches.iter().enumerate() {
        opt.set_lr_group(0, s.encoder_learning_rate * s.schedule(step, steps));
        opt.set_lr_group(1, 0.0);
        // Both sides of the batch's pairs in one pass: the first half, then their partners.
        let both: Vec<usize> = items.iter().map(|&p| pairs[p].0).chain(items.iter().map(|&p| pairs[p].1)).collect();
        let v = net.pooled(&batch(&enc, &both), true)?;
        let v = &v / v.norm_scalaropt_dim(2, [1], true).clamp_min(1e-12);
        let k = items.len() as i64;
        let cos = (v.narrow(0, 0, k) * v.narrow(0, k, k)).sum_dim_intlist(1, false, None);
        let target = Tensor::from_slice(&items.iter().map(|&p| pairs[p].2).collect::<Vec<f32>>());
        let loss = cos.mse_loss(&target, tch::Reduction::Mean);
        opt.backward_step(&loss);
        total += loss.double_value(&[]);
    }
    progress(1, total / steps);
    save_encoder(&net, base, out)?;
    Ok(pairs.len())
}

/// Writes a tuned network's encoder, without its head, into `out` as a sentence-model folder:
/// the base folder's config, tokenizer and pooling files beside the new `model.safetensors`.
fn save_encoder(net: &PairNet, base: &Path, out: &Path) -> Result<()> {
    copy_model_files(base, out)?;
    // The tuned tensors, and the base model's others (the pooler, which mean pooling does not
    // use but the sentence model loader expects) as they were.
    let mut named: Vec<(String, Tensor)> =
        net.vs.variables().into_iter().filter(|(name, _)| !name.starts_with(CODES_HEAD)).collect();
    let base_weights = base.join(WEIGHTS);
    for (name, t) in Tensor::read_safetensors(&base_weights).with_context(|| format!("reading {}", base_weights.display()))? {
        if !named.iter().any(|(n, _)| n == &name) {
            named.push((name, t));
        }
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&named, out.join(WEIGHTS)).with_context(|| format!("writing {}", out.join(WEIGHTS).display()))?;
    Ok(())
}

/// Copies a sentence-model folder's files, all but its weights, from `base` into `out`.
fn copy_model_files(base: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for entry in std::fs::read_dir(base).with_context(|| format!("reading {}", base.display()))? {
        let path = entry?.path();
        let name = path.file_name().expect("a folder entry has a name").to_owned();
        if path.is_dir() {
            copy_model_files(&path, &out.join(&name))?;
        } else if name != WEIGHTS && path.extension().is_some_and(|e| e == "json" || e == "txt") {
            std::fs::copy(&path, out.join(&name)).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// The base model with a fresh `outputs`-wide head named `head` (seeded by `s.seed`), its
/// lowest layers frozen as `s` says, and its tokenizer: where every training starts.
fn start(base: &Path, head: &str, outputs: usize, s: &Settings) -> Result<(PairNet, TokenizerOption)> {
    tch::manual_seed(s.seed as i64);
    let net = PairNet::load_with(base, &base.join(WEIGHTS), false, head, outputs)?;
    net.freeze(s.frozen_layers);
    Ok((net, model::load_tokenizer(base)?))
}

/// The training loop both uses share: the base model with a fresh `outputs`-wide head named
/// `head`, trained on `pairs` with `loss(logits, batch items)`; returns the trained network.
fn fit(
    base: &Path,
    pairs: &[(&str, &str)],
    head: &str,
    outputs: usize,
    s: &Settings,
    loss: &dyn Fn(Tensor, &[usize]) -> Tensor,
    progress: &dyn Fn(usize, f64),
) -> Result<PairNet> {
    let (net, tok) = start(base, head, outputs, s)?;
    let enc = encode(&tok, pairs);
    let lengths = enc.lengths();
    let mut opt = nn::AdamW { wd: s.weight_decay, ..Default::default() }.build(&net.vs, s.encoder_learning_rate)?;
    let per_epoch = s.steps_per_epoch(pairs.len());
    let last = s.max_steps.map_or(s.epochs * per_epoch, |m| m.clamp(1, s.epochs * per_epoch));
    let steps = last as f64;
    let mut rng = Rng(s.seed);
    let mut step = 0usize;
    for epoch in 0..s.epochs {
        if step == last {
            break;
        }
        let mut total = 0.0;
        let batches = epoch_batches(&lengths, s.batch_size, &mut rng);
        let batches = &batches[..batches.len().min(last - step)];
        for items in batches {
            let f = s.schedule(step, steps);
            opt.set_lr_group(0, s.encoder_learning_rate * f);
            opt.set_lr_group(1, s.head_learning_rate * f);
            let loss = if s.rdrop > 0.0 {
                // Both readings in one batch: the same items twice, each row its own dropout.
                let twice: Vec<usize> = items.iter().chain(items.iter()).copied().collect();
                let logits = net.logits(&batch(&enc, &twice), true)?;
                let kl = halves_kl(&logits);
                loss(logits, &twice) + kl * s.rdrop
            } else {
                loss(net.logits(&batch(&enc, items), true)?, items)
            };
            opt.backward_step(&loss);
            total += loss.double_value(&[]);
            step += 1;
        }
        progress(epoch + 1, total / batches.len() as f64);
    }
    Ok(net)
}

/// R-Drop's consistency term: `logits` holds two readings of the same items, the first half of
/// the rows and the second; the symmetric KL divergence between their grade distributions
/// (the first `GRADES` outputs), (KL(p||q) + KL(q||p)) / 2, averaged over the items.
fn halves_kl(logits: &Tensor) -> Tensor {
    let n = logits.size()[0] / 2;
    let g = (GRADES as i64).min(logits.size()[1]);
    let lp = logits.narrow(0, 0, n).narrow(1, 0, g).log_softmax(-1, Kind::Float);
    let lq = logits.narrow(0, n, n).narrow(1, 0, g).log_softmax(-1, Kind::Float);
    ((lp.exp() - lq.exp()) * (&lp - &lq)).sum(Kind::Float) / (2 * n) as f64
}

/// The tuned sentiment model, ready to score (question, answer) pairs. The network is
/// loaded on first use; with a cache ([`TunedSentiment::with_cache`]), pairs scored before
/// (same model, same precision) are read back, not run again.
pub struct TunedSentiment {
    dir: PathBuf,
    base: PathBuf,
    precision: Precision,
    copies: usize,
    nets: OnceLock<Vec<Mutex<PairNet>>>,
    tokenizer: TokenizerOption,
    cache: Option<Mutex<Store>>,
    /// The word model blended into the network's probabilities (`words.json`), when there.
    words: Option<Box<crate::sentiment::WordModel>>,
    pub meta: serde_json::Value,
    /// Upper bound on padded tokens in one batch.
    pub token_budget: usize,
}

impl TunedSentiment {
    /// Whether `dir` holds a tuned model.
    pub fn is_model(dir: &Path) -> bool {
        dir.join(WEIGHTS).is_file()
    }

    /// The tuned model in `dir` (run as `copies` copies side by side), with the base model's
    /// config and vocabulary from `base`. Reads the metadata; the network loads on first use.
    pub fn load(dir: &Path, base: &Path, precision: Precision, copies: usize) -> Result<TunedSentiment> {
        if !TunedSentiment::is_model(dir) {
            bail!("{}: no {WEIGHTS}: not a tuned sentiment model", dir.display());
        }
        let meta: serde_json::Value = match std::fs::read_to_string(dir.join(META)) {
            Ok(s) => serde_json::from_str(&s).with_context(|| format!("{}: not JSON", dir.join(META).display()))?,
            Err(_) => serde_json::Value::Null,
        };
        Ok(TunedSentiment {
            dir: dir.to_path_buf(),
            base: base.to_path_buf(),
            precision,
            copies: copies.max(1),
            nets: OnceLock::new(),
            tokenizer: model::load_tokenizer(base)?,
            cache: None,
            words: match dir.join(crate::sentiment::WORDS_FILE) {
                p if p.is_file() => Some(Box::new(crate::sentiment::WordModel::load(&p)?)),
                _ => None,
            },
            meta,
            token_budget: 2048,
        })
    }

    /// Keeps scored pairs in the store `<cache_dir>/sentiment-<key>.emb`, keyed by the tuned
    /// weights' checksum and the precision.
    pub fn with_cache(mut self, cache_dir: &Path) -> Result<TunedSentiment> {
        let sha = match self.meta.get("weights_sha256").and_then(|v| v.as_str()) {
            Some(s) => s.to_string(),
            None => model::file_sha256(&self.dir.join(WEIGHTS))?,
        };
        let key = cache::key_of(&format!("consult-sentiment-v1\n{sha}\n{MAX_TOKENS}\n{}\n", self.precision.as_str()));
        let name = format!("sentiment-{}", hex(&key[..8]));
        self.cache = Some(Mutex::new(Store::open_named(cache_dir, &name, GRADES)?));
        Ok(self)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn nets(&self) -> Result<&[Mutex<PairNet>]> {
        if let Some(n) = self.nets.get() {
            return Ok(n);
        }
        // One copy from the file, the others copied from it, one at a time: the file's tensors
        // and each copy's initial weights are transient, and side by side they would set the
        // run's peak memory.
        let mut first = PairNet::load(&self.base, &self.dir.join(WEIGHTS), true)?;
        if self.precision == Precision::Bf16 {
            first.vs.bfloat16();
        }
        let mut nets = vec![first];
        for _ in 1..self.copies {
            let mut net = PairNet::build(&self.base);
            if self.precision == Precision::Bf16 {
                net.vs.bfloat16();
            }
            net.vs.copy(&nets[0].vs).context("copying the tuned sentiment model")?;
            nets.push(net);
        }
        let nets: Vec<Mutex<PairNet>> = nets.into_iter().map(Mutex::new).collect();
        Ok(self.nets.get_or_init(|| nets))
    }

    /// Grade probabilities (very positive .. very negative) of each (question, answer) pair,
    /// in input order: the network's, blended with the word model's when there is one.
    pub fn probs(&self, pairs: &[(&str, &str)]) -> Result<Vec<[f32; GRADES]>> {
        let net = self.net_probs(pairs)?;
        Ok(match &self.words {
            Some(w) => net.iter().zip(pairs).map(|(p, (q, t))| w.blend(p, q, t)).collect(),
            None => net,
        })
    }

    /// The network's grade probabilities, from the cache where scored before.
    fn net_probs(&self, pairs: &[(&str, &str)]) -> Result<Vec<[f32; GRADES]>> {
        let Some(cache) = &self.cache else { return self.run(pairs) };
        let mut store = cache.lock().unwrap_or_else(|e| e.into_inner());
        let keys: Vec<cache::Key> = pairs.iter().map(|(q, t)| cache::key_of(&format!("{q}\0{t}"))).collect();
        let mut out = vec![[0f32; GRADES]; pairs.len()];
        let mut missing: Vec<usize> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match store.get(k)? {
                Some(v) => out[i].copy_from_slice(&v),
                None => missing.push(i),
            }
        }
        if !missing.is_empty() {
            let fresh = self.run(&missing.iter().map(|&i| pairs[i]).collect::<Vec<_>>())?;
            let vecs: Vec<Vec<f32>> = fresh.iter().map(|p| p.to_vec()).collect();
            let mut seen = std::collections::HashSet::new();
            let items: Vec<(cache::Key, &Vec<f32>)> = missing
                .iter()
                .zip(&vecs)
                .filter(|(&i, _)| seen.insert(keys[i]))
                .map(|(&i, v)| (keys[i], v))
                .collect();
            store.append(&items)?;
            for (&i, p) in missing.iter().zip(fresh) {
                out[i] = p;
            }
        }
        Ok(out)
    }

    /// Runs the network over the pairs (no cache).
    fn run(&self, pairs: &[(&str, &str)]) -> Result<Vec<[f32; GRADES]>> {
        if pairs.is_empty() {
            return Ok(Vec::new());
        }
        let nets = self.nets()?;
        let enc = encode(&self.tokenizer, pairs);
        let lengths = enc.lengths();
        let batches = plan_batches(&lengths, self.token_budget, 64);
        let run = |net: &PairNet, items: &[usize]| -> Result<Vec<[f32; GRADES]>> {
            let p = tch::no_grad(|| net.logits(&batch(&enc, items), false))?.softmax(-1, Kind::Float);
            let flat: Vec<f32> = Vec::<f32>::try_from(p.flatten(0, -1))?;
            Ok(flat.chunks(GRADES).map(|c| c.try_into().expect("five grades")).collect())
        };
        let mut out = vec![[0f32; GRADES]; pairs.len()];
        for (i, p) in model::run_batches(nets, &batches, run)? {
            out[i] = p;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{contrastive_rounds, halves_kl, Settings, GRADES};
    use tch::Tensor;

    #[test]
    fn a_large_sample_gets_fewer_epochs_of_fine_tuning() {
        let within = |answers: usize| {
            let mut s = Settings { epochs: 3, ..Default::default() };
            (s.within_budget(answers, 14_400), s.max_steps)
        };
        assert_eq!(within(4_770), (3.0, None));
        assert_eq!(within(4_800), (3.0, None));
        let (epochs, steps) = within(5_924);
        assert!((epochs - 2.431).abs() < 1e-3);
        // 371 batches of 16 an epoch, 2.43 of them: the 902 steps the whole NHS FFT sample took.
        assert_eq!(steps, Some(902));
        assert_eq!(within(0), (3.0, None));
    }

    #[test]
    fn r_drop_term_is_the_symmetric_kl_of_the_two_readings() {
        // Two items read twice: the first the same both times (no divergence), the second
        // p = (0.5, 0.5, 0, 0, 0) against q = (0.25, 0.75, 0, 0, 0) in the first two grades.
        let big = -1e4f32;
        let rows: [[f32; GRADES]; 4] = [
            [1.0, 2.0, 0.5, 0.0, -1.0],
            [0.0, 0.0, big, big, big],
            [1.0, 2.0, 0.5, 0.0, -1.0],
            [0.0, 3f32.ln(), big, big, big],
        ];
        let logits = Tensor::from_slice(&rows.concat()).view([4, GRADES as i64]);
        let (p, q) = ([0.5f64, 0.5], [0.25f64, 0.75]);
        let kl = |a: &[f64; 2], b: &[f64; 2]| a.iter().zip(b).map(|(x, y)| x * (x / y).ln()).sum::<f64>();
        let want = (kl(&p, &q) + kl(&q, &p)) / 2.0 / 2.0;
        let got = halves_kl(&logits).double_value(&[]);
        assert!((got - want).abs() < 1e-6, "{got} against {want}");
        let same = Tensor::cat(&[logits.narrow(0, 0, 1), logits.narrow(0, 0, 1)], 0);
        assert!(halves_kl(&same).double_value(&[]).abs() < 1e-9);
    }

    #[test]
    fn a_budget_of_answer_rounds_gives_small_samples_more_rounds() {
        // The NHS FFT development samples of BENCHMARKS.md §4: 10, 5 and 15 examples per code.
        assert_eq!(contrastive_rounds(330, 1650), 5);
        assert_eq!(contrastive_rounds(170, 1650), 10);
        assert_eq!(contrastive_rounds(175, 1650), 9);
        // At least 5 rounds (4 scored lower on 470 answers), at most 20.
        assert_eq!(contrastive_rounds(470, 1650), 5);
        assert_eq!(contrastive_rounds(499, 1650), 5);
        assert_eq!(contrastive_rounds(499, 100), 5);
        assert_eq!(contrastive_rounds(30, 1650), 20);
        assert_eq!(contrastive_rounds(0, 1650), 20);
    }
}
