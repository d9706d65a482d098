//! consult: classify public-consultation answers against a council plan's codebook and by
//! sentiment, and write the evidence tables a committee paper needs.
//!
//! Pipeline, one way: [`input`] (read) -> [`normalise`] -> [`model`] (batch, embed) ->
//! [`classify`] + [`sentiment`] -> [`aggregate`] -> [`report`] (render).

pub mod aggregate;
pub mod analyse;
pub mod cache;
pub mod classify;
pub mod cli;
pub mod codebook;
pub mod commands;
pub mod crosstab;
pub mod evaluate;
pub mod heads;
pub mod lexical;
pub mod input;
pub mod model;
pub mod normalise;
pub mod pii;
pub mod quotes;
pub mod report;
pub mod sample;
pub mod selftest;
pub mod sentiment;
pub mod train;
pub mod tune;

/// Exit codes, as documented in `--help` and the README.
pub mod exit {
    pub const OK: i32 = 0;
    pub const INPUT: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const SETUP: i32 = 3;
}

/// The repository's `models/` folder: beside the binary's repository, else `./models`.
pub fn models_root() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("CONSULT_MODELS") {
        return p.into();
    }
    if let Ok(exe) = std::env::current_exe() {
        for up in exe.ancestors().skip(1).take(4) {
            let m = up.join("models");
            if m.join("zero-shot.toml").is_file() {
                return m;
            }
        }
    }
    std::path::PathBuf::from("models")
}
