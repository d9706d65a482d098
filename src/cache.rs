//! The embedding cache: a content-addressed store on disk, and the encoder that uses it.
//!
//! [`CachedEncoder`] sits in front of [`MiniLm`] behind the same [`Encoder`] seam. It embeds
//! in fixed chunks and appends each finished chunk to the store at once, so the store is also
//! the run's checkpoint: after `kill -9`, the same command embeds only the chunks that had not
//! finished, each with the same texts as before, and so writes byte-identical outputs. The
//! model itself is loaded only when some text is not in the store, which makes re-analysis
//! (an edited codebook, other `--by` columns) on the same export take seconds.
//!
//! Store layout: `<cache dir>/<model key>.emb`, a sequence of fixed-size records
//! `sha256(text) (32 bytes) | dim × f32 little-endian`, each chunk closed by a commit record
//! (key all 0xFF). The model key is a hash of the model's name, weights checksum, dimension
//! and token limit, so another model never reads these vectors. Writers hold an exclusive
//! file lock while appending a chunk and its commit in one write; records after the last
//! commit (a chunk cut short by a crash) are cut off when the store is next opened, so a
//! chunk is in the store whole or not at all.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::model::{default_workers, Embedding, Encoder, MiniLm, ModelInfo, Precision};

/// Up to this many missing texts, one copy of the model is loaded, not one per core: loading
/// a copy costs more than it would save.
const FEW_TEXTS: usize = 64;

/// Texts embedded per chunk: one checkpoint and one progress step each.
pub const CHUNK: usize = 256;

/// The environment variable naming the cache folder.
pub const CACHE_ENV: &str = "CONSULT_CACHE";

pub(crate) type Key = [u8; 32];

/// Marks the end of a chunk written whole.
const COMMIT: Key = [0xFF; 32];

/// The default cache folder: `$CONSULT_CACHE`, else `$XDG_CACHE_HOME/consult/embeddings`, else
/// `~/.cache/consult/embeddings`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CACHE_ENV) {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("consult").join("embeddings"))
}

pub(crate) fn key_of(text: &str) -> Key {
    Sha256::digest(text.as_bytes()).into()
}

/// The store's file name for a model: vectors of one model never mix with another's.
pub fn model_key(info: &ModelInfo) -> String {
    let mut h = Sha256::new();
    h.update(format!(
        "consult-embeddings-v1\n{}\n{}\n{}\n{}\n{}\n",
        info.name, info.weights_sha256, info.dim, info.max_tokens, info.precision.as_str()
    ));
    let d = h.finalize();
    format!("{}-{}", info.name, crate::codebook::hex(&d[..8]))
}

/// An append-only file of (text hash, vector) records, indexed in memory by hash.
pub struct Store {
    path: PathBuf,
    file: File,
    dim: usize,
    index: HashMap<Key, u64>,
}

impl Store {
    pub fn open(dir: &Path, info: &ModelInfo) -> Result<Store> {
        Store::open_named(dir, &model_key(info), info.dim)
    }

    /// The store `<dir>/<name>.emb` of `dim`-long vectors.
    pub fn open_named(dir: &Path, name: &str, dim: usize) -> Result<Store> {
        create_private_dir(dir)?;
        let path = dir.join(format!("{name}.emb"));
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open the embedding cache (use --no-cache to run without it)", path.display()))?;
        let rec = record_len(dim) as u64;
        file.lock().with_context(|| format!("{}: cannot lock the embedding cache", path.display()))?;
        let len = file.metadata()?.len();
        let whole = len - len % rec;
        let mut index = HashMap::with_capacity((whole / rec) as usize);
        let mut pending: Vec<(Key, u64)> = Vec::new();
        let mut committed = 0u64;
        let mut reader = BufReader::with_capacity(1 << 20, &file);
        let mut buf = vec![0u8; rec as usize];
        let mut offset = 0u64;
        while offset < whole {
            reader.read_exact(&mut buf).with_context(|| format!("{}: reading the embedding cache", path.display()))?;
            let key: Key = buf[..32].try_into().expect("32-byte key");
            offset += rec;
            if key == COMMIT {
                index.extend(pending.drain(..));
                committed = offset;
            } else {
                pending.push((key, offset - rec + 32));
            }
        }
        drop(reader);
        if committed != len {
            // A chunk cut short by a crash: drop it, so it is embedded again whole.
            file.set_len(committed).with_context(|| format!("{}: cannot repair the embedding cache", path.display()))?;
        }
        file.unlock()?;
        Ok(Store { path, file, dim, index })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn contains(&self, key: &Key) -> bool {
        self.index.contains_key(key)
    }

    pub(crate) fn get(&self, key: &Key) -> Result<Option<Embedding>> {
        let Some(&at) = self.index.get(key) else { return Ok(None) };
        let mut buf = vec![0u8; self.dim * 4];
        self.file
            .read_exact_at(&mut buf, at)
            .with_context(|| format!("{}: reading the embedding cache", self.path.display()))?;
        Ok(Some(buf.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect()))
    }

    /// Appends records in one write, under the lock, and indexes them.
    pub(crate) fn append(&mut self, items: &[(Key, &Embedding)]) -> Result<()> {
        let rec = record_len(self.dim);
        let mut bytes = Vec::with_capacity((items.len() + 1) * rec);
        for (k, v) in items {
            debug_assert_eq!(v.len(), self.dim);
            bytes.extend_from_slice(k);
            for x in v.iter() {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        bytes.extend_from_slice(&COMMIT);
        bytes.resize((items.len() + 1) * rec, 0);
        self.file.lock()?;
        let start = self.file.metadata()?.len();
        let res = (&self.file).write_all(&bytes);
        self.file.unlock()?;
        res.with_context(|| format!("{}: writing the embedding cache", self.path.display()))?;
        for (i, (k, _)) in items.iter().enumerate() {
            self.index.insert(*k, start + (i * rec) as u64 + 32);
        }
        Ok(())
    }
}

fn record_len(dim: usize) -> usize {
    32 + dim * 4
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("{}: cannot create the embedding cache folder (use --no-cache to run without it)", dir.display()))
}

/// What a run's embedding did, for the run log.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct CacheStats {
    pub texts: usize,
    pub from_cache: usize,
    pub embedded: usize,
}

/// The encoder `consult analyse` uses: cache first, then the model, loaded on first need.
pub struct CachedEncoder {
    model_dir: PathBuf,
    info: ModelInfo,
    model: RefCell<Option<Rc<MiniLm>>>,
    store: Option<RefCell<Store>>,
    progress: bool,
    stats: Cell<CacheStats>,
    load_seconds: Cell<f64>,
}

impl CachedEncoder {
    /// `cache_dir` None runs without a cache; `progress` draws a bar on stderr when it is a terminal.
    pub fn new(model_dir: &Path, precision: Precision, cache_dir: Option<&Path>, progress: bool) -> Result<CachedEncoder> {
        let info = ModelInfo::read(model_dir, precision)?;
        let store = match cache_dir {
            Some(d) => Some(RefCell::new(Store::open(d, &info)?)),
            None => None,
        };
        Ok(CachedEncoder {
            model_dir: model_dir.to_path_buf(),
            info,
            model: RefCell::new(None),
            store,
            progress,
            stats: Cell::new(CacheStats::default()),
            load_seconds: Cell::new(0.0),
        })
    }

    pub fn stats(&self) -> CacheStats {
        self.stats.get()
    }

    /// Seconds spent loading the model (0 when every text came from the cache).
    pub fn load_seconds(&self) -> f64 {
        self.load_seconds.get()
    }

    pub fn store_path(&self) -> Option<PathBuf> {
        self.store.as_ref().map(|s| s.borrow().path().to_path_buf())
    }

    /// The model, loaded on first need: one copy when only a few texts are missing (a
    /// re-analysis after a codebook edit), one per core otherwise.
    fn model(&self, missing: usize) -> Result<Rc<MiniLm>> {
        let want = if missing <= FEW_TEXTS { 1 } else { default_workers() };
        if let Some(m) = self.model.borrow().as_ref().filter(|m| m.workers() >= want) {
            return Ok(Rc::clone(m));
        }
        let t = std::time::Instant::now();
        let m = Rc::new(MiniLm::load_workers(&self.model_dir, self.info.precision, want)?);
        self.load_seconds.set(self.load_seconds.get() + t.elapsed().as_secs_f64());
        *self.model.borrow_mut() = Some(Rc::clone(&m));
        Ok(m)
    }

    fn bar(&self, len: usize) -> ProgressBar {
        use std::io::IsTerminal;
        if !self.progress || !std::io::stderr().is_terminal() || len == 0 {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("embedding {bar:30} {pos}/{len} texts, {per_sec}, ETA {eta}")
                .expect("valid template"),
        );
        pb
    }
}

/// Chunks of distinct texts, longest first (ties by text): fixed by the set of texts alone, so
/// a resumed run embeds exactly the chunks an uninterrupted one would.
pub fn plan_chunks(texts: &[&str], chunk: usize) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&str, ()> = HashMap::new();
    let mut order: Vec<usize> = (0..texts.len()).filter(|&i| seen.insert(texts[i], ()).is_none()).collect();
    order.sort_by(|&a, &b| texts[b].len().cmp(&texts[a].len()).then_with(|| texts[a].cmp(texts[b])));
    order.chunks(chunk.max(1)).map(<[usize]>::to_vec).collect()
}

impl Encoder for CachedEncoder {
    /// Drops the loaded model (it loads again on the next miss): `analyse` calls this once the
    /// answers are embedded, so the memory is free for the sentiment model.
    fn release(&self) {
        *self.model.borrow_mut() = None;
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let mut by_text: HashMap<&str, Embedding> = HashMap::with_capacity(texts.len());
        let chunks = plan_chunks(texts, CHUNK);
        let keys: Vec<Key> = texts.iter().map(|t| key_of(t)).collect();
        let missing = |c: &Vec<usize>| -> Vec<usize> {
            match &self.store {
                Some(s) => c.iter().copied().filter(|&i| !s.borrow().contains(&keys[i])).collect(),
                None => c.clone(),
            }
        };
        let to_embed: usize = chunks.iter().map(|c| missing(c).len()).sum();
        let bar = self.bar(to_embed);
        let mut stats = self.stats.get();
        for chunk in &chunks {
            let miss = missing(chunk);
            if !miss.is_empty() {
                let items: Vec<&str> = miss.iter().map(|&i| texts[i]).collect();
                let vecs = self.model(to_embed)?.embed(&items)?;
                if let Some(s) = &self.store {
                    let recs: Vec<(Key, &Embedding)> = miss.iter().map(|&i| keys[i]).zip(vecs.iter()).collect();
                    s.borrow_mut().append(&recs)?;
                }
                for (&i, v) in miss.iter().zip(vecs) {
                    by_text.insert(texts[i], v);
                }
                bar.inc(miss.len() as u64);
                stats.embedded += miss.len();
            }
            if let Some(s) = &self.store {
                let s = s.borrow();
                for &i in chunk {
                    if !by_text.contains_key(texts[i]) {
                        let v = s.get(&keys[i])?.expect("checked present");
                        by_text.insert(texts[i], v);
                        stats.from_cache += 1;
                    }
                }
            }
            stats.texts += chunk.len();
        }
        bar.finish_and_clear();
        self.stats.set(stats);
        Ok(texts.iter().map(|t| by_text[t].clone()).collect())
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ModelInfo {
        ModelInfo {
            name: "m".into(),
            path: String::new(),
            weights_sha256: "x".into(),
            dim: 3,
            max_tokens: 8,
            precision: Precision::Fp32,
        }
    }

    #[test]
    fn store_round_trips_and_drops_an_unfinished_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let i = info();
        let mut s = Store::open(dir.path(), &i).unwrap();
        let a = vec![0.5f32, -1.0, 2.0];
        let b = vec![1.0f32, 0.0, 0.25];
        s.append(&[(key_of("a"), &a), (key_of("b"), &b)]).unwrap();
        let path = s.path().to_path_buf();
        drop(s);
        // A crash mid-append leaves a whole record without its commit, and part of another.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&key_of("c")).unwrap();
        f.write_all(&[0u8; 12]).unwrap();
        f.write_all(&[7u8; 20]).unwrap();
        drop(f);
        let s = Store::open(dir.path(), &i).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.get(&key_of("a")).unwrap().unwrap(), a);
        assert_eq!(s.get(&key_of("b")).unwrap().unwrap(), b);
        assert_eq!(s.get(&key_of("c")).unwrap(), None, "an uncommitted record is not served");
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 * record_len(3) as u64);
    }

    #[test]
    fn chunks_depend_on_the_set_of_texts_not_their_order() {
        let t1 = ["bb", "a", "ccc", "a", "dd"];
        let t2 = ["dd", "ccc", "a", "bb"];
        let names = |t: &[&str], p: Vec<Vec<usize>>| -> Vec<Vec<String>> {
            p.into_iter().map(|c| c.into_iter().map(|i| t[i].to_string()).collect()).collect()
        };
        let p1 = names(&t1, plan_chunks(&t1, 2));
        let p2 = names(&t2, plan_chunks(&t2, 2));
        assert_eq!(p1, p2);
        assert_eq!(p1, vec![vec!["ccc", "bb"], vec!["dd", "a"]]);
    }

    #[test]
    fn model_key_changes_with_the_weights() {
        let mut j = info();
        j.weights_sha256 = "y".into();
        assert_ne!(model_key(&info()), model_key(&j));
    }

    #[test]
    fn model_key_changes_with_the_precision() {
        let mut j = info();
        j.precision = Precision::Bf16;
        assert_ne!(model_key(&info()), model_key(&j));
    }
}
