//! The committed sentiment head is reproducible from the data: `consult train-sentiment`
//! run again gives the same weights (to rounding) and the same held-out figures.

mod common;

use std::process::Command;

use assert_cmd::prelude::*;
use consult::sentiment::Head;

#[test]
fn committed_sentiment_head_is_reproduced_by_train_sentiment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("head.json");
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(common::repo())
        .args(["train-sentiment", "--data"])
        .arg(common::shared_data())
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let fresh = Head::load(&out).unwrap();
    let committed = Head::load(&common::repo().join("models/sentiment/head.json")).unwrap();
    let mut max_diff = 0f32;
    for (a, b) in fresh.weights.iter().flatten().zip(committed.weights.iter().flatten()) {
        max_diff = max_diff.max((a - b).abs());
    }
    for (a, b) in fresh.bias.iter().zip(&committed.bias) {
        max_diff = max_diff.max((a - b).abs());
    }
    assert!(max_diff <= 1e-3, "weights differ by up to {max_diff}");
    for k in ["fft_5class_accuracy", "fft_3class_accuracy", "consultation_tone_accuracy"] {
        let a = fresh.meta["metrics"][k].as_f64().unwrap();
        let b = committed.meta["metrics"][k].as_f64().unwrap();
        assert!((a - b).abs() < 0.005, "{k}: {a} vs {b}");
    }
    // The held-out figures the head ships with (BENCHMARKS.md): a floor, not a snapshot.
    assert!(committed.meta["metrics"]["fft_3class_accuracy"].as_f64().unwrap() >= 0.78);
    assert!(committed.meta["metrics"]["fft_5class_accuracy"].as_f64().unwrap() >= 0.60);
}
