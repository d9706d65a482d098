//! Zero-shot multi-label coding: cosine similarity between an answer (and each of its
//! sentences) and each code's prototypes (description, label, example statements).
//! Settings are data (`models/zero-shot.toml`), embedded as the default.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::model::{centroid, dot, Embedding, Encoder};

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
    centroid: Embedding,
    examples: Vec<Embedding>,
    threshold: f32,
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

pub struct Classifier {
    protos: Vec<Prototype>,
    fallback_proto: Option<Prototype>,
    settings: Settings,
    fallback: String,
}

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
        let mut protos: Vec<Prototype> = codes
            .iter()
            .zip(spans)
            .map(|(c, (s, e))| {
                let all: Vec<&Embedding> = embs[s..e].iter().collect();
                // Examples for nearest-neighbour scoring; description and label stand in when
                // a code has no examples.
                let examples = if e - s > 2 { embs[s + 2..e].to_vec() } else { embs[s..e].to_vec() };
                Prototype {
                    id: c.id.clone(),
                    centroid: centroid(&all),
                    examples,
                    threshold: settings.thresholds.get(&c.id).copied().unwrap_or(settings.threshold),
                }
            })
            .collect();
        let fallback_proto = if competes { protos.pop() } else { None };
        Ok(Classifier { protos, fallback_proto, settings, fallback: codebook.fallback.clone() })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn code_ids(&self) -> Vec<&str> {
        self.protos.iter().map(|p| p.id.as_str()).collect()
    }

    /// Score of every code (in [`Classifier::code_ids`] order) for one embedding.
    pub fn scores(&self, e: &Embedding) -> Vec<f32> {
        self.protos.iter().map(|p| self.score(p, e)).collect()
    }

    fn score(&self, p: &Prototype, e: &Embedding) -> f32 {
        let w = self.settings.centroid_weight;
        let mut sims: Vec<f32> = p.examples.iter().map(|x| dot(e, x)).collect();
        sims.sort_by(|a, b| b.total_cmp(a));
        let k = self.settings.top_k.clamp(1, sims.len());
        let knn = sims[..k].iter().sum::<f32>() / k as f32;
        w * dot(e, &p.centroid) + (1.0 - w) * knn
    }

    /// Codes for an answer, from its whole-text embedding and its sentences' embeddings.
    /// Returns the codes (best first) and each code's best score over all pieces.
    pub fn assign(&self, pieces: &[&Embedding]) -> (Vec<Assigned>, Vec<f32>) {
        let n = self.protos.len();
        let fallback_score = match (&self.fallback_proto, pieces.first()) {
            (Some(p), Some(e)) => Some(self.score(p, e)),
            _ => None,
        };
        let mut best = vec![f32::MIN; n];
        let mut best_piece = vec![0usize; n];
        let mut chosen = vec![false; n];
        let mut whole_top = f32::MIN;
        for (j, e) in pieces.iter().enumerate() {
            let s = self.scores(e);
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
