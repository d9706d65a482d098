//! Reliability and safety, through the binary on the real model: resume after `kill -9`,
//! no network, output-folder safety, and odd input sizes.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use assert_cmd::prelude::*;

const FIXTURE: &str = "fixtures/strategic-plan-consultation.csv";

fn consult() -> Command {
    let mut c = Command::cargo_bin("consult").unwrap();
    c.current_dir(common::repo());
    c
}

/// Every output file, by path under `dir`, except timings.json (wall-clock times).
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.file_name().unwrap() != "timings.json" {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn store_len(cache: &Path) -> u64 {
    std::fs::read_dir(cache)
        .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn small_export(dir: &Path) -> PathBuf {
    let p = dir.join("small.csv");
    std::fs::write(
        &p,
        "Respondent,Comments\n1,The buses to the hospital are unreliable and often late\n2,More affordable homes for young families please\n3,n/a\n4,Keep the parks clean and plant more trees\n",
    )
    .unwrap();
    p
}

#[test]
fn a_run_killed_mid_way_resumes_to_outputs_identical_to_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let args = |out: &Path, cache: &Path| -> Vec<String> {
        vec!["analyse".into(), FIXTURE.into(), "--by".into(), "District".into(), "--quiet".into(),
            "--out".into(), out.display().to_string(), "--cache".into(), cache.display().to_string()]
    };
    let (reference, cache_a) = (tmp.path().join("reference"), tmp.path().join("cache-a"));
    consult().args(args(&reference, &cache_a)).assert().success();

    // The same command on a fresh cache, killed once a few chunks are in the store (the
    // codebook's texts come first, then the answers').
    let (resumed, cache_b) = (tmp.path().join("resumed"), tmp.path().join("cache-b"));
    let record = 32 + 384 * 4;
    let mut child = consult().args(args(&resumed, &cache_b)).spawn().unwrap();
    let started = Instant::now();
    loop {
        if store_len(&cache_b) >= 700 * record {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be interrupted");
        assert!(started.elapsed() < Duration::from_secs(600));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.try_wait().unwrap().is_none(), "still running when killed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!resumed.join("run.json").exists(), "killed before it wrote its outputs");

    let assert = consult().args(args(&resumed, &cache_b)).assert().success();
    let _ = assert;
    let timings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(resumed.join("timings.json")).unwrap()).unwrap();
    assert!(timings["texts_from_cache"].as_u64().unwrap() >= 500, "{timings}");
    assert!(timings["texts_embedded"].as_u64().unwrap() > 0, "{timings}");

    let (a, b) = (outputs(&reference), outputs(&resumed));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(bytes == &b[name], "{name} differs after resuming");
    }
}

#[test]
fn analyse_needs_no_network() {
    // A new network namespace has no interfaces but loopback (down): any attempt to reach a
    // model hub would fail. Needs unshare(1) and the right to make namespaces (root here; CI
    // runs as the same user).
    let tmp = tempfile::tempdir().unwrap();
    let input = small_export(tmp.path());
    let out = tmp.path().join("out");
    let bin = assert_cmd::cargo::cargo_bin("consult");
    let status = Command::new("unshare")
        .current_dir(common::repo())
        .arg("-n")
        .arg(&bin)
        .args(["analyse", "--no-cache", "--quiet", "--out"])
        .arg(&out)
        .arg(&input)
        .status()
        .expect("unshare(1) from util-linux");
    assert!(status.success());
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["questions"][0]["coded"], 3);
    assert_eq!(run["questions"][0]["blank"], 1);
}

#[test]
fn the_output_folder_is_never_someone_elses_and_never_holds_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let input = small_export(tmp.path());
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("committee-paper.docx"), b"officer's own file").unwrap();
    let run = |force: bool| {
        let mut c = consult();
        c.args(["analyse", "--quiet", "--cache"]).arg(&cache).arg("--out").arg(&out).arg(&input);
        if force {
            c.arg("--force");
        }
        c.assert()
    };
    let refused = run(false).code(1);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("committee-paper.docx") && err.contains("--force"), "{err}");
    assert!(!out.join("run.json").exists());

    run(true).success();
    assert_eq!(std::fs::read(out.join("committee-paper.docx")).unwrap(), b"officer's own file");
    assert!(out.join("run.json").is_file());

    // A folder holding only an earlier run is rewritten without --force.
    let clean = tmp.path().join("clean");
    for _ in 0..2 {
        consult().args(["analyse", "--quiet", "--cache"]).arg(&cache).arg("--out").arg(&clean).arg(&input).assert().success();
    }

    // The input inside --out is refused, even with --force.
    let inside = out.join("export.csv");
    std::fs::copy(&input, &inside).unwrap();
    let a = consult().args(["analyse", "--quiet", "--force", "--cache"]).arg(&cache).arg("--out").arg(&out).arg(&inside).assert().code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("inside the --out folder"));

    // An --out that is a file is refused.
    consult().args(["analyse", "--quiet", "--cache"]).arg(&cache).arg("--out").arg(&input).arg(&input).assert().code(1);
}

#[test]
fn a_long_answer_is_read_to_its_end_and_huge_input_is_handled() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // One 300-word sentence: what matters comes after the first 256 tokens the model reads.
    let filler = "I have lived in this town for many years and my family and friends live here too and we all \
                  know the streets and the shops and the people who run them and ".repeat(9);
    let long = format!("{filler}what we desperately need is more affordable homes for young families and first time buyers");
    assert!(long.split_whitespace().count() > 300);
    // A 1 MB answer, and a row with 10,000 fields in a two-column file.
    let huge = "the bus to the hospital is late again ".repeat(1_000_000 / 38);
    let wide = vec!["x"; 10_000].join(",");
    let input = tmp.path().join("limits.csv");
    std::fs::write(&input, format!("Respondent,Comments\n1,{long}\n2,{huge}\n3,{wide}\n4,Fix the potholes\n")).unwrap();
    let out = tmp.path().join("out");
    consult()
        .args(["analyse", "--quiet", "--text", "Comments", "--id", "Respondent", "--cache"])
        .arg(&cache)
        .arg("--out")
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let mut r = csv::Reader::from_path(out.join("coded_responses.csv")).unwrap();
    let h = r.headers().unwrap().clone();
    let ix = |n: &str| h.iter().position(|c| c == n).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4);
    let by_id = |id: &str| rows.iter().find(|x| &x[ix("id")] == id).unwrap();
    assert_eq!(&by_id("1")[ix("status")], "coded");
    assert!(by_id("1")[ix("codes")].split(';').any(|c| c == "8.5"), "homes, at the end: {:?}", by_id("1"));
    assert_eq!(&by_id("2")[ix("status")], "coded");
    assert_eq!(by_id("2")[ix("text")].len(), huge.len(), "the 1 MB answer is kept whole");
    assert_eq!(&by_id("3")[ix("status")], "rejected");
    assert!(by_id("3")[ix("reason")].contains("10001 fields"), "{:?}", &by_id("3")[ix("reason")]);
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let q = &run["questions"][0];
    assert_eq!((q["coded"].as_u64(), q["blank"].as_u64(), q["rejected"].as_u64()), (Some(3), Some(0), Some(1)));

    // 10,000 columns in the header: inspect lists them all.
    let wide_header: Vec<String> = (1..=10_000).map(|i| format!("Q{i}")).collect();
    let wide_input = tmp.path().join("wide.csv");
    std::fs::write(&wide_input, format!("{}\n{}\n", wide_header.join(","), vec!["yes"; 10_000].join(","))).unwrap();
    let a = consult().arg("inspect").arg(&wide_input).assert().success();
    let shown = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(shown.contains("10000 columns") && shown.contains("Q10000"), "{}", &shown[..200.min(shown.len())]);
}
