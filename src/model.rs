//! The model seam: everything that touches the neural network sits behind [`Encoder`].
//!
//! [`MiniLm`] loads all-MiniLM-L6-v2 from local files with rust-bert (no network, no hub),
//! sorts the texts by token length and packs batches by a token budget, so a batch is padded
//! only to its own longest text, and returns unit-length embeddings in input order.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use rust_bert::pipelines::common::{ModelType, TokenizerOption};
use rust_bert::pipelines::sentence_embeddings::{SentenceEmbeddingsConfig, SentenceEmbeddingsModel};
use rust_bert::resources::LocalResource;
use serde::Serialize;

/// A sentence embedding: unit length, so a dot product is a cosine.
pub type Embedding = Vec<f32>;

pub trait Encoder {
    /// Embeds `texts`, returning one unit-length vector per text, in input order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>>;
    fn info(&self) -> &ModelInfo;
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: String,
    /// SHA-256 of model.safetensors, as recorded in the repository's checksum file.
    pub weights_sha256: String,
    pub dim: usize,
    pub max_tokens: usize,
}

/// The environment variable that overrides where the model folder is.
pub const MODEL_DIR_ENV: &str = "CONSULT_MODEL_DIR";
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Where the model folder is: `--model`, then `$CONSULT_MODEL_DIR`, then
/// `models/all-MiniLM-L6-v2` beside the binary's repository, then in the current directory.
pub fn locate_model_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os(MODEL_DIR_ENV) {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        // target/{release,debug}[/deps]/consult -> repository root
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join("models").join(MODEL_NAME));
        }
    }
    candidates.push(PathBuf::from("models").join(MODEL_NAME));
    candidates.into_iter().find(|p| p.join("model.safetensors").is_file())
}

/// Error raised when the model files are not where they should be (exit code 3).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupMissing(pub String);

pub struct MiniLm {
    model: SentenceEmbeddingsModel,
    info: ModelInfo,
    /// Upper bound on padded tokens in one batch (items × longest item).
    pub token_budget: usize,
    /// Upper bound on items in one batch.
    pub max_batch: usize,
}

impl ModelInfo {
    /// What the model folder holds, without loading the network: checks the files are there
    /// (else [`SetupMissing`]), reads the dimension and the recorded weights checksum.
    pub fn read(dir: &Path) -> Result<ModelInfo> {
        let need = ["model.safetensors", "config.json", "vocab.txt", "modules.json",
            "sentence_bert_config.json", "1_Pooling/config.json"];
        for f in need {
            if !dir.join(f).is_file() {
                return Err(SetupMissing(format!(
                    "model file {} is missing; run `make setup` in the consult repository \
                     (or point --model / {MODEL_DIR_ENV} at an all-MiniLM-L6-v2 folder)",
                    dir.join(f).display()
                ))
                .into());
            }
        }
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json")).context("reading the model's config.json")?,
        )
        .context("parsing the model's config.json")?;
        let dim = config.get("hidden_size").and_then(|v| v.as_u64()).unwrap_or(384) as usize;
        Ok(ModelInfo {
            name: MODEL_NAME.to_string(),
            path: dir.display().to_string(),
            weights_sha256: recorded_weights_sha(dir),
            dim,
            max_tokens: 256,
        })
    }
}

impl MiniLm {
    pub fn load(dir: &Path) -> Result<MiniLm> {
        let mut info = ModelInfo::read(dir)?;
        let res = |f: &str| -> Box<LocalResource> { Box::new(LocalResource::from(dir.join(f))) };
        let lower_case = tokenizer_lowercases(dir);
        let tokenizer = TokenizerOption::from_file(
            ModelType::Bert,
            dir.join("vocab.txt").to_str().ok_or_else(|| anyhow!("model path is not UTF-8"))?,
            None,
            lower_case,
            None::<bool>,
            None::<bool>,
        )
        .context("loading the tokenizer")?;
        let config = SentenceEmbeddingsConfig {
            modules_config_resource: res("modules.json"),
            transformer_type: ModelType::Bert,
            transformer_config_resource: res("config.json"),
            transformer_weights_resource: res("model.safetensors"),
            pooling_config_resource: res("1_Pooling/config.json"),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: res("sentence_bert_config.json"),
            tokenizer_config_resource: res("tokenizer_config.json"),
            tokenizer_vocab_resource: res("vocab.txt"),
            tokenizer_merges_resource: None,
            device: tch::Device::Cpu,
            kind: None,
        };
        let model = SentenceEmbeddingsModel::new_with_tokenizer(config, tokenizer)
            .with_context(|| format!("loading the sentence embedding model from {}", dir.display()))?;
        info.dim = model.get_embedding_dim()? as usize;
        Ok(MiniLm { model, info, token_budget: 1024, max_batch: 64 })
    }

    /// Embeds `texts` as one batch in the order given (no sorting): the reference path.
    pub fn embed_in_order(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        Ok(self.model.encode(texts).context("encoding a batch")?)
    }

    /// Token count of each text as the model sees it (including [CLS] and [SEP], truncated).
    fn token_lengths(&self, texts: &[&str]) -> Vec<usize> {
        let tok = self.model.get_tokenizer();
        texts
            .iter()
            .map(|t| (tok.tokenize(t).len() + 2).min(self.info.max_tokens))
            .collect()
    }
}

/// Whether the tokenizer lower-cases, from tokenizer_config.json (all-MiniLM-L6-v2: yes).
fn tokenizer_lowercases(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.get("do_lower_case").and_then(|b| b.as_bool()))
        .unwrap_or(true)
}

/// The weights' SHA-256: from the checksum file beside the model folder
/// (models/all-MiniLM-L6-v2.sha256), else computed (a fraction of a second), so the
/// embedding cache never serves vectors from other weights.
fn recorded_weights_sha(dir: &Path) -> String {
    let sums = dir.with_extension("sha256");
    std::fs::read_to_string(sums)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.trim_end().ends_with("model.safetensors"))
                .and_then(|l| l.split_whitespace().next().map(str::to_string))
        })
        .or_else(|| {
            use sha2::{Digest, Sha256};
            let bytes = std::fs::read(dir.join("model.safetensors")).ok()?;
            Some(Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect())
        })
        .unwrap_or_else(|| "unreadable".to_string())
}

/// Plans batches over texts sorted by length (longest first): each batch holds at most
/// `max_batch` texts and at most `token_budget` padded tokens. Returns index lists.
pub fn plan_batches(lengths: &[usize], token_budget: usize, max_batch: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    // Stable sort, longest first, ties in input order: deterministic batches.
    order.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut longest = 0;
    for i in order {
        let len = lengths[i].max(1);
        let new_longest = longest.max(len);
        if !current.is_empty()
            && (current.len() >= max_batch || new_longest * (current.len() + 1) > token_budget)
        {
            batches.push(std::mem::take(&mut current));
            longest = 0;
        }
        longest = longest.max(len);
        current.push(i);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

impl Encoder for MiniLm {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let mut out: Vec<Embedding> = vec![Vec::new(); texts.len()];
        if texts.is_empty() {
            return Ok(out);
        }
        let lengths = self.token_lengths(texts);
        for batch in plan_batches(&lengths, self.token_budget, self.max_batch) {
            let items: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            let vecs = self.model.encode(&items).context("encoding a batch")?;
            for (i, v) in batch.into_iter().zip(vecs) {
                out[i] = v;
            }
        }
        Ok(out)
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Unit-length mean of several unit vectors.
pub fn centroid(vs: &[&Embedding]) -> Embedding {
    let dim = vs.first().map_or(0, |v| v.len());
    let mut c = vec![0f32; dim];
    for v in vs {
        for (a, b) in c.iter_mut().zip(v.iter()) {
            *a += b;
        }
    }
    let n = c.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    c.iter_mut().for_each(|x| *x /= n);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_budget_and_cover_every_text_once() {
        let lengths = vec![10, 200, 3, 50, 50, 7, 256, 12];
        let b = plan_batches(&lengths, 300, 4);
        let mut all: Vec<usize> = b.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..lengths.len()).collect::<Vec<_>>());
        for batch in &b {
            let longest = batch.iter().map(|&i| lengths[i]).max().unwrap();
            assert!(batch.len() == 1 || longest * batch.len() <= 300, "{batch:?}");
            assert!(batch.len() <= 4);
        }
        assert_eq!(b[0], vec![6]); // the longest text rides alone: 256 * 2 > 300
    }
}
