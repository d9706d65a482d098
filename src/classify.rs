//! Zero-shot multi-label coding: cosine similarity between an answer (and each of its
//! sentences) and each code's prototypes (description, label, example statements).
//! Settings are data (`models/zero-shot.toml`), embedded as the default.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::model::{Embedding, Encoder};

pub const DEFAULT_SETTINGS: &str = include_str!("../models/zero-shot.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub centroid_weight: f32,
    pub top_k: usize,
    pub threshold: f32,
    pub margin: f32,
    pub max_codes: usize,
    pub sentence_level: bool,
    /// Score the fallback code's examples too: an answer whose whole text is closest to
    /// them gets the fallback code alone.
    #[serde(default)]
    pub fallback_competes: bool,
    #[serde(default)]
    pub thresholds: BTreeMap<String, f32>,
    /// A question (of at least three words) whose own best code score reaches this lends its
    /// topic to its answers: each answer is also scored as its vector plus `question_blend`
    /// times the question's (normalised), one more piece. Absent: answers are read alone.
    #[serde(default)]
    pub question_context: Option<f32>,
    /// How much of the question's vector joins the answer's in that piece (0.5: an answer off
    /// the question's topic keeps its own code first).
    #[serde(default = "default_question_blend")]
    pub question_blend: f32,
    /// A code after an answer's first joins it only when its own score reaches this (absent:
    /// `threshold` and `margin` alone decide).
    #[serde(default)]
    pub second_threshold: Option<f32>,
}

fn default_question_blend() -> f32 {
    0.5
}

impl Settings {
    pub fn default_settings() -> Settings {
        toml::from_str(DEFAULT_SETTINGS).expect("models/zero-shot.toml is valid")
    }
    pub fn load(path: &std::path::Path) -> Result<Settings> {
        let s = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        toml::from_str(&s).with_context(|| format!("{}: invalid classifier settings", path.display()))
    }
}

struct Prototype {
    id: String,
    threshold: f32,
    /// Rows of [`Classifier::matrix`] holding this code's examples, and its centroid's row.
    examples: std::ops::Range<usize>,
    centroid: usize,
    /// Whether `examples` are the code's example statements (else its description and label
    /// stand in).
    has_examples: bool,
    /// The sum of the vectors whose direction the centroid is.
    sum: Embedding,
}

/// Example statements of one code left out of a classifier ([`Classifier::assign_left_out`]):
/// the code, the positions of the statements among its examples, and their vectors.
pub struct LeftOut<'a> {
    pub code: &'a str,
    pub examples: Vec<usize>,
    pub vectors: Vec<&'a Embedding>,
}

/// A code given to an answer, with its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assigned {
    pub code: String,
    pub score: f32,
    /// The piece of the answer where the code scored best: 0 the whole answer, 1.. its
    /// sentences. Aspect sentiment reads that piece.
    #[serde(skip)]
    pub piece: usize,
}

impl Assigned {
    pub fn new(code: impl Into<String>, score: f32) -> Assigned {
        Assigned { code: code.into(), score, piece: 0 }
    }
}

/// Mean of the `k` largest values (all of them when fewer), without sorting or allocating
/// for k up to 16.
fn mean_of_top_k(values: impl Iterator<Item = f32>, k: usize) -> f32 {
    const MAX_K: usize = 16;
    let k = k.clamp(1, MAX_K);
    let mut top = [f32::MIN; MAX_K];
    let mut n = 0;
    for v in values {
        // Insert into the descending list top[..min(n, k)].
        let len = n.min(k);
        if len == k && v <= top[k - 1] {
            n += 1;
            continue;
        }
        let mut i = if len == k { k - 1 } else { len };
        while i > 0 && top[i - 1] < v {
            top[i] = top[i - 1];
            i -= 1;
        }
        top[i] = v;
        n += 1;
    }
    let m = n.min(k);
    if m == 0 {
        return 0.0;
    }
    top[..m].iter().sum::<f32>() / m as f32
}

pub struct Classifier {
    protos: Vec<Prototype>,
    fallback_proto: Option<Prototype>,
    settings: Settings,
    fallback: String,
    /// Every prototype vector (each code's examples, then its centroid), one row each,
    /// so that a block of answers is scored against all of them in one matrix product.
    matrix: Vec<f32>,
    rows: usize,
}

/// Answers scored per matrix product (a block of 512 answers is 768 KB of vectors).
const BLOCK: usize = 512;

impl Classifier {
    /// Embeds every assignable code's description, label and examples once.
    pub fn build(codebook: &Codebook, encoder: &dyn Encoder, settings: Settings) -> Result<Classifier> {
        let mut codes: Vec<_> = codebook.assignable().into_iter().filter(|c| c.id != codebook.fallback).collect();
        let competes = settings.fallback_competes
            && codebook.get(&codebook.fallback).is_some_and(|c| !c.examples.is_empty());
        if competes {
            codes.push(codebook.get(&codebook.fallback).unwrap());
        }
        let mut texts: Vec<String> = Vec::new();
        let mut spans = Vec::new();
        for c in &codes {
            let start = texts.len();
            texts.push(c.description.clone());
            texts.push(c.label.clone());
            texts.extend(c.examples.iter().cloned());
            spans.push((start, texts.len()));
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let embs = encoder.embed(&refs).context("embedding the codebook")?;
        let dim = embs.first().map_or(0, |e| e.len());
        let mut matrix: Vec<f32> = Vec::new();
        let rows_of = |m: &Vec<f32>| m.len() / dim.max(1);
        let mut protos: Vec<Prototype> = Vec::new();
        for (c, (s, e)) in codes.iter().zip(spans) {
            // Examples for nearest-neighbour scoring; description and label stand in when
            // a code has no examples.
            let ex = if e - s > 2 { s + 2..e } else { s..e };
            let first = rows_of(&matrix);
            for v in &embs[ex] {
                matrix.extend_from_slice(v);
            }
            let examples = first..rows_of(&matrix);
            let all: Vec<&Embedding> = embs[s..e].iter().collect();
            let centroid = examples.end;
            let sum = crate::model::sum(&all);
            matrix.extend_from_slice(&crate::model::to_unit(sum.clone()));
            protos.push(Prototype {
                id: c.id.clone(),
                threshold: settings.thresholds.get(&c.id).copied().unwrap_or(settings.threshold),
                examples,
                centroid,
                has_examples: e - s > 2,
                sum,
            });
        }
        let fallback_proto = if competes { protos.pop() } else { None };
        let rows = rows_of(&matrix);
        Ok(Classifier { protos, fallback_proto, settings, fallback: codebook.fallback.clone(), matrix, rows })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether answers to this question are also scored read with it
    /// ([`Settings::question_context`]): it has at least three words and, by its own scores
    /// ([`Classifier::score_many`]), scores at least that much against some code.
    pub fn lends_context(&self, question: &str, scores: &[f32]) -> bool {
        let Some(gate) = self.settings.question_context else { return false };
        question.split_whitespace().nth(2).is_some() && scores[..self.protos.len()].iter().any(|&s| s >= gate)
    }

    pub fn code_ids(&self) -> Vec<&str> {
        self.protos.iter().map(|p| p.id.as_str()).collect()
    }

    /// For each vector, the score of every code in [`Classifier::code_ids`] order, then the
    /// competing fallback code's score when there is one. Blocks of vectors are multiplied
    /// with every prototype vector at once ([`crate::model::dots_with`]), blocks in parallel.
    pub fn score_many(&self, es: &[&[f32]]) -> Vec<Vec<f32>> {
        let cols = self.rows;
        es.par_chunks(BLOCK)
            .flat_map_iter(|block| {
                let sims = crate::model::dots_with(block, &self.matrix, cols);
                sims.chunks(cols.max(1)).take(block.len()).map(|row| self.row_scores(row)).collect::<Vec<_>>()
            })
            .collect()
    }

    /// A code's score from one vector's similarities to every prototype vector.
    fn row_scores(&self, sims: &[f32]) -> Vec<f32> {
        let w = self.settings.centroid_weight;
        self.protos
            .iter()
            .chain(&self.fallback_proto)
            .map(|p| {
                let knn = mean_of_top_k(sims[p.examples.clone()].iter().copied(), self.settings.top_k);
                w * sims[p.centroid] + (1.0 - w) * knn
            })
            .collect()
    }

    /// [`Classifier::assign`] by the classifier that `build` would make from the codebook less
    /// the example statements `left` (leave-one-out, without building it: the other codes'
    /// scores stand, and a code that lost statements is scored on its other examples and the
    /// centroid of the rest). None when a code would lose every example statement, which
    /// changes what stands in for them: build that classifier instead.
    pub fn assign_left_out(&self, pieces: &[&Embedding], left: &[LeftOut]) -> Option<(Vec<Assigned>, Vec<f32>)> {
        let protos: Vec<&Prototype> = self.protos.iter().chain(&self.fallback_proto).collect();
        // Per code that loses statements: its position, the matrix rows left out, the new sum.
        let mut changed: Vec<(usize, Vec<usize>, Embedding)> = Vec::new();
        for l in left.iter().filter(|l| !l.examples.is_empty()) {
            // A code the classifier does not score (the fallback, unless it competes) is skipped.
            let Some(i) = protos.iter().position(|p| p.id == l.code) else { continue };
            let p = protos[i];
            if !p.has_examples {
                return None;
            }
            let k = match changed.iter().position(|(j, _, _)| *j == i) {
                Some(k) => k,
                None => {
                    changed.push((i, Vec::new(), p.sum.clone()));
                    changed.len() - 1
                }
            };
            let (_, rows, sum) = &mut changed[k];
            rows.extend(l.examples.iter().map(|j| p.examples.start + j));
            for v in &l.vectors {
                sum.iter_mut().zip(v.iter()).for_each(|(a, b)| *a -= b);
            }
            if rows.len() >= p.examples.len() {
                return None;
            }
        }
        let w = self.settings.centroid_weight;
        let refs: Vec<&[f32]> = pieces.iter().map(|e| e.as_slice()).collect();
        let all_sims = crate::model::dots_with(&refs, &self.matrix, self.rows);
        let scores: Vec<Vec<f32>> = pieces
            .iter()
            .zip(all_sims.chunks(self.rows.max(1)))
            .map(|(piece, sims)| {
                let mut s = self.row_scores(sims);
                for (i, rows, sum) in &changed {
                    let kept = protos[*i].examples.clone().filter(|r| !rows.contains(r)).map(|r| sims[r]);
                    let knn = mean_of_top_k(kept, self.settings.top_k);
                    let centroid = crate::model::dot(piece, sum) / crate::model::dot(sum, sum).sqrt().max(1e-12);
                    s[*i] = w * centroid + (1.0 - w) * knn;
                }
                s
            })
            .collect();
        Some(self.assign_scored(&scores.iter().map(Vec::as_slice).collect::<Vec<_>>()))
    }

    /// Codes for an answer, from its whole-text embedding and its sentences' embeddings.
    /// Returns the codes (best first) and each code's best score over all pieces.
    pub fn assign(&self, pieces: &[&Embedding]) -> (Vec<Assigned>, Vec<f32>) {
        let refs: Vec<&[f32]> = pieces.iter().map(|e| e.as_slice()).collect();
        let scores = self.score_many(&refs);
        self.assign_scored(&scores.iter().map(Vec::as_slice).collect::<Vec<_>>())
    }

    /// [`Classifier::assign`] from the pieces' scores as [`Classifier::score_many`] gives them
    /// (whole answer first).
    pub fn assign_scored(&self, pieces: &[&[f32]]) -> (Vec<Assigned>, Vec<f32>) {
        let n = self.protos.len();
        let fallback_score = match (&self.fallback_proto, pieces.first()) {
            (Some(_), Some(s)) => Some(s[n]),
            _ => None,
        };
        let mut best = vec![f32::MIN; n];
        let mut best_piece = vec![0usize; n];
        let mut chosen = vec![false; n];
        let mut whole_top = f32::MIN;
        for (j, s) in pieces.iter().enumerate() {
            let s = &s[..n];
            let top = s.iter().copied().fold(f32::MIN, f32::max);
            if j == 0 {
                whole_top = top;
            }
            for i in 0..n {
                if s[i] > best[i] {
                    best[i] = s[i];
                    best_piece[i] = j;
                }
                if s[i] >= self.protos[i].threshold && s[i] >= top - self.settings.margin {
                    chosen[i] = true;
                }
            }
        }
        let mut codes: Vec<Assigned> = (0..n)
            .filter(|&i| chosen[i])
            .map(|i| Assigned { code: self.protos[i].id.clone(), score: best[i], piece: best_piece[i] })
            .collect();
        codes.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.code.cmp(&b.code)));
        if let Some(t) = self.settings.second_threshold {
            // Best first, so every code under the floor comes after every code over it.
            codes.truncate(1.max(codes.iter().take_while(|a| a.score >= t).count()));
        }
        codes.truncate(self.settings.max_codes);
        if let Some(fs) = fallback_score.filter(|&fs| fs > whole_top) {
            return (vec![Assigned::new(self.fallback.clone(), fs)], best);
        }
        if codes.is_empty() {
            codes.push(Assigned::new(self.fallback.clone(), 0.0));
        }
        (codes, best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ModelInfo, Precision};

    /// Words hashed into a small vector: similar wording, similar vectors. A stand-in for the
    /// model where only the arithmetic is under test.
    struct Hashed(ModelInfo);

    impl Encoder for Hashed {
        fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let mut v = vec![0f32; 16];
                    for w in t.split_whitespace() {
                        let h = w.to_lowercase().bytes().fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
                        v[(h % 16) as usize] += 1.0;
                        v[((h >> 8) % 16) as usize] -= 0.5;
                    }
                    crate::model::to_unit(v)
                })
                .collect())
        }
        fn info(&self) -> &ModelInfo {
            &self.0
        }
    }

    /// Two codes with four examples each and a fallback with two.
    fn parks_and_buses() -> Codebook {
        Codebook::parse(
            r#"name = "t"
fallback = "other"
[[codes]]
id = "parks"
label = "Parks"
description = "Parks, play areas and green spaces."
examples = ["The play area needs new swings.", "Keep the park gates open later.", "More bins in the park please.", "The park benches are broken."]
[[codes]]
id = "buses"
label = "Buses"
description = "Bus routes, fares and timetables."
examples = ["Bring back the evening bus.", "Bus fares are too high.", "Real-time bus information at stops.", "The park and ride bus is always late."]
[[codes]]
id = "other"
label = "Other"
description = "Anything else."
examples = ["Thanks for asking.", "The council wastes money."]
"#,
            "test".into(),
        )
        .unwrap()
    }

    fn hashed() -> Hashed {
        Hashed(ModelInfo {
            name: "hashed".into(),
            path: String::new(),
            weights_sha256: String::new(),
            dim: 16,
            max_tokens: 128,
            precision: Precision::Fp32,
        })
    }

    #[test]
    fn a_second_code_needs_the_second_threshold() {
        let cb = parks_and_buses();
        let mut settings = Settings::default_settings();
        let codes = |settings: &Settings, pieces: &[&[f32]]| {
            let c = Classifier::build(&cb, &hashed(), settings.clone()).unwrap();
            c.assign_scored(pieces).0.into_iter().map(|a| a.code).collect::<Vec<_>>()
        };
        // parks, buses, then the fallback's own score (it competes in the default settings).
        let close: &[f32] = &[0.50, 0.47, 0.10];
        assert_eq!(codes(&settings, &[close]), ["parks", "buses"]);
        settings.second_threshold = Some(0.48);
        assert_eq!(codes(&settings, &[close]), ["parks"]);
        settings.second_threshold = Some(0.47);
        assert_eq!(codes(&settings, &[close]), ["parks", "buses"]);
        // The first code stays when it is itself under the floor.
        settings.second_threshold = Some(0.60);
        assert_eq!(codes(&settings, &[close]), ["parks"]);
        // A code's best piece counts: buses scores 0.49 in a sentence.
        settings.second_threshold = Some(0.48);
        assert_eq!(codes(&settings, &[close, &[0.20, 0.49, 0.0]]), ["parks", "buses"]);
    }

    /// Leaving statements out of a built classifier codes an answer as the classifier built
    /// without them does: the same codes, the same scores to rounding, for every example of
    /// every code (the competing fallback's too), one at a time and two at a time; and a code
    /// that would lose every example is left to a rebuild.
    #[test]
    fn leaving_statements_out_matches_building_without_them() {
        let cb = parks_and_buses();
        let enc = hashed();
        let mut settings = Settings::default_settings();
        settings.fallback_competes = true;
        settings.threshold = 0.2;
        let full = Classifier::build(&cb, &enc, settings.clone()).unwrap();
        let mut cases: Vec<Vec<(&str, usize)>> = Vec::new();
        for c in &cb.codes {
            for j in 0..c.examples.len() {
                cases.push(vec![(c.id.as_str(), j)]);
            }
        }
        cases.push(vec![("parks", 0), ("buses", 3)]);
        cases.push(vec![("parks", 1), ("parks", 3)]);
        let mut compared = 0;
        for case in &cases {
            let mut without = cb.clone();
            let mut texts: Vec<String> = Vec::new();
            for &(code, j) in case.iter().rev() {
                let c = without.codes.iter_mut().find(|c| c.id == code).unwrap();
                texts.push(c.examples.remove(j));
            }
            let vectors = enc.embed(&texts.iter().map(String::as_str).collect::<Vec<_>>()).unwrap();
            let left: Vec<LeftOut> = case
                .iter()
                .rev()
                .zip(&vectors)
                .map(|(&(code, j), v)| LeftOut { code, examples: vec![j], vectors: vec![v] })
                .collect();
            // Each left-out statement read as an answer, and one answer of new words.
            for answer in texts.iter().map(String::as_str).chain(["Fix the swings and the bus timetable."]) {
                let v = enc.embed(&[answer]).unwrap();
                let want = Classifier::build(&without, &enc, settings.clone()).unwrap().assign(&[&v[0]]);
                let got = full.assign_left_out(&[&v[0]], &left).expect("every code keeps an example");
                let codes = |a: &[Assigned]| a.iter().map(|a| a.code.clone()).collect::<Vec<_>>();
                assert_eq!(codes(&got.0), codes(&want.0), "{case:?} {answer}");
                for (g, w) in got.1.iter().zip(&want.1) {
                    assert!((g - w).abs() < 1e-5, "{case:?} {answer}: {:?} against {:?}", got.1, want.1);
                }
                compared += 1;
            }
        }
        assert_eq!(compared, cases.iter().map(|c| c.len() + 1).sum::<usize>());
        // "other" has two examples: leaving both out leaves it with none.
        let v = enc.embed(&["Thanks for asking."]).unwrap();
        let both = [LeftOut { code: "other", examples: vec![0, 1], vectors: vec![&v[0], &v[0]] }];
        assert!(full.assign_left_out(&[&v[0]], &both).is_none());
    }

    #[test]
    fn top_k_mean_equals_sorting() {
        let v = [0.3f32, -0.2, 0.9, 0.1, 0.5, 0.5, 0.95, -1.0];
        for k in 1..=10 {
            let mut s = v.to_vec();
            s.sort_by(|a, b| b.total_cmp(a));
            let m = k.min(s.len());
            let want = s[..m].iter().sum::<f32>() / m as f32;
            assert!((mean_of_top_k(v.iter().copied(), k) - want).abs() < 1e-6, "k={k}");
        }
        assert_eq!(mean_of_top_k(std::iter::empty(), 3), 0.0);
    }
}
