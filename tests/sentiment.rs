//! `consult sentiment`: one row out per row in, tone from the default model (the fine-tuned
//! one `make sentiment-model` builds; the committed head with `--sentiment-model`), the
//! question taken from a column when given; bad columns are input errors.

mod common;

use std::process::Command;

use assert_cmd::prelude::*;

fn run(csv_text: &str, extra: &[&str]) -> (std::process::Output, Vec<csv::StringRecord>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, csv_text).unwrap();
    let out = dir.path().join("out.csv");
    let o = Command::cargo_bin("consult")
        .unwrap()
        .current_dir(common::repo())
        .arg("sentiment")
        .arg(&input)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let recs = if o.status.success() {
        csv::Reader::from_path(&out).unwrap().records().map(Result::unwrap).collect()
    } else {
        Vec::new()
    };
    (o, recs)
}

#[test]
fn scores_each_text_with_tone_score_and_grade_probabilities() {
    let input = "ref,comment,q\n\
        a,\"The library staff are wonderful and the new children's centre is brilliant, thank you.\",Any comments?\n\
        b,\"The roads are a disgrace, nothing ever gets fixed and nobody listens to us.\",Any comments?\n\
        c,The council should consider adding a bus route to the new estate.,Any comments?\n\
        d,,Any comments?\n\
        e,Nothing.,What could we do better?\n";
    // The default (fine-tuned) model, and the frozen head it falls back to.
    for model in [None, Some("models/sentiment/head.json")] {
        let mut args = vec!["--id", "ref", "--text", "comment", "--question-col", "q"];
        args.extend(model.iter().flat_map(|m| ["--sentiment-model", *m]));
        let (o, recs) = run(input, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let got: Vec<(&str, &str)> = recs.iter().map(|r| (&r[0], &r[1])).collect();
        assert_eq!(
            got,
            [("a", "positive"), ("b", "negative"), ("c", "neutral"), ("d", ""), ("e", "positive")],
            "{model:?}"
        );
        for r in recs.iter().filter(|r| !r[1].is_empty()) {
            let p: f32 = (3..8).map(|k| r[k].parse::<f32>().unwrap()).sum();
            assert!((p - 1.0).abs() < 1e-3, "{r:?}");
        }
        assert!(recs[0][2].parse::<f32>().unwrap() > 0.3);
        assert!(recs[1][2].parse::<f32>().unwrap() < -0.3);
    }
}

#[test]
fn unknown_text_column_is_an_input_error() {
    let (o, _) = run("id,text\n1,Good.\n", &["--text", "comment"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("comment"), "{err}");
}

/// Every row read is scored, blank or rejected, and the run says how many of each: a
/// malformed row is named on stderr with its line and reason, not dropped in silence.
#[test]
fn a_malformed_row_is_named_and_counted() {
    let (o, recs) = run("id,text\n1,Good service.\n2,Too,many\n3,\n", &["--id", "id", "--text", "text"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let ids: Vec<&str> = recs.iter().map(|r| &r[0]).collect();
    assert_eq!(ids, ["1", "3"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("in.csv: line 3: rejected: has 3 fields where the header has 2"), "{err}");
    assert!(err.contains("3 rows read: 1 scored, 1 blank, 1 rejected"), "{err}");
}
