//! The model seam: everything that touches the neural network sits behind [`Encoder`].
//!
//! [`MiniLm`] loads all-MiniLM-L6-v2 from local files with rust-bert (no network, no hub),
//! sorts the texts by token length and packs batches by a token budget, so a batch is padded
//! only to its own longest text, and returns unit-length embeddings in input order.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
    /// Frees the network if it can be loaded again on demand (the caller is done embedding
    /// for now); by default nothing.
    fn release(&self) {}
}

#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub name: String,
    pub path: String,
    /// SHA-256 of model.safetensors, as recorded in the repository's checksum file.
    pub weights_sha256: String,
    pub dim: usize,
    pub max_tokens: usize,
    /// The number format the network computes in.
    pub precision: Precision,
}

/// The number format the network computes in. Weights are stored in fp32; with `Bf16` they
/// are converted at load time and every matrix product runs in bfloat16, which CPUs with
/// AVX512-BF16 (AMD Zen 4, Intel Cooper Lake and later) multiply natively at about twice the
/// fp32 rate. Embeddings stay within cosine 0.9998 of fp32 (tests/model.rs); the pooled
/// vectors are returned in fp32 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    Fp32,
    Bf16,
}

/// The environment variable that sets the precision when no `--precision` is given.
pub const PRECISION_ENV: &str = "CONSULT_PRECISION";

impl Precision {
    /// bf16 where the CPU multiplies it natively, else fp32.
    pub fn auto() -> Precision {
        if cpu_has_bf16() {
            Precision::Bf16
        } else {
            Precision::Fp32
        }
    }

    /// `--precision` if given, else `$CONSULT_PRECISION` (fp32, bf16 or auto), else `default`
    /// (None: [`Precision::auto`]).
    pub fn resolve(flag: Option<Precision>, default: Option<Precision>) -> Result<Precision> {
        if let Some(p) = flag {
            return Ok(p);
        }
        match std::env::var(PRECISION_ENV).ok().as_deref().map(str::trim) {
            None | Some("") => Ok(default.unwrap_or_else(Precision::auto)),
            Some("auto") => Ok(Precision::auto()),
            Some("fp32") => Ok(Precision::Fp32),
            Some("bf16") => Ok(Precision::Bf16),
            Some(other) => Err(anyhow!("{PRECISION_ENV}={other:?}: expected fp32, bf16 or auto")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
        }
    }

    fn kind(self) -> Option<tch::Kind> {
        match self {
            Precision::Fp32 => None,
            Precision::Bf16 => Some(tch::Kind::BFloat16),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_bf16() -> bool {
    std::arch::is_x86_feature_detected!("avx512bf16")
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_has_bf16() -> bool {
    false
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

/// The environment variable that sets how many copies of the model embed side by side.
pub const THREADS_ENV: &str = "CONSULT_THREADS";

/// One worker per core (at most 4), or `$CONSULT_THREADS`.
pub fn default_workers() -> usize {
    std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()).min(4))
        .max(1)
}

/// all-MiniLM-L6-v2 on the CPU. Several workers, each its own copy of the model (22M
/// parameters) running torch single-threaded, take batches from one queue: for a model this
/// small, whole batches side by side keep the cores busier than torch's intra-op threads,
/// which spin-wait between the many small operations (65% of the time in libgomp when the
/// machine is shared). Each batch is computed the same way whichever worker takes it, so
/// the output does not depend on scheduling.
pub struct MiniLm {
    workers: Vec<Mutex<SentenceEmbeddingsModel>>,
    info: ModelInfo,
    /// Upper bound on padded tokens in one batch (items × longest item).
    pub token_budget: usize,
    /// Upper bound on items in one batch.
    pub max_batch: usize,
}

impl ModelInfo {
    /// What the model folder holds, without loading the network: checks the files are there
    /// (else [`SetupMissing`]), reads the dimension and the recorded weights checksum.
    pub fn read(dir: &Path, precision: Precision) -> Result<ModelInfo> {
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
            precision,
        })
    }
}

impl MiniLm {
    pub fn load(dir: &Path, precision: Precision) -> Result<MiniLm> {
        MiniLm::load_workers(dir, precision, default_workers())
    }

    /// Loads `n` copies of the model (in parallel).
    pub fn load_workers(dir: &Path, precision: Precision, n: usize) -> Result<MiniLm> {
        let mut info = ModelInfo::read(dir, precision)?;
        let models: Vec<Result<SentenceEmbeddingsModel>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n.max(1)).map(|_| s.spawn(|| load_one(dir, precision))).collect();
            handles.into_iter().map(|h| h.join().expect("model loading thread")).collect()
        });
        let workers: Vec<Mutex<SentenceEmbeddingsModel>> =
            models.into_iter().map(|m| m.map(Mutex::new)).collect::<Result<_>>()?;
        info.dim = lock(&workers[0]).get_embedding_dim()? as usize;
        Ok(MiniLm { workers, info, token_budget: 1024, max_batch: 64 })
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// Embeds `texts` as one batch in the order given (no sorting): the reference path.
    pub fn embed_in_order(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        lock(&self.workers[0]).encode(texts).context("encoding a batch")
    }

    /// Token count of each text as the model sees it (including [CLS] and [SEP], truncated).
    fn token_lengths(&self, texts: &[&str]) -> Vec<usize> {
        let model = lock(&self.workers[0]);
        let tok = model.get_tokenizer();
        texts
            .iter()
            .map(|t| (tok.tokenize(t).len() + 2).min(self.info.max_tokens))
            .collect()
    }
}

fn lock(m: &Mutex<SentenceEmbeddingsModel>) -> std::sync::MutexGuard<'_, SentenceEmbeddingsModel> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The model's WordPiece tokenizer, from vocab.txt.
pub fn load_tokenizer(dir: &Path) -> Result<TokenizerOption> {
    TokenizerOption::from_file(
        ModelType::Bert,
        dir.join("vocab.txt").to_str().ok_or_else(|| anyhow!("model path is not UTF-8"))?,
        None,
        tokenizer_lowercases(dir),
        None::<bool>,
        None::<bool>,
    )
    .context("loading the tokenizer")
}

/// One copy of the model, from local files only.
fn load_one(dir: &Path, precision: Precision) -> Result<SentenceEmbeddingsModel> {
    let res = |f: &str| -> Box<LocalResource> { Box::new(LocalResource::from(dir.join(f))) };
    let tokenizer = load_tokenizer(dir)?;
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
        kind: precision.kind(),
    };
    SentenceEmbeddingsModel::new_with_tokenizer(config, tokenizer)
        .with_context(|| format!("loading the sentence embedding model from {}", dir.display()))
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
        .or_else(|| file_sha256(&dir.join("model.safetensors")).ok())
        .unwrap_or_else(|| "unreadable".to_string())
}

/// SHA-256 of a file, hex.
pub fn file_sha256(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(crate::codebook::hex(&Sha256::digest(&bytes)))
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
        let batches = plan_batches(&lengths, self.token_budget, self.max_batch);
        let run = |model: &SentenceEmbeddingsModel, batch: &[usize]| -> Result<Vec<Embedding>> {
            let items: Vec<&str> = batch.iter().map(|&i| texts[i]).collect();
            model.encode(&items).context("encoding a batch")
        };
        for (i, v) in run_batches(&self.workers, &batches, run)? {
            out[i] = v;
        }
        Ok(out)
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }
}

/// Runs `batches` (lists of item indices) through `workers` side by side, each worker taking
/// the next batch from one queue with torch on one thread; returns (item, result) pairs.
/// Each batch is computed the same way whichever worker takes it, so results do not depend
/// on scheduling.
pub fn run_batches<W, T, F>(workers: &[Mutex<W>], batches: &[Vec<usize>], run: F) -> Result<Vec<(usize, T)>>
where
    W: Send,
    T: Send,
    F: Fn(&W, &[usize]) -> Result<Vec<T>> + Sync,
{
    let next = AtomicUsize::new(0);
    let work = |m: &Mutex<W>| -> Result<Vec<(usize, T)>> {
        let w = m.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(batch) = batches.get(b) else { return Ok(done) };
            done.extend(batch.iter().copied().zip(run(&w, batch)?));
        }
    };
    let results: Vec<Result<Vec<(usize, T)>>> = if workers.len() == 1 {
        vec![work(&workers[0])]
    } else {
        let threads = tch::get_num_threads();
        tch::set_num_threads(1);
        let r = std::thread::scope(|s| {
            let handles: Vec<_> = workers.iter().map(|m| s.spawn(|| work(m))).collect();
            handles.into_iter().map(|h| h.join().expect("model worker")).collect()
        });
        tch::set_num_threads(threads);
        r
    };
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// Dot product. Sixteen running sums let the compiler use SIMD registers (a single running
/// sum in order cannot be reordered, so it stays scalar). On x86-64 CPUs with AVX2 the same
/// code is compiled for 256-bit registers and chosen at run time; every lane does the same
/// operations in the same order, so the result is the same bit for bit either way.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_lanes(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    dot_lanes(a, b)
}

#[inline(always)]
fn dot_lanes(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

/// Dot products of each of `rows` with each of the `n` vectors stored row-major in `b`
/// (`n` x dim): a `rows.len()` x `n` matrix, row-major, from one cache-blocked SIMD matrix
/// product (matrixmultiply picks AVX-512/AVX2 at run time).
pub fn dots_with(rows: &[&[f32]], b: &[f32], n: usize) -> Vec<f32> {
    let m = rows.len();
    let dim = b.len().checked_div(n).unwrap_or(0);
    let mut a: Vec<f32> = Vec::with_capacity(m * dim);
    for v in rows {
        assert_eq!(v.len(), dim, "vectors of different dimensions");
        a.extend_from_slice(v);
    }
    let mut c = vec![0f32; m * n];
    if m > 0 && n > 0 {
        // SAFETY: A is m x dim row-major, B^T is read from the n x dim row-major `b` (row
        // stride 1, column stride dim), C is m x n row-major; the buffers have those sizes.
        unsafe {
            matrixmultiply::sgemm(
                m, dim, n, 1.0,
                a.as_ptr(), dim as isize, 1,
                b.as_ptr(), 1, dim as isize,
                0.0, c.as_mut_ptr(), n as isize, 1,
            );
        }
    }
    c
}

/// Every pair (i, j) with `dot(a[i], b[j]) >= min`, in row order: blocks of 256 rows of `a`
/// against all of `b` ([`dots_with`]), blocks in parallel.
pub fn pairs_at_least(a: &[&[f32]], b: &[&[f32]], min: f32) -> Vec<(usize, usize)> {
    use rayon::prelude::*;
    const ROWS: usize = 256;
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let bm: Vec<f32> = b.iter().flat_map(|v| v.iter().copied()).collect();
    let n = b.len();
    a.par_chunks(ROWS)
        .enumerate()
        .flat_map_iter(|(blk, rows)| {
            let c = dots_with(rows, &bm, n);
            let base = blk * ROWS;
            let hits: Vec<(usize, usize)> = c
                .chunks(n)
                .enumerate()
                .flat_map(|(i, row)| row.iter().enumerate().filter(|(_, s)| **s >= min).map(move |(j, _)| (base + i, j)))
                .collect();
            hits.into_iter()
        })
        .collect()
}

/// Unit-length mean of several unit vectors.
pub fn centroid(vs: &[&Embedding]) -> Embedding {
    to_unit(sum(vs))
}

/// The element-wise sum of `vs`, in order (the direction [`centroid`] scales to unit length).
pub fn sum(vs: &[&Embedding]) -> Embedding {
    let dim = vs.first().map_or(0, |v| v.len());
    let mut c = vec![0f32; dim];
    for v in vs {
        for (a, b) in c.iter_mut().zip(v.iter()) {
            *a += b;
        }
    }
    c
}

/// `v` scaled to unit length (a zero vector stays zero).
pub fn to_unit(mut v: Vec<f32>) -> Embedding {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_at_least_finds_what_dot_finds() {
        let vs: Vec<Vec<f32>> = (0..600)
            .map(|i| {
                let v: Vec<f32> = (0..24).map(|k| (((i * 7 + k * 13) % 17) as f32 - 8.0) / 8.0).collect();
                let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.into_iter().map(|x| x / n).collect()
            })
            .collect();
        let a: Vec<&[f32]> = vs.iter().map(Vec::as_slice).collect();
        let b: Vec<&[f32]> = vs[..50].iter().map(Vec::as_slice).collect();
        let mut want = Vec::new();
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                if dot(x, y) >= 0.9 {
                    want.push((i, j));
                }
            }
        }
        assert!(want.len() > 600, "{}", want.len());
        assert_eq!(pairs_at_least(&a, &b, 0.9), want);
    }

    #[test]
    fn dot_matches_the_plain_sum() {
        for n in [0, 1, 15, 16, 17, 384, 390] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 3.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 3 % 13) as f32 - 6.0) / 4.0).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (*x as f64) * (*y as f64)).sum();
            assert!((dot(&a, &b) as f64 - plain).abs() < 1e-4, "n={n}");
            assert_eq!(dot(&a, &b).to_bits(), dot_lanes(&a, &b).to_bits(), "n={n}");
        }
    }

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
