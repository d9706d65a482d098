//! Shared helpers: the real model, loaded once per test binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use consult::model::{MiniLm, Precision};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn shared_data() -> PathBuf {
    repo().join("../shared/data")
}

/// The model in fp32, the precision the Python reference vectors and the trained heads use.
pub fn model() -> std::sync::MutexGuard<'static, MiniLm> {
    static M: OnceLock<Mutex<MiniLm>> = OnceLock::new();
    M.get_or_init(|| {
        let dir = repo().join("models/all-MiniLM-L6-v2");
        Mutex::new(MiniLm::load(&dir, Precision::Fp32).expect("model files: run `make setup`"))
    })
    .lock()
    .unwrap_or_else(|e| e.into_inner())
}

/// Writes a header and rows as CSV.
pub fn write_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// A CSV file's header and rows, as strings.
pub fn read_csv(p: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (h, rows)
}
