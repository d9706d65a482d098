//! Hand-coded statements as further codebook examples (`consult analyse --examples`), on the
//! real model and our Polis development labels: statements never seen as examples are coded
//! better with the other statements as examples than with the codebook's own examples alone.

mod common;

use common::{read_csv, write_csv as write};

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::prelude::*;

const SUB: &str = "5.1,5.2,5.3,5.4,6.1,6.2,6.3,6.4,6.5,7.1,7.2,7.3,7.4,8.1,8.2,8.3,8.4,8.5,9.1,9.2,9.3,9.4";


/// Sub-outcome micro- and macro-F1 of a run's coded answers against the gold file.
fn f1(coded: &Path, gold: &Path, out: &Path) -> (f64, f64) {
    Command::cargo_bin("consult").unwrap().args(["evaluate", "--only", SUB]).arg(coded).arg(gold).arg("--csv").arg(out).assert().success();
    let (_, rows) = read_csv(out);
    let get = |which: &str| rows.iter().find(|r| r[0] == "code" && r[1] == which).map(|r| r[4].parse::<f64>().unwrap()).unwrap();
    (get("micro"), get("macro"))
}

/// Our Polis development labels with their text: `file#comment_id`, text, codes.
fn polis_statements() -> Vec<Vec<String>> {
    let data = common::shared_data();
    let mut texts: HashMap<String, String> = HashMap::new();
    for f in ["bg2050-volunteers.csv", "london.youth.policing.csv"] {
        let (h, rows) = read_csv(&data.join("polis").join(f));
        let (id, body) = (h.iter().position(|c| c == "comment-id").unwrap(), h.iter().position(|c| c == "comment-body").unwrap());
        for r in rows {
            texts.insert(format!("{f}#{}", r[id].trim()), r[body].clone());
        }
    }
    let (h, labels) = read_csv(&common::repo().join("eval/dev/polis_labels.csv"));
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    labels
        .iter()
        .map(|r| {
            let key = format!("{}#{}", r[col("file")], r[col("comment_id")]);
            vec![key.clone(), texts[&key].clone(), r[col("codes")].clone()]
        })
        .collect()
}

#[test]
fn hand_coded_examples_raise_agreement_on_statements_never_seen() {
    let repo = common::repo();
    let (mut test, mut examples, mut gold) = (Vec::new(), Vec::new(), Vec::new());
    for row in polis_statements() {
        let key = row[0].clone();
        gold.push(vec![key.clone(), row[2].clone()]);
        if consult::train::fold_of(&key) == 0 {
            test.push(row[..2].to_vec());
        } else {
            examples.push(row);
        }
    }
    assert!(test.len() > 60 && examples.len() > 300, "{} / {}", test.len(), examples.len());
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write(&p("input.csv"), &["id", "text"], &test);
    write(&p("examples.csv"), &["id", "text", "codes"], &examples);
    write(&p("gold.csv"), &["id", "codes"], &gold);
    let run = |out: &str, extra: &[&str]| {
        Command::cargo_bin("consult")
            .unwrap()
            .current_dir(&repo)
            .arg("analyse")
            .arg(p("input.csv"))
            .args(["--id", "id", "--text", "text", "--quiet"])
            .args(extra)
            .arg("--out")
            .arg(p(out))
            .assert()
            .success();
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(p(out).join("run.json")).unwrap()).unwrap()
    };
    let with = run("with", &["--examples", p("examples.csv").to_str().unwrap()]);
    let own = run("own", &["--no-examples"]);
    // run.json says which statements joined the codebook's examples.
    assert_eq!(with["codebook"]["examples_added"]["statements"], examples.len());
    assert!(own["codebook"]["examples_added"].is_null(), "{}", own["codebook"]);
    let (wmi, wma) = f1(&p("with/coded_responses.csv"), &p("gold.csv"), &p("with.csv"));
    let (omi, oma) = f1(&p("own/coded_responses.csv"), &p("gold.csv"), &p("own.csv"));
    eprintln!("fold 0: own examples micro {omi:.3} macro {oma:.3}; with hand-coded examples micro {wmi:.3} macro {wma:.3}");
    assert!(wmi >= 0.65 && wmi >= omi + 0.05, "micro-F1 {wmi:.3} with examples, {omi:.3} without");
    assert!(wma >= oma, "macro-F1 {wma:.3} with examples, {oma:.3} without");

    // The methods note reports the statements' own leave-one-out agreement, and it is a fair
    // guide to the agreement on statements never seen (fold 0, above).
    let loo = &with["codebook"]["examples_agreement"];
    assert_eq!(loo["statements"], examples.len(), "{loo}");
    let loo_micro = loo["code"]["micro_f1"].as_f64().unwrap();
    let (lo, hi) = (loo["code"]["micro_f1_ci95"][0].as_f64().unwrap(), loo["code"]["micro_f1_ci95"][1].as_f64().unwrap());
    eprintln!("leave-one-out on the {} examples: micro {loo_micro:.3} [{lo:.3}, {hi:.3}]", examples.len());
    assert!(lo < loo_micro && loo_micro < hi, "{loo}");
    assert!((loo_micro - wmi).abs() <= 0.08, "leave-one-out micro-F1 {loo_micro:.3} against {wmi:.3} on fold 0");
    let summary = std::fs::read_to_string(p("with/summary.md")).unwrap();
    let line = format!("were each coded as an answer by the codebook and the other {}", examples.len() - 1);
    assert!(summary.contains(&line), "{summary}");
    assert!(summary.contains(&format!("micro-F1 {loo_micro:.2} (95% CI {lo:.2} to {hi:.2})")), "{summary}");
    assert!(own["codebook"]["examples_agreement"].is_null(), "{}", own["codebook"]);
    let own_summary = std::fs::read_to_string(p("own/summary.md")).unwrap();
    assert!(own_summary.contains("were not checked against a sample"), "{own_summary}");
}

/// The London Polis conversation asked "What is the best way to engage more young people in
/// local scrutiny of policing?", and its statements answer it in few words ("give them the
/// autonomy and power to influence decisions"). Put under that question as a consultation
/// export's column header, they are read with it (the question itself is about policing), and
/// agree better with our labels than the same statements under a bare "text" header. The
/// statements scored are never among the examples.
#[test]
fn a_question_about_a_code_lends_its_topic_to_short_answers() {
    const QUESTION: &str = "What is the best way to engage more young people in local scrutiny of policing?";
    let repo = common::repo();
    let (mut test, mut examples, mut gold) = (Vec::new(), Vec::new(), Vec::new());
    for row in polis_statements() {
        if row[0].starts_with("london") && consult::train::fold_of(&row[0]) < 2 {
            test.push(row[..2].to_vec());
            gold.push(vec![row[0].clone(), row[2].clone()]);
        } else {
            examples.push(row);
        }
    }
    assert!(test.len() >= 12, "{} London statements", test.len());
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    write(&p("examples.csv"), &["id", "text", "codes"], &examples);
    write(&p("gold.csv"), &["id", "codes"], &gold);
    // Two answers of our own: one in a few words, one off the question's topic.
    let mut rows = test.clone();
    rows.push(vec!["short".into(), "Pay them for their time".into()]);
    rows.push(vec!["trees".into(), "More trees in the park please".into()]);
    let run = |header: &str, out: &str| {
        write(&p(&format!("{out}.csv")), &["id", header], &rows);
        Command::cargo_bin("consult")
            .unwrap()
            .current_dir(&repo)
            .arg("analyse")
            .arg(p(&format!("{out}.csv")))
            .args(["--id", "id", "--text", header, "--quiet", "--examples", p("examples.csv").to_str().unwrap(), "--out"])
            .arg(p(out))
            .assert()
            .success();
        let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p(out).join("run.json")).unwrap()).unwrap();
        let (h, coded) = read_csv(&p(out).join("coded_responses.csv"));
        let (id, codes) = (h.iter().position(|c| c == "id").unwrap(), h.iter().position(|c| c == "codes").unwrap());
        let codes_of = |k: &str| coded.iter().find(|r| r[id] == k).unwrap()[codes].clone();
        let (short, trees) = (codes_of("short"), codes_of("trees"));
        (run["questions"][0]["answers_read_with_question"].as_bool().unwrap(), short, trees)
    };
    let (with_read, with_short, with_trees) = run(QUESTION, "question");
    let (bare_read, bare_short, _) = run("text", "bare");
    assert!(with_read && !bare_read, "the policing question lends its topic; a bare header does not");
    // The methods note tells the report's reader which question did.
    let note = |out: &str| std::fs::read_to_string(p(out).join("summary.md")).unwrap();
    assert!(note("question").contains("Q1 is itself about a sub-outcome, so its answers were also read together with the question"));
    assert!(!note("bare").contains("itself about a sub-outcome"));
    assert!(with_short.split(';').any(|c| c == "9.1"), "\"Pay them for their time\" under the policing question: {with_short}");
    assert!(!bare_short.split(';').any(|c| c == "9.1"), "\"Pay them for their time\" alone: {bare_short}");
    assert_eq!(with_trees.split(';').next(), Some("5.2"), "an answer off the question's topic keeps its own code first");
    let (qmi, qma) = f1(&p("question/coded_responses.csv"), &p("gold.csv"), &p("question_f1.csv"));
    let (bmi, bma) = f1(&p("bare/coded_responses.csv"), &p("gold.csv"), &p("bare_f1.csv"));
    eprintln!("London statements: under their question micro {qmi:.3} macro {qma:.3}; under \"text\" micro {bmi:.3} macro {bma:.3}");
    assert!(qmi >= bmi + 0.08, "micro-F1 {qmi:.3} under the question, {bmi:.3} under a bare header");
}

#[test]
fn examples_file_errors_name_the_file_line_and_column() {
    let repo = common::repo();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "id,text\n1,More buses please\n").unwrap();
    for (body, needle) in [
        ("text,codes\nMore trees,5.2\nFix the roads,8.9\n", "line 3, column codes: code \"8.9\" is not in the codebook"),
        ("text,codes\nMore trees,5\n", "line 2, column codes: \"5\" is an outcome"),
        ("text,codes\n,5.2\n", "line 2, column text: no statement"),
        ("statement,codes\nMore trees,5.2\n", "text"),
    ] {
        let ex = dir.path().join("ex.csv");
        std::fs::write(&ex, body).unwrap();
        let out = Command::cargo_bin("consult")
            .unwrap()
            .current_dir(&repo)
            .arg("analyse")
            .arg(&input)
            .args(["--id", "id", "--text", "text", "--quiet", "--examples"])
            .arg(&ex)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{body}");
        assert!(err.contains("ex.csv") && err.contains(needle), "{body}: {err}");
    }
}

#[test]
fn default_codebook_takes_its_hand_coded_examples_and_says_so() {
    let repo = common::repo();
    // `make test` builds it first (`make codebook-examples`, from ../shared/data).
    let ex = repo.join("models/codebooks/strategic-plan-2022-26.examples.csv");
    assert!(ex.is_file(), "{} is missing: run `make codebook-examples`", ex.display());
    let (_, rows) = read_csv(&ex);
    assert!(rows.len() > 600, "{} statements", rows.len());
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "id,text\n1,More buses to the villages please\n2,Plant more trees along the main road\n").unwrap();
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(&repo)
        .arg("analyse")
        .arg(&input)
        .args(["--id", "id", "--text", "text", "--quiet", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/run.json")).unwrap()).unwrap();
    let added = &run["codebook"]["examples_added"];
    assert_eq!(added["statements"], rows.len(), "{added}");
    assert_eq!(added["path"], "default (models/codebooks/strategic-plan-2022-26.examples.csv)");
    let summary = std::fs::read_to_string(dir.path().join("out/summary.md")).unwrap();
    assert!(summary.contains(&format!("with {} statements coded by hand as further examples", rows.len())), "methods note");
}

#[test]
fn codebook_check_also_checks_the_examples_beside_it() {
    let repo = common::repo();
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("plan.toml");
    std::fs::copy(repo.join("models/codebooks/strategic-plan-2022-26.toml"), &book).unwrap();
    let check = || Command::cargo_bin("consult").unwrap().arg("codebook").arg("--check").arg(&book).output().unwrap();
    std::fs::write(dir.path().join("plan.examples.csv"), "text,codes\nMore trees,5.2\nMore buses,8.2;5.4\n").unwrap();
    let out = check();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("plan.examples.csv: ok: 2 hand-coded statements"));
    std::fs::write(dir.path().join("plan.examples.csv"), "text,codes\nMore trees,5.9\n").unwrap();
    let out = check();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("plan.examples.csv: line 2, column codes: code \"5.9\""));
}

#[test]
fn a_coded_responses_file_serves_as_examples_by_its_coded_rows() {
    // An officer checks and corrects coded_responses.csv; the next run takes its coded rows
    // as examples and leaves blank answers out, or only the rows marked in a `checked` column.
    let repo = common::repo();
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(&repo)
        .arg("analyse")
        .arg(repo.join("fixtures/strategic-plan-consultation.csv"))
        .args(["--quiet", "--no-examples", "--out"])
        .arg(dir.path().join("first"))
        .assert()
        .success();
    let coded = dir.path().join("first/coded_responses.csv");
    let (h, rows) = read_csv(&coded);
    let status = h.iter().position(|c| c == "status").unwrap();
    let n_coded = rows.iter().filter(|r| r[status] == "coded").count();
    assert!(n_coded > 400 && n_coded < rows.len(), "{n_coded} of {}", rows.len());
    // The fixture coded again with `examples` as hand-coded examples; its run.json.
    let rerun = |examples: &Path, out: &str| -> serde_json::Value {
        Command::cargo_bin("consult")
            .unwrap()
            .current_dir(&repo)
            .arg("analyse")
            .arg(repo.join("fixtures/strategic-plan-consultation.csv"))
            .args(["--quiet", "--examples"])
            .arg(examples)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
            .success();
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(out).join("run.json")).unwrap()).unwrap()
    };
    let run = rerun(&coded, "second");
    let added = &run["codebook"]["examples_added"];
    assert_eq!(added["statements"], n_coded, "{added}");
    assert_eq!(added["rows_left_out"], rows.len() - n_coded, "{added}");

    // With a `checked` column, only the rows an officer marked are taken.
    let marked = dir.path().join("checked.csv");
    let mut w = csv::Writer::from_path(&marked).unwrap();
    let mut header = h.clone();
    header.push("Checked".into());
    w.write_record(&header).unwrap();
    let mut n_marked = 0;
    for (i, r) in rows.iter().enumerate() {
        let mark = if r[status] == "coded" && i % 3 == 0 { ["Yes", "x", "\u{2713}"][i % 9 / 3] } else { "" };
        n_marked += usize::from(!mark.is_empty());
        let mut r = r.clone();
        r.push(mark.into());
        w.write_record(&r).unwrap();
    }
    w.flush().unwrap();
    let run = rerun(&marked, "third");
    assert!(n_marked > 100 && n_marked < n_coded, "{n_marked}");
    assert_eq!(run["codebook"]["examples_added"]["statements"], n_marked);
}
