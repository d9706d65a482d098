//! Supervised coding: per-code logistic heads on sentence embeddings, learnt from an
//! officer-coded sample (`consult train --gold`), used by `consult analyse --head`.
//!
//! Features are the sentiment head's `[answer, question, answer*question]` sentence
//! embeddings (since the ninth session read by a copy of the encoder fine-tuned on the same
//! sample when it has at least 500 answers, [`crate::tune::train_encoder`], and since the
//! twenty-first session a smaller one on contrastive pairs of its answers,
//! [`crate::tune::train_encoder_contrastive`]; kept beside head.json) and, in heads trained since the seventh session, TF-IDF word features of the
//! answer and its question ([`crate::lexical`]). All codes are fitted together (one-vs-rest
//! logistic regression, full-batch Adam, L2) with libtorch matrix products. Each code's decision threshold is the one that maximises its F1 on
//! out-of-fold probabilities (3 folds of the training data), so rare codes are not drowned
//! by a fixed 0.5. The final weights are fitted on all the training data.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Reduction, Tensor};

use crate::classify::Assigned;
use crate::lexical::{Sparse, Tfidf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeHead {
    pub codes: Vec<String>,
    pub thresholds: Vec<f32>,
    /// One row per code: `features` embedding weights, then one weight per lexicon term.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    pub features: usize,
    /// Word features (absent in heads trained before they existed: embeddings only).
    #[serde(default)]
    pub lexicon: Option<Tfidf>,
    /// Whether answers on the blank list ("Nothing", "N/A") are coded rather than counted as
    /// blank: learnt from the coded sample (true when most of its such answers carry codes,
    /// as in NHS FFT, where "Nothing" to "What could we do better?" is coded as praise).
    #[serde(default)]
    pub code_blanks: bool,
    /// Decision rule, chosen on the out-of-fold probabilities (see [`Rule`]); absent in heads
    /// trained before it existed, which keep every code over its threshold.
    #[serde(default)]
    pub rule: Rule,
    /// The floor the per-code thresholds were raised to (already applied to `thresholds`).
    #[serde(default)]
    pub threshold_floor: f32,
    /// The folder, beside head.json, of the encoder fine-tuned on the sample
    /// ([`crate::tune::train_encoder`], or on contrastive pairs for a sample under
    /// `--tune-min-answers`): the embedding features are read with it. None: with the base
    /// model (heads trained before the ninth session, small samples before the twenty-first,
    /// or with `--tune-epochs 0` or `--tune-contrastive 0`).
    #[serde(default)]
    pub encoder: Option<String>,
    pub meta: serde_json::Value,
}

/// How per-code probabilities become an answer's codes: the codes at or over their own
/// thresholds, best first, at most `max_codes` of them (0: no limit); when none is over its
/// threshold and `top_if_none`, the most probable code. Per-code thresholds alone maximise
/// each code's F1, which lets rare codes with low thresholds pile onto answers (on NHS FFT the
/// heads trailed TF-IDF + SVC by 0.1 micro-F1); the rule is picked from a small grid for the
/// best mean of micro- and macro-F1 on out-of-fold predictions of the training data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Rule {
    pub max_codes: usize,
    pub top_if_none: bool,
}

impl Rule {
    /// In words, for the head's metadata and the training log.
    pub fn describe(&self) -> String {
        let n = if self.max_codes == 0 { "any number of codes".to_string() } else { format!("at most {} codes", self.max_codes) };
        let top = if self.top_if_none { ", else the most probable code" } else { "" };
        format!("codes over their thresholds, best first, {n}{top}")
    }

    /// Indices of the codes given, best first.
    fn apply(&self, p: &[f32], thresholds: &[f32]) -> Vec<usize> {
        let mut over: Vec<usize> = (0..p.len()).filter(|&i| p[i] >= thresholds[i]).collect();
        over.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
        if self.max_codes > 0 {
            over.truncate(self.max_codes);
        }
        if over.is_empty() && self.top_if_none {
            if let Some(best) = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b]).then(b.cmp(&a))) {
                over.push(best);
            }
        }
        over
    }
}

/// Micro- and macro-F1 of a rule on probability rows against 0/1 truth rows.
fn rule_f1(rule: Rule, probs: &[Vec<f32>], truth: &[Vec<f32>], thresholds: &[f32]) -> (f64, f64) {
    let k = thresholds.len();
    let (mut tp, mut fp, mut fn_) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
    for (p, y) in probs.iter().zip(truth) {
        let given = rule.apply(p, thresholds);
        for c in 0..k {
            match (given.contains(&c), y[c] > 0.5) {
                (true, true) => tp[c] += 1,
                (true, false) => fp[c] += 1,
                (false, true) => fn_[c] += 1,
                _ => {}
            }
        }
    }
    let f1 = |t: usize, f: usize, n: usize| if t == 0 { 0.0 } else { 2.0 * t as f64 / (2 * t + f + n) as f64 };
    let micro = f1(tp.iter().sum(), fp.iter().sum(), fn_.iter().sum());
    let present: Vec<usize> = (0..k).filter(|&c| tp[c] + fn_[c] > 0).collect();
    let macro_ = present.iter().map(|&c| f1(tp[c], fp[c], fn_[c])).sum::<f64>() / present.len().max(1) as f64;
    (micro, macro_)
}

/// Threshold floors tried: each code's own threshold is raised to the floor. Per-code
/// thresholds from a few out-of-fold examples run low for rare codes.
const FLOORS: [f32; 5] = [0.0, 0.2, 0.3, 0.4, 0.5];

/// The lowest floor for heads with word features. Their out-of-fold models, fitted on two
/// thirds of the sample, are less sure than the final one, and chose floor 0.2 where 0.3 did
/// better on held-out answers (NHS FFT development fold 1: micro-F1 0.689 against 0.708,
/// macro 0.472 against 0.488; BENCHMARKS.md §4).
const WORDS_MIN_FLOOR: f32 = 0.3;

/// The rule and threshold floor (at least `min_floor`) with the best mean of micro- and
/// macro-F1 on out-of-fold predictions; ties go to the earlier, simpler choice (lowest floor,
/// no limit, no forced code).
fn choose_rule(probs: &[Vec<f32>], truth: &[Vec<f32>], thresholds: &[f32], min_floor: f32) -> (Rule, f32) {
    let mut best = ((Rule::default(), 0.0), f64::MIN);
    for floor in FLOORS.into_iter().filter(|&f| f >= min_floor) {
        let th: Vec<f32> = thresholds.iter().map(|t| t.max(floor)).collect();
        for top_if_none in [false, true] {
            for max_codes in [0, 1, 2, 3, 4] {
                let r = Rule { max_codes, top_if_none };
                let (mi, ma) = rule_f1(r, probs, truth, &th);
                if (mi + ma) / 2.0 > best.1 + 1e-9 {
                    best = ((r, floor), (mi + ma) / 2.0);
                }
            }
        }
    }
    best.0
}

pub struct FitSettings {
    pub epochs: usize,
    pub learning_rate: f64,
    pub l2: f64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings { epochs: 1000, learning_rate: 0.01, l2: 1e-6 }
    }
}

fn to_tensor(rows: &[Vec<f32>]) -> Tensor {
    let n = rows.len() as i64;
    let f = rows.first().map_or(0, |r| r.len()) as i64;
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Tensor::from_slice(&flat).view([n, f])
}

/// The rows' word features as a sparse n × `dim` matrix.
fn sparse_tensor(rows: &[&Sparse], dim: usize) -> Tensor {
    let (mut r, mut c, mut v) = (Vec::new(), Vec::new(), Vec::new());
    for (i, row) in rows.iter().enumerate() {
        for &(j, x) in row.iter() {
            r.push(i as i64);
            c.push(j as i64);
            v.push(x);
        }
    }
    let idx = Tensor::stack(&[Tensor::from_slice(&r), Tensor::from_slice(&c)], 0);
    Tensor::sparse_coo_tensor_indices_size(&idx, &Tensor::from_slice(&v), [rows.len() as i64, dim as i64], (Kind::Float, Device::Cpu), false)
        .coalesce()
}

/// Rows of `[answer, question, answer*question]` features (`x`, n × 3d) whose question part
/// takes few values, as in a survey export: their logits `x · w` are computed a question at a
/// time as `a · (w_a + q ∘ w_aq) + q · w_q`, the same sum in a third of the multiplications
/// (forward and backward), since for one question `(a ∘ q) · w_aq = a · (q ∘ w_aq)`.
struct QuestionGroups {
    d: i64,
    /// Row order that puts each question's rows together.
    order: Tensor,
    /// The answer parts in that order (n × d).
    answers: Tensor,
    /// Per question: its first row in `order`, its number of rows and its vector (1 × d).
    groups: Vec<(i64, i64, Tensor)>,
}

/// Most distinct questions worth grouping by; more, and the plain product is used.
const MAX_QUESTION_GROUPS: usize = 64;

impl QuestionGroups {
    /// The grouping of `x`'s rows by question part, when `x` has the paired layout (its last
    /// third is exactly the product of the first two) and at most [`MAX_QUESTION_GROUPS`]
    /// distinct question parts; None otherwise.
    fn of(x: &Tensor) -> Option<QuestionGroups> {
        let (n, f) = (x.size()[0], x.size()[1]);
        if f == 0 || f % 3 != 0 || n == 0 {
            return None;
        }
        let d = f / 3;
        let (a, q, aq) = (x.narrow(1, 0, d), x.narrow(1, d, d), x.narrow(1, 2 * d, d));
        if !aq.equal(&(&a * &q)) {
            return None;
        }
        let rows: Vec<Vec<f32>> = Vec::try_from(q.contiguous()).ok()?;
        let mut keys: Vec<Vec<u32>> = Vec::new();
        let mut of_row = Vec::with_capacity(rows.len());
        for r in &rows {
            let key: Vec<u32> = r.iter().map(|v| v.to_bits()).collect();
            let g = match keys.iter().position(|k| *k == key) {
                Some(g) => g,
                None if keys.len() < MAX_QUESTION_GROUPS => {
                    keys.push(key);
                    keys.len() - 1
                }
                None => return None,
            };
            of_row.push(g);
        }
        let mut order: Vec<i64> = (0..n).collect();
        order.sort_by_key(|&i| (of_row[i as usize], i));
        let mut groups = Vec::new();
        let mut start = 0i64;
        for g in 0..keys.len() {
            let len = of_row.iter().filter(|&&h| h == g).count() as i64;
            let first = order[start as usize];
            groups.push((start, len, q.narrow(0, first, 1).copy()));
            start += len;
        }
        let order = Tensor::from_slice(&order);
        let answers = a.index_select(0, &order);
        Some(QuestionGroups { d, order, answers, groups })
    }

    /// `x · w` for the rows in `self.order`, from `w` (3d × k).
    fn logits(&self, w: &Tensor) -> Tensor {
        let d = self.d;
        let (w_a, w_q, w_aq) = (w.narrow(0, 0, d), w.narrow(0, d, d), w.narrow(0, 2 * d, d));
        let parts: Vec<Tensor> = self
            .groups
            .iter()
            .map(|(start, len, q)| {
                let per_answer = &w_a + q.transpose(0, 1) * &w_aq;
                self.answers.narrow(0, *start, *len).matmul(&per_answer) + q.matmul(&w_q)
            })
            .collect();
        Tensor::cat(&parts, 0)
    }
}

/// Fits weights for all codes at once: embedding weights (f × k), word weights (`lex`'s
/// columns × k; none when it has no columns) and bias (k). `y` is n × k of 0/1.
fn fit(x: &Tensor, lex: &Tensor, y: &Tensor, s: &FitSettings) -> (Tensor, Tensor, Tensor) {
    fit_in(x, lex, y, s, QuestionGroups::of(x))
}

/// [`fit`], with paired features summed a question at a time when `grouped` is given.
fn fit_in(x: &Tensor, lex: &Tensor, y: &Tensor, s: &FitSettings, grouped: Option<QuestionGroups>) -> (Tensor, Tensor, Tensor) {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let f = x.size()[1];
    let v = lex.size()[1];
    let k = y.size()[1];
    let w = vs.root().zeros("w", &[f, k]);
    let wl = vs.root().zeros("wl", &[v, k]);
    let b = vs.root().zeros("b", &[k]);
    // Positive examples weigh sqrt(neg/pos): rare codes still pull their weights. (Full
    // neg/pos weighting with 10x the L2 scored lower on the NHS FFT benchmark.)
    let pos = y.sum_dim_intlist([0i64].as_slice(), false, Kind::Float).clamp_min(1.0);
    let n = y.size()[0] as f64;
    let pos_weight = ((-&pos + n) / &pos).sqrt();
    let mut opt = nn::Adam::default().build(&vs, s.learning_rate).expect("optimiser");
    // The word weights' gradient is taken by hand, lex^T · d(loss)/d(word logits), with the
    // transpose made once: autograd re-transposes the sparse matrix every epoch (30% slower).
    // Both in compressed-row form, whose products with a dense matrix run as one sparse BLAS
    // call rather than one dispatched vector update per stored value.
    let lex_t = lex.transpose(0, 1).coalesce().to_sparse_csr(None);
    let lex = &lex.to_sparse_csr(None);
    // Paired features are summed a question at a time, in the grouping's row order (the mean
    // loss is the same in any order); the word logits and targets follow that order.
    let y_in_order = grouped.as_ref().map(|g| y.index_select(0, &g.order));
    let y = y_in_order.as_ref().unwrap_or(y);
    for _ in 0..s.epochs {
        let word_logits = tch::no_grad(|| lex.mm(&wl)).set_requires_grad(v > 0);
        let logits = match &grouped {
            Some(g) => g.logits(&w) + &b + word_logits.index_select(0, &g.order),
            None => x.matmul(&w) + &b + &word_logits,
        };
        let penalty = w.pow_tensor_scalar(2).sum(Kind::Float) + wl.pow_tensor_scalar(2).sum(Kind::Float);
        let loss = logits.binary_cross_entropy_with_logits::<&Tensor>(y, None, Some(&pos_weight), Reduction::Mean)
            + penalty * s.l2;
        opt.zero_grad();
        loss.backward();
        if v > 0 {
            tch::no_grad(|| {
                let _ = wl.grad().g_add_(&lex_t.mm(&word_logits.grad()));
            });
        }
        opt.step();
    }
    (w.detach().copy(), wl.detach().copy(), b.detach().copy())
}

fn best_threshold(probs: &[f32], truth: &[bool]) -> f32 {
    let mut best = (0.5f32, -1.0f64);
    for step in 1..20 {
        let t = step as f32 * 0.05;
        let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
        for (p, &y) in probs.iter().zip(truth) {
            match (*p >= t, y) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        let f1 = if tp == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64 };
        if f1 > best.1 {
            best = (t, f1);
        }
    }
    best.0
}

/// Trains heads for `codes` from embedding feature rows `x`, word feature rows `lex` (over
/// `lexicon`'s terms; empty rows and no lexicon for embeddings only) and gold code sets `gold`.
pub fn train(
    x: &[Vec<f32>],
    lex: &[Sparse],
    lexicon: Option<Tfidf>,
    gold: &[Vec<String>],
    codes: &[String],
    s: &FitSettings,
) -> Result<CodeHead> {
    if x.is_empty() {
        bail!("no training examples");
    }
    tch::set_num_threads(std::thread::available_parallelism().map_or(2, |n| n.get()) as i32);
    let n = x.len();
    let k = codes.len();
    let y_rows: Vec<Vec<f32>> = gold
        .iter()
        .map(|g| codes.iter().map(|c| if g.contains(c) { 1.0 } else { 0.0 }).collect())
        .collect();
    let xt = to_tensor(x);
    let yt = to_tensor(&y_rows);
    let dim = lexicon.as_ref().map_or(0, Tfidf::len);
    let empty: Sparse = Vec::new();
    let lex_of = |idx: &[i64]| -> Tensor {
        let rows: Vec<&Sparse> = idx.iter().map(|&i| lex.get(i as usize).unwrap_or(&empty)).collect();
        sparse_tensor(&rows, dim)
    };
    // Out-of-fold probabilities for threshold calibration.
    let folds = 3;
    let mut oof = vec![vec![0f32; k]; n];
    for fold in 0..folds {
        let tr: Vec<i64> = (0..n as i64).filter(|i| (*i as usize) % folds != fold).collect();
        let te: Vec<i64> = (0..n as i64).filter(|i| (*i as usize) % folds == fold).collect();
        if tr.is_empty() || te.is_empty() {
            continue;
        }
        let (tri, tei) = (Tensor::from_slice(&tr), Tensor::from_slice(&te));
        let (w, wl, b) = fit(&xt.index_select(0, &tri), &lex_of(&tr), &yt.index_select(0, &tri), s);
        let mut z = xt.index_select(0, &tei).matmul(&w) + &b;
        if dim > 0 {
            z += lex_of(&te).mm(&wl);
        }
        let p = z.sigmoid();
        let p: Vec<Vec<f32>> = Vec::try_from(p).context("reading probabilities")?;
        for (row, i) in p.into_iter().zip(&te) {
            oof[*i as usize] = row;
        }
    }
    let thresholds: Vec<f32> = (0..k)
        .map(|c| {
            let probs: Vec<f32> = oof.iter().map(|r| r[c]).collect();
            let truth: Vec<bool> = y_rows.iter().map(|r| r[c] > 0.5).collect();
            best_threshold(&probs, &truth)
        })
        .collect();
    let min_floor = if dim > 0 { WORDS_MIN_FLOOR } else { 0.0 };
    let (rule, floor) = choose_rule(&oof, &y_rows, &thresholds, min_floor);
    let thresholds: Vec<f32> = thresholds.into_iter().map(|t| t.max(floor)).collect();
    let all: Vec<i64> = (0..n as i64).collect();
    let (w, wl, b) = fit(&xt, &lex_of(&all), &yt, s);
    let wt: Vec<Vec<f32>> = Vec::try_from(Tensor::cat(&[w, wl], 0).transpose(0, 1).contiguous()).context("reading weights")?;
    let bias: Vec<f32> = Vec::try_from(b).context("reading bias")?;
    let round = |v: f32| (v * 1e5).round() / 1e5;
    Ok(CodeHead {
        codes: codes.to_vec(),
        thresholds,
        weights: wt.into_iter().map(|r| r.into_iter().map(round).collect()).collect(),
        bias: bias.into_iter().map(round).collect(),
        features: x[0].len(),
        lexicon,
        code_blanks: false,
        rule,
        threshold_floor: floor,
        encoder: None,
        meta: serde_json::Value::Null,
    })
}

impl CodeHead {
    pub fn load(dir_or_file: &Path) -> Result<CodeHead> {
        let p = if dir_or_file.is_dir() { dir_or_file.join("head.json") } else { dir_or_file.to_path_buf() };
        let s = std::fs::read_to_string(&p).with_context(|| format!("{}: cannot read the trained head", p.display()))?;
        let h: CodeHead = serde_json::from_str(&s).with_context(|| format!("{}: not a trained head", p.display()))?;
        let width = h.features + h.lexicon.as_ref().map_or(0, Tfidf::len);
        if h.weights.len() != h.codes.len()
            || h.thresholds.len() != h.codes.len()
            || h.bias.len() != h.codes.len()
            || h.weights.iter().any(|w| w.len() != width)
        {
            bail!("{}: trained head has the wrong shape", p.display());
        }
        Ok(h)
    }

    /// The folder of the encoder the heads read answers with, when they have their own
    /// (`head_path`: the head's folder or its head.json).
    pub fn encoder_dir(&self, head_path: &Path) -> Option<std::path::PathBuf> {
        let dir = if head_path.is_dir() { head_path } else { head_path.parent().unwrap_or(Path::new(".")) };
        self.encoder.as_ref().map(|e| dir.join(e))
    }

    /// The word features of an answer to a question, as the head was trained on them (none
    /// for a head without a lexicon).
    pub fn words(&self, answer: &str, question: &str) -> Sparse {
        match &self.lexicon {
            Some(l) => l.transform(&crate::lexical::pair_text(answer, question)),
            None => Vec::new(),
        }
    }

    /// Each code's probability from embedding features `x` and word features `lex`.
    pub fn probs(&self, x: &[f32], lex: &Sparse) -> Vec<f32> {
        self.weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| {
                let (we, wl) = w.split_at(self.features);
                let z = b
                    + we.iter().zip(x).map(|(a, v)| a * v).sum::<f32>()
                    + lex.iter().map(|&(j, v)| wl[j as usize] * v).sum::<f32>();
                1.0 / (1.0 + (-z).exp())
            })
            .collect()
    }

    /// Codes at or above their thresholds, best first, as the head's [`Rule`] gives them; the
    /// fallback when none is.
    pub fn assign(&self, x: &[f32], lex: &Sparse, fallback: &str) -> (Vec<Assigned>, Vec<Assigned>) {
        let p = self.probs(x, lex);
        let mut all: Vec<Assigned> =
            self.codes.iter().zip(&p).map(|(c, s)| Assigned::new(c.clone(), *s)).collect();
        all.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.code.cmp(&b.code)));
        let mut codes: Vec<Assigned> =
            self.rule.apply(&p, &self.thresholds).into_iter().map(|i| Assigned::new(self.codes[i].clone(), p[i])).collect();
        if codes.is_empty() {
            codes.push(Assigned::new(fallback, 0.0));
        }
        all.truncate(3);
        (codes, all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_learn_separable_codes_and_calibrate_thresholds() {
        // Two codes on two directions; the second is rare.
        let mut x = Vec::new();
        let mut gold = Vec::new();
        for i in 0..120 {
            let a = (i % 2) as f32;
            let b = if i % 10 == 0 { 1.0 } else { 0.0 };
            x.push(vec![a, b, 0.3, 1.0 - a]);
            let mut g = Vec::new();
            if a > 0.5 {
                g.push("a".to_string());
            }
            if b > 0.5 {
                g.push("b".to_string());
            }
            gold.push(g);
        }
        let codes = vec!["a".to_string(), "b".to_string()];
        let h = train(&x, &[], None, &gold, &codes, &FitSettings { epochs: 300, learning_rate: 0.05, l2: 0.0 }).unwrap();
        let mut correct = 0;
        for (xi, g) in x.iter().zip(&gold) {
            let (got, _) = h.assign(xi, &Vec::new(), "other");
            let mut got: Vec<String> = got.into_iter().map(|a| a.code).filter(|c| c != "other").collect();
            got.sort();
            if &got == g {
                correct += 1;
            }
        }
        assert!(correct >= 115, "{correct}/120");
    }

    #[test]
    fn question_groups_fit_the_same_probabilities_as_the_plain_product() {
        // 60 answers to three questions, [a, q, a*q] features, two codes, word features too.
        let d = 5;
        let unit = |seed: u64| -> Vec<f32> {
            let v: Vec<f32> = (0..d).map(|j| (((seed * 7919 + j as u64 * 104_729) % 1000) as f32 / 500.0) - 1.0).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        };
        let questions: Vec<Vec<f32>> = (0..3).map(|i| unit(1000 + i)).collect();
        let rows: Vec<Vec<f32>> = (0..60)
            .map(|i| {
                let (a, q) = (unit(i), &questions[(i % 3) as usize]);
                a.iter().chain(q).copied().chain(a.iter().zip(q).map(|(x, y)| x * y)).collect()
            })
            .collect();
        let y: Vec<Vec<f32>> = (0..60).map(|i| vec![(i % 4 == 0) as u8 as f32, (rows[i][0] > 0.0) as u8 as f32]).collect();
        let texts: Vec<String> = (0..60).map(|i| format!("word{} word{}", i % 5, i % 7)).collect();
        let lexicon = Tfidf::fit(&texts, 2);
        let lex: Vec<Sparse> = texts.iter().map(|t| lexicon.transform(t)).collect();
        let (x, yt) = (to_tensor(&rows), to_tensor(&y));
        let lt = sparse_tensor(&lex.iter().collect::<Vec<_>>(), lexicon.len());
        let groups = QuestionGroups::of(&x).expect("paired features with three questions are grouped");
        assert_eq!(groups.groups.len(), 3);
        let s = FitSettings { epochs: 200, learning_rate: 0.05, l2: 1e-5 };
        // The same probabilities for every answer. (Not every weight: the question part's
        // weights have directions no question takes, where the gradient is rounding noise and
        // Adam's step is not small.)
        let probs = |(w, wl, b): (Tensor, Tensor, Tensor)| (x.matmul(&w) + lt.mm(&wl) + b).sigmoid();
        let plain = probs(fit_in(&x, &lt, &yt, &s, None));
        let by_question = probs(fit_in(&x, &lt, &yt, &s, Some(groups)));
        let gap = (&plain - &by_question).abs().max().double_value(&[]);
        assert!(gap < 5e-3, "probabilities differ by {gap}");
        assert!(plain.max().double_value(&[]) > 0.9, "the fit learnt the codes");
        // Features without the paired layout are not grouped.
        assert!(QuestionGroups::of(&x.narrow(1, 0, 2 * d as i64)).is_none());
    }

    #[test]
    fn heads_learn_codes_from_words_the_embeddings_miss() {
        // The embedding features say nothing; the code is carried by a phrase.
        // (Every fourth answer: the three out-of-fold folds, i % 3, each hold some.)
        let texts: Vec<String> = (0..90)
            .map(|i| match i % 4 {
                0 => format!("the waiting time was long, visit {i}"),
                1 => format!("the staff were kind, visit {i}"),
                2 => format!("the food was cold, visit {i}"),
                _ => format!("parking was hard, visit {i}"),
            })
            .collect();
        let gold: Vec<Vec<String>> =
            (0..90).map(|i| if i % 4 == 0 { vec!["waiting".to_string()] } else { vec![] }).collect();
        let lexicon = Tfidf::fit(&texts, 2);
        let lex: Vec<Sparse> = texts.iter().map(|t| lexicon.transform(t)).collect();
        let x = vec![vec![0.5f32; 4]; 90];
        let codes = vec!["waiting".to_string()];
        let h = train(&x, &lex, Some(lexicon), &gold, &codes, &FitSettings { epochs: 200, learning_rate: 0.05, l2: 1e-5 }).unwrap();
        assert!(h.threshold_floor >= WORDS_MIN_FLOOR);
        let code = |t: &str| h.assign(&x[0], &h.words(t, ""), "other").0[0].code.clone();
        assert_eq!(code("a long waiting time"), "waiting");
        assert_eq!(code("kind staff"), "other");
        // The head round-trips through JSON, lexicon and all.
        let back: CodeHead = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.probs(&x[0], &back.words("waiting time", "")), h.probs(&x[0], &h.words("waiting time", "")));
    }

    #[test]
    fn rule_limits_codes_and_can_force_the_top_one() {
        let th = [0.5, 0.3, 0.4];
        let p = [0.9, 0.35, 0.45];
        assert_eq!(Rule::default().apply(&p, &th), vec![0, 2, 1]);
        assert_eq!(Rule { max_codes: 2, top_if_none: false }.apply(&p, &th), vec![0, 2]);
        let low = [0.2, 0.1, 0.3];
        assert!(Rule::default().apply(&low, &th).is_empty());
        assert_eq!(Rule { max_codes: 1, top_if_none: true }.apply(&low, &th), vec![2]);
    }

    #[test]
    fn rule_is_chosen_for_micro_and_macro_f1() {
        // Every row has exactly one true code, but all three codes clear their thresholds:
        // keeping only the best code is right.
        let th = vec![0.1, 0.1, 0.1];
        let mut probs = Vec::new();
        let mut truth = Vec::new();
        for i in 0..30 {
            let c = i % 3;
            let mut p = vec![0.2f32; 3];
            p[c] = 0.8;
            probs.push(p);
            let mut y = vec![0f32; 3];
            y[c] = 1.0;
            truth.push(y);
        }
        let (r, floor) = choose_rule(&probs, &truth, &th, 0.0);
        assert_eq!((r.max_codes, floor), (1, 0.0));
        assert_eq!(rule_f1(r, &probs, &truth, &th), (1.0, 1.0));
    }
}
