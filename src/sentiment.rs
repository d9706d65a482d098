//! Sentiment: a small softmax head over sentence embeddings of the answer *and* its question
//! ("Nothing." means praise in answer to "What could we do better?").
//!
//! Features are `[a, q, a*q]` (answer embedding, question embedding, their element-wise
//! product), so the question costs one embedding per question, not per answer. The head
//! predicts the five NHS FFT grades (1 very positive ... 5 very negative). From those:
//! score = sum p_k v_k with v = [1, 0.5, 0, -0.5, -1]; positive = p1+p2, negative = p4+p5,
//! middle = p3; the label is `mixed` when both positive and negative are at least
//! [`MIXED_MIN`], otherwise the largest of positive / neutral (middle) / negative.
//! Training is full-batch Adam from zero weights: same data, same weights.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::model::Embedding;
use crate::tune::TunedSentiment;

pub const GRADES: usize = 5;
const VALUES: [f32; GRADES] = [1.0, 0.5, 0.0, -0.5, -1.0];
/// Both sides at least this probable makes an answer `mixed`.
pub const MIXED_MIN: f32 = 0.3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Positive,
    Neutral,
    Negative,
    Mixed,
}

impl Tone {
    pub const ALL: [Tone; 4] = [Tone::Positive, Tone::Neutral, Tone::Negative, Tone::Mixed];
    pub fn as_str(self) -> &'static str {
        match self {
            Tone::Positive => "positive",
            Tone::Neutral => "neutral",
            Tone::Negative => "negative",
            Tone::Mixed => "mixed",
        }
    }
    pub fn index(self) -> usize {
        Tone::ALL.iter().position(|&t| t == self).unwrap()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Head {
    /// `GRADES` rows of `features` weights.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    pub features: usize,
    /// How it was made and how it scored on held-out data.
    pub meta: serde_json::Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    pub tone: Tone,
    pub score: f32,
    pub probs: [f32; GRADES],
}

pub fn features(answer: &Embedding, question: &Embedding) -> Vec<f32> {
    let mut f = Vec::with_capacity(answer.len() * 3);
    f.extend_from_slice(answer);
    f.extend_from_slice(question);
    f.extend(answer.iter().zip(question).map(|(a, q)| a * q));
    f
}

fn softmax(z: &mut [f32]) {
    let m = z.iter().copied().fold(f32::MIN, f32::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    z.iter_mut().for_each(|v| *v /= s);
}

impl Head {
    pub fn load(path: &std::path::Path) -> Result<Head> {
        let s = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the sentiment head", path.display()))?;
        let h: Head = serde_json::from_str(&s).with_context(|| format!("{}: not a sentiment head", path.display()))?;
        if h.weights.len() != GRADES || h.bias.len() != GRADES || h.weights.iter().any(|w| w.len() != h.features) {
            bail!("{}: sentiment head has the wrong shape", path.display());
        }
        Ok(h)
    }

    pub fn probs(&self, x: &[f32]) -> [f32; GRADES] {
        let mut z = [0f32; GRADES];
        for ((z, b), w) in z.iter_mut().zip(&self.bias).zip(&self.weights) {
            *z = b + w.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
        }
        softmax(&mut z);
        z
    }

    pub fn predict(&self, x: &[f32]) -> Prediction {
        Prediction::from_probs(self.probs(x))
    }
}

impl Prediction {
    /// Tone and score from the five grade probabilities.
    pub fn from_probs(p: [f32; GRADES]) -> Prediction {
        let score = p.iter().zip(VALUES).map(|(p, v)| p * v).sum::<f32>().clamp(-1.0, 1.0);
        Prediction { tone: tone_of(&p), score, probs: p }
    }
}

/// The sentiment model: the fine-tuned encoder ([`TunedSentiment`], made by
/// `consult train-sentiment --tune`) when it is there, else the head over frozen sentence
/// embeddings. Both give the five grade probabilities of a (question, text) pair.
#[allow(clippy::large_enum_variant)] // one per run: boxing the tuned model would buy nothing
pub enum Model {
    Head(Head),
    Tuned(TunedSentiment),
}

impl Model {
    /// Grade probabilities of each (question, text) pair, given as indices into `texts`;
    /// the head reads the texts' embeddings `embs` (same indices), the tuned model the texts.
    pub fn probs(&self, pairs: &[(usize, usize)], texts: &[&str], embs: &[Embedding]) -> Result<Vec<[f32; GRADES]>> {
        match self {
            Model::Head(h) => Ok(pairs.iter().map(|&(q, t)| h.probs(&features(&embs[t], &embs[q]))).collect()),
            Model::Tuned(m) => {
                let p: Vec<(&str, &str)> = pairs.iter().map(|&(q, t)| (texts[q], texts[t])).collect();
                m.probs(&p)
            }
        }
    }

    /// Whether [`Model::probs`] reads embeddings (else the caller need not compute them).
    pub fn needs_embeddings(&self) -> bool {
        matches!(self, Model::Head(_))
    }

    /// How it was made and scored, for run.json.
    pub fn describe(&self, path: &std::path::Path) -> serde_json::Value {
        let (kind, meta) = match self {
            Model::Head(h) => ("head over frozen sentence embeddings [answer, question, answer*question]", &h.meta),
            Model::Tuned(m) => ("fine-tuned all-MiniLM-L6-v2 over the pair (question, answer)", &m.meta),
        };
        serde_json::json!({"path": path.display().to_string(), "kind": kind, "meta": meta})
    }
}

/// Mean of several grade distributions (a long answer read in segments).
pub fn mean_probs(ps: &[[f32; GRADES]]) -> [f32; GRADES] {
    let mut m = [0f32; GRADES];
    for p in ps {
        for k in 0..GRADES {
            m[k] += p[k];
        }
    }
    m.iter_mut().for_each(|v| *v /= ps.len().max(1) as f32);
    m
}

pub fn tone_of(p: &[f32; GRADES]) -> Tone {
    let pos = p[0] + p[1];
    let neg = p[3] + p[4];
    let mid = p[2];
    if pos >= MIXED_MIN && neg >= MIXED_MIN {
        Tone::Mixed
    } else if pos > mid && pos >= neg {
        Tone::Positive
    } else if neg > mid && neg > pos {
        Tone::Negative
    } else {
        Tone::Neutral
    }
}

/// The three-way reading of an FFT grade: 1-2 positive, 3 neutral/mixed, 4-5 negative.
pub fn grade_to_3(g: usize) -> usize {
    match g {
        0 | 1 => 0,
        2 => 1,
        _ => 2,
    }
}

pub struct TrainSettings {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
}

/// Softmax regression with L2, by full-batch Adam from zero weights. `y` holds grades 0..5;
/// `w` per-sample weights. Deterministic: no randomness, fixed summation order.
pub fn train(x: &[Vec<f32>], y: &[usize], w: &[f32], s: &TrainSettings) -> Head {
    let f = x[0].len();
    let n = x.len();
    let wsum: f64 = w.iter().map(|&v| v as f64).sum();
    let mut weights = vec![vec![0f32; f]; GRADES];
    let mut bias = vec![0f32; GRADES];
    let lr = s.learning_rate as f64;
    let mut adam_w: Vec<Adam> = (0..GRADES).map(|_| Adam::new(f, lr)).collect();
    let mut adam_b = Adam::new(GRADES, lr);
    for _ in 0..s.epochs {
        let mut gw = vec![vec![0f64; f]; GRADES];
        let mut gb = [0f64; GRADES];
        for i in 0..n {
            let mut z = [0f32; GRADES];
            for k in 0..GRADES {
                z[k] = bias[k] + weights[k].iter().zip(&x[i]).map(|(a, b)| a * b).sum::<f32>();
            }
            softmax(&mut z);
            for k in 0..GRADES {
                let d = (z[k] - if y[i] == k { 1.0 } else { 0.0 }) * w[i];
                gb[k] += d as f64;
                for (g, v) in gw[k].iter_mut().zip(&x[i]) {
                    *g += (d * v) as f64;
                }
            }
        }
        for k in 0..GRADES {
            adam_w[k].step(&mut weights[k], |j, v| gw[k][j] / wsum + s.l2 as f64 * v as f64);
        }
        adam_b.step(&mut bias, |k, _| gb[k] / wsum);
    }
    Head { weights, bias, features: f, meta: serde_json::Value::Null }
}

/// Full-batch Adam (beta 0.9 / 0.999, epsilon 1e-8) over one vector of weights: both softmax
/// regressions here ([`train`], [`WordModel::fit`]) train by it from zero weights, in a fixed
/// order, so the same data gives the same weights.
struct Adam {
    learning_rate: f64,
    steps: i32,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Adam {
    fn new(n: usize, learning_rate: f64) -> Adam {
        Adam { learning_rate, steps: 0, m: vec![0.0; n], v: vec![0.0; n] }
    }

    /// One step; `grad(j, weight)` is weight `j`'s gradient.
    fn step(&mut self, weights: &mut [f32], grad: impl Fn(usize, f32) -> f64) {
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8f64);
        self.steps += 1;
        let (c1, c2) = (1.0 - b1.powi(self.steps), 1.0 - b2.powi(self.steps));
        for (j, w) in weights.iter_mut().enumerate() {
            let g = grad(j, *w);
            self.m[j] = b1 * self.m[j] + (1.0 - b1) * g;
            self.v[j] = b2 * self.v[j] + (1.0 - b2) * g * g;
            *w -= (self.learning_rate * (self.m[j] / c1) / ((self.v[j] / c2).sqrt() + eps)) as f32;
        }
    }
}

/// A word model of the grades, blended into the fine-tuned model's probabilities: multinomial
/// logistic regression over TF-IDF word 1- and 2-grams of "answer question" (scikit-learn's
/// `TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)` and
/// `LogisticRegression(C=3)`), trained by `consult train-sentiment --tune` on the same items
/// and weights as the network and kept beside it as `words.json`. The network reads what an
/// answer means; the words catch the stock phrases of FFT grades ("could not fault",
/// "nothing to improve"). Not in the shipped recipe (`--tune-word-weight`, default 0): blended
/// at 0.3 it added 0.003 of FFT 5-class accuracy on three development folds and lowered
/// review and manifesto tone (BENCHMARKS.md section 3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WordModel {
    pub lexicon: crate::lexical::Tfidf,
    /// `GRADES` rows of one weight per term.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    /// Its share of the blended probabilities; the network has the rest.
    pub blend: f32,
    pub meta: serde_json::Value,
}

pub const WORDS_FILE: &str = "words.json";

impl WordModel {
    pub fn load(path: &std::path::Path) -> Result<WordModel> {
        let s = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the word model", path.display()))?;
        let m: WordModel = serde_json::from_str(&s).with_context(|| format!("{}: not a word model", path.display()))?;
        if m.weights.len() != GRADES || m.bias.len() != GRADES || m.weights.iter().any(|w| w.len() != m.lexicon.len()) {
            bail!("{}: word model has the wrong shape", path.display());
        }
        Ok(m)
    }

    pub fn probs(&self, question: &str, answer: &str) -> [f32; GRADES] {
        let row = self.lexicon.transform(&crate::lexical::pair_text(answer, question));
        let mut z: [f32; GRADES] =
            std::array::from_fn(|k| self.bias[k] + row.iter().map(|&(j, v)| self.weights[k][j as usize] * v).sum::<f32>());
        softmax(&mut z);
        z
    }

    /// The network's probabilities `p` blended with the words' for the same pair.
    pub fn blend(&self, p: &[f32; GRADES], question: &str, answer: &str) -> [f32; GRADES] {
        let q = self.probs(question, answer);
        std::array::from_fn(|k| (1.0 - self.blend) * p[k] + self.blend * q[k])
    }

    /// Fits the word model: vocabulary of `texts` (terms in at least two), then softmax
    /// regression with sample weights `w` and scikit-learn's penalty `||W||^2 / 2 + C * sum w_i
    /// loss_i` (intercept not penalised), by full-batch Adam from zero weights: deterministic.
    pub fn fit(texts: &[String], y: &[usize], w: &[f32], c: f64, blend: f32) -> WordModel {
        let lexicon = crate::lexical::Tfidf::fit(texts, 2);
        let rows: Vec<crate::lexical::Sparse> = texts.iter().map(|t| lexicon.transform(t)).collect();
        let v = lexicon.len();
        let wsum: f64 = w.iter().map(|&x| x as f64).sum();
        let l2 = 1.0 / (c * wsum);
        let mut weights = vec![vec![0f32; v]; GRADES];
        let mut bias = vec![0f32; GRADES];
        let mut adam_w: Vec<Adam> = (0..GRADES).map(|_| Adam::new(v, WORDS_LEARNING_RATE)).collect();
        let mut adam_b = Adam::new(GRADES, WORDS_LEARNING_RATE);
        for _ in 0..WORDS_EPOCHS {
            let mut gw = vec![vec![0f64; v]; GRADES];
            let mut gb = [0f64; GRADES];
            for (i, row) in rows.iter().enumerate() {
                let z: [f64; GRADES] =
                    std::array::from_fn(|k| bias[k] as f64 + row.iter().map(|&(j, x)| (weights[k][j as usize] * x) as f64).sum::<f64>());
                let m = z.iter().copied().fold(f64::MIN, f64::max);
                let s: f64 = z.iter().map(|x| (x - m).exp()).sum();
                for k in 0..GRADES {
                    let d = ((z[k] - m).exp() / s - if y[i] == k { 1.0 } else { 0.0 }) * w[i] as f64 / wsum;
                    gb[k] += d;
                    for &(j, x) in row {
                        gw[k][j as usize] += d * x as f64;
                    }
                }
            }
            for k in 0..GRADES {
                adam_w[k].step(&mut weights[k], |j, wt| gw[k][j] + l2 * wt as f64);
            }
            adam_b.step(&mut bias, |k, _| gb[k]);
        }
        let round = |x: f32| (x * 1e5).round() / 1e5;
        WordModel {
            lexicon,
            weights: weights.into_iter().map(|r| r.into_iter().map(round).collect()).collect(),
            bias: bias.into_iter().map(round).collect(),
            blend,
            meta: serde_json::json!({"C": c, "epochs": WORDS_EPOCHS, "learning_rate": WORDS_LEARNING_RATE, "texts": texts.len(), "terms": v}),
        }
    }
}

const WORDS_EPOCHS: usize = 300;
const WORDS_LEARNING_RATE: f64 = 0.05;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tone_rules() {
        assert_eq!(tone_of(&[0.6, 0.2, 0.1, 0.05, 0.05]), Tone::Positive);
        assert_eq!(tone_of(&[0.05, 0.05, 0.6, 0.2, 0.1]), Tone::Neutral);
        assert_eq!(tone_of(&[0.0, 0.1, 0.2, 0.3, 0.4]), Tone::Negative);
        assert_eq!(tone_of(&[0.3, 0.05, 0.1, 0.3, 0.25]), Tone::Mixed);
    }

    #[test]
    fn word_model_learns_stock_phrases_and_blends_by_its_share() {
        let phrases = ["could not fault the staff", "lovely kind nurses", "it was fine", "waited far too long", "rude and dismissive staff"];
        let texts: Vec<String> = (0..50).map(|i| crate::lexical::pair_text(&format!("{} visit {i}", phrases[i % 5]), "What was good?")).collect();
        let y: Vec<usize> = (0..50).map(|i| i % 5).collect();
        let w = vec![1.0; 50];
        let m = WordModel::fit(&texts, &y, &w, 3.0, 0.3);
        assert_eq!(m.weights, WordModel::fit(&texts, &y, &w, 3.0, 0.3).weights, "deterministic");
        for (k, p) in phrases.iter().enumerate() {
            let q = m.probs("What was good?", p);
            assert_eq!((0..GRADES).max_by(|&i, &j| q[i].total_cmp(&q[j])).unwrap(), k, "{p}: {q:?}");
        }
        let net = [0.1, 0.2, 0.4, 0.2, 0.1];
        let q = m.probs("What was good?", "rude and dismissive staff");
        let b = m.blend(&net, "What was good?", "rude and dismissive staff");
        for k in 0..GRADES {
            assert!((b[k] - (0.7 * net[k] + 0.3 * q[k])).abs() < 1e-6);
        }
        let none = WordModel { blend: 0.0, ..m };
        assert_eq!(none.blend(&net, "What was good?", "anything"), net);
    }

    #[test]
    fn training_is_deterministic_and_separates_classes() {
        let x: Vec<Vec<f32>> = (0..50).map(|i| vec![(i % 5) as f32, 1.0 - (i % 5) as f32 / 4.0, 0.5]).collect();
        let y: Vec<usize> = (0..50).map(|i| i % 5).collect();
        let w = vec![1.0; 50];
        let s = TrainSettings { epochs: 300, learning_rate: 0.05, l2: 0.0 };
        let a = train(&x, &y, &w, &s);
        let b = train(&x, &y, &w, &s);
        assert_eq!(a.weights, b.weights);
        let correct = x.iter().zip(&y).filter(|(xi, &yi)| {
            let p = a.probs(xi);
            (0..5).max_by(|&i, &j| p[i].total_cmp(&p[j])).unwrap() == yi
        }).count();
        assert!(correct >= 30, "{correct}");
    }
}
