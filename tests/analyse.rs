//! `consult analyse` end to end on the fixture export, through the binary, on the real model.

mod common;

use common::{read_csv, write_csv};

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::prelude::*;

const FIXTURE: &str = "fixtures/strategic-plan-consultation.csv";

/// Runs the fixture into `out`, with the embedding cache in a folder beside it (so a second
/// run into a sibling folder reads every embedding from the cache).
fn analyse(out: &Path) {
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(common::repo())
        .args(["analyse", FIXTURE, "--by", "Are you responding as...", "--by", "District", "--quiet", "--out"])
        .arg(out)
        .arg("--cache")
        .arg(out.parent().unwrap().join("embedding-cache"))
        .assert()
        .success();
}

#[test]
fn fixture_run_accounts_for_every_row_and_tables_match_the_coded_file() {
    let dir = tempfile::tempdir().unwrap();
    let out1 = dir.path().join("run1");
    let out2 = dir.path().join("run2");
    analyse(&out1);

    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("fixtures/strategic-plan-consultation.expected.json")).unwrap(),
    )
    .unwrap();
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out1.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["rows_read"], expected["rows"]);
    assert_eq!(run["rows_rejected"], 0);
    // The classifier settings as models/zero-shot.toml writes them, not widened to f64.
    let settings = &run["classifier"]["settings"];
    assert_eq!((settings["margin"].as_f64(), settings["threshold"].as_f64()), (Some(0.04), Some(0.3)), "{settings}");
    assert_eq!((settings["second_threshold"].as_f64(), settings["question_context"].as_f64()), (Some(0.4), Some(0.55)), "{settings}");
    let questions = run["questions"].as_array().unwrap();
    let exp_q = expected["questions"].as_object().unwrap();
    assert_eq!(questions.len(), exp_q.len(), "the five comment questions are detected, no more");
    for q in questions {
        let e = &exp_q[q["question"].as_str().unwrap()];
        assert_eq!(q["blank_empty"], e["empty"], "{}", q["question"]);
        assert_eq!(q["blank_non_substantive"], e["non_substantive"], "{}", q["question"]);
        assert_eq!(q["coded"], e["substantive"], "{}", q["question"]);
        assert_eq!(q["rejected"], 0);
        assert_eq!(q["rows"], expected["rows"]);
    }

    // coded_responses.csv: one row per respondent and question, with the contract's columns.
    let (h, rows) = read_csv(&out1.join("coded_responses.csv"));
    for col in ["id", "question", "text", "status", "codes", "outcomes", "sentiment", "sentiment_score", "code_scores"] {
        assert!(h.contains(&col.to_string()), "missing column {col}");
    }
    let ix = |n: &str| h.iter().position(|c| c == n).unwrap();
    assert_eq!(rows.len(), 200 * questions.len());
    let mut tally: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut coded_per_q: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        let status = &r[ix("status")];
        match status.as_str() {
            "coded" => {
                *coded_per_q.entry(r[ix("question")].clone()).or_default() += 1;
                assert!(!r[ix("codes")].is_empty());
                assert!(!r[ix("sentiment")].is_empty());
                let s: f32 = r[ix("sentiment_score")].parse().unwrap();
                assert!((-1.0..=1.0).contains(&s));
                for code in r[ix("codes")].split(';') {
                    *tally.entry((r[ix("question")].clone(), code.to_string())).or_default() += 1;
                }
            }
            "blank" => assert!(r[ix("codes")].is_empty() && r[ix("sentiment")].is_empty()),
            other => panic!("unexpected status {other}"),
        }
    }
    // Every code count in the tables equals the count of rows carrying it in coded_responses.csv.
    for q in questions {
        let key = q["key"].as_str().unwrap();
        let (_, table) = read_csv(&out1.join(format!("tables/{}_codes.csv", key.to_lowercase())));
        let mut seen = 0;
        for row in &table {
            let code = &row[0];
            let count: usize = row[2].parse().unwrap();
            if let Some(n) = tally.get(&(key.to_string(), code.clone())) {
                assert_eq!(count, *n, "{key} code {code}");
                seen += 1;
            } else if !["5", "6", "7", "8", "9"].contains(&code.as_str()) {
                assert_eq!(count, 0, "{key} code {code}");
            }
            let base = coded_per_q[key];
            let pct = format!("{:.1}%", 100.0 * count as f64 / base as f64);
            assert_eq!(row[3], pct, "{key} code {code}");
        }
        assert!(seen > 0);
    }
    // Closed questions are tabulated: count and % of those who answered, in scale order.
    let (ch, c1) = read_csv(&out1.join("tables/c1.csv"));
    assert_eq!(ch, vec!["Response", "Respondents", "% of base"]);
    let want = [
        ["Strongly agree", "77", "38.9%"],
        ["Tend to agree", "51", "25.8%"],
        ["Neither agree nor disagree", "27", "13.6%"],
        ["Tend to disagree", "19", "9.6%"],
        ["Strongly disagree", "17", "8.6%"],
        ["Don't know", "7", "3.5%"],
        ["Not answered", "2", ""],
    ];
    assert_eq!(c1, want.iter().map(|r| r.map(String::from).to_vec()).collect::<Vec<_>>());
    assert_eq!(run["closed_questions"].as_array().unwrap().len(), 5);

    let summary = std::fs::read_to_string(out1.join("summary.md")).unwrap();
    assert!(summary.contains("_Base: all who answered C1 (n=198); 2 of 200 respondents did not answer._"));
    assert!(summary.contains("Base: all who answered Q1"));
    assert!(summary.contains("percentages can sum to more than 100%"));

    // The campaign's identical answers are coded identically.
    let camp = expected["campaign"]["question"].as_str().unwrap();
    let texts: Vec<&Vec<String>> = rows.iter().filter(|r| r[ix("question_text")] == camp && r[ix("status")] == "coded").collect();
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for r in texts {
        by_text.entry(r[ix("text")].as_str()).or_default().push(r[ix("codes")].as_str());
    }
    let biggest = by_text.values().max_by_key(|v| v.len()).unwrap();
    assert_eq!(biggest.len(), expected["campaign"]["size"].as_u64().unwrap() as usize);
    assert!(biggest.iter().all(|c| *c == biggest[0]));
    // ... and grouped as one campaign, reported with all answers and counted once.
    let size = expected["campaign"]["size"].as_u64().unwrap();
    let cq = questions.iter().find(|q| q["question"] == camp).unwrap();
    assert_eq!(cq["campaigns"], serde_json::json!([{"id": format!("{}-C1", cq["key"].as_str().unwrap()), "size": size}]));
    let camp_rows = rows.iter().filter(|r| !r[ix("campaign")].is_empty()).count();
    assert_eq!(camp_rows as u64, size);
    let key = cq["key"].as_str().unwrap().to_lowercase();
    let (_, once) = read_csv(&out1.join(format!("tables/{key}_codes_campaigns_once.csv")));
    let (_, all) = read_csv(&out1.join(format!("tables/{key}_codes.csv")));
    let camp_codes: Vec<&str> = biggest[0].split(';').collect();
    for (a, o) in all.iter().zip(&once) {
        let (na, no): (u64, u64) = (a[2].parse().unwrap(), o[2].parse().unwrap());
        let dropped = if camp_codes.contains(&a[0].as_str()) { size - 1 } else { 0 };
        if a[0].contains('.') || !["5", "6", "7", "8", "9"].contains(&a[0].as_str()) {
            assert_eq!(na - no, dropped, "code {}", a[0]);
        }
    }
    for q in questions {
        if q["question"] != camp {
            assert_eq!(q["campaigns"], serde_json::json!([]), "{}", q["question"]);
        }
    }

    // A second run, with every embedding now from the cache, gives byte-identical files
    // (all but timings.json).
    analyse(&out2);
    let t2: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out2.join("timings.json")).unwrap()).unwrap();
    assert_eq!(t2["texts_embedded"], 0, "{t2}");
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.extend(std::fs::read_dir(d.join("tables")).unwrap().map(|e| format!("tables/{}", e.unwrap().file_name().to_string_lossy())));
        v.retain(|n| n != "timings.json" && n != "tables");
        v.sort();
        v
    };
    assert_eq!(names(&out1), names(&out2));
    for f in names(&out1) {
        assert!(std::fs::read(out1.join(&f)).unwrap() == std::fs::read(out2.join(&f)).unwrap(), "{f} differs");
    }
}

#[test]
fn ragged_rows_are_rejected_with_their_line_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ragged.csv");
    std::fs::write(
        &input,
        "id,Any comments?\n1,The potholes on Main Street need fixing urgently\n2,too,many,fields\n3,\n4,N/A\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "Any comments?", "--quiet", "--out"])
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["rows_read"], 4);
    let q = &run["questions"][0];
    assert_eq!((q["coded"].as_u64(), q["blank"].as_u64(), q["rejected"].as_u64()), (Some(1), Some(2), Some(1)));
    assert_eq!(run["rejected"][0]["line"], 3);
    let (h, rows) = read_csv(&out.join("coded_responses.csv"));
    let st = h.iter().position(|c| c == "status").unwrap();
    let statuses: Vec<&str> = rows.iter().map(|r| r[st].as_str()).collect();
    assert_eq!(statuses, vec!["coded", "rejected", "blank", "blank"]);
    let codes = h.iter().position(|c| c == "codes").unwrap();
    assert!(rows[0][codes].split(';').any(|c| c == "8.2"), "{:?}", rows[0]);
}

/// A long export (one answer a row, its question in a column) is read as a survey export:
/// each question found is an open question, each row answers its own question only (the
/// others' cells are no answers, not blanks), a row with no question is rejected with its line
/// and column, and the coded answers' codes come as they do from the wide layout.
#[test]
fn a_long_export_reads_each_rows_answer_under_its_own_question() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.csv");
    std::fs::write(
        &long,
        "id,question,answer\n1,What should the council do next?,The potholes on Main Street need fixing urgently\n\
         2,Any other comments?,More trees in the park please\n3,What should the council do next?,\n\
         4,,Fix the buses\n",
    )
    .unwrap();
    let wide = dir.path().join("wide.csv");
    std::fs::write(
        &wide,
        "id,What should the council do next?,Any other comments?\n1,The potholes on Main Street need fixing urgently,\n\
         2,,More trees in the park please\n",
    )
    .unwrap();
    let run = |input: &Path, out: &str, extra: &[&str]| {
        Command::cargo_bin("consult")
            .unwrap()
            .args(["analyse", "--id", "id", "--quiet", "--out"])
            .arg(dir.path().join(out))
            .args(extra)
            .arg(input)
            .assert()
            .success();
        let run: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(out).join("run.json")).unwrap()).unwrap();
        (run, read_csv(&dir.path().join(out).join("coded_responses.csv")))
    };
    let (r, (h, rows)) = run(&long, "long", &["--text", "answer", "--question-column", "question"]);
    assert_eq!(r["rows_read"], 4);
    assert_eq!(r["rejected"][0]["line"], 5);
    assert_eq!(r["input_question_column"], "question");
    assert_eq!(r["rejected"][0]["reason"], "no question in column 2 (question) for its answer");
    let counts = |q: &serde_json::Value| (q["question"].as_str().unwrap().to_string(), q["coded"].as_u64(), q["blank"].as_u64());
    assert_eq!(counts(&r["questions"][0]), ("What should the council do next?".to_string(), Some(1), Some(1)));
    assert_eq!(counts(&r["questions"][1]), ("Any other comments?".to_string(), Some(1), Some(0)));
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let cells: Vec<(&str, &str, &str)> =
        rows.iter().map(|r| (r[col("id")].as_str(), r[col("question")].as_str(), r[col("status")].as_str())).collect();
    assert_eq!(cells, vec![("1", "Q1", "coded"), ("2", "Q2", "coded"), ("3", "Q1", "blank"), ("4", "Q1", "rejected"), ("4", "Q2", "rejected")]);
    // The same answers laid out wide get the same codes.
    let (_, (hw, wrows)) = run(&wide, "wide", &["--text", "What should", "--text", "Any other"]);
    let codes = |h: &[String], rows: &[Vec<String>]| -> Vec<String> {
        let (s, c) = (h.iter().position(|x| x == "status").unwrap(), h.iter().position(|x| x == "codes").unwrap());
        rows.iter().filter(|r| r[s] == "coded").map(|r| r[c].clone()).collect()
    };
    assert_eq!(codes(&h, &rows), codes(&hw, &wrows));
    assert!(codes(&h, &rows)[0].split(';').any(|c| c == "8.2"), "{rows:?}");
    // The answers' column must be named, and only it.
    let o = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--question-column", "question", "--quiet", "--out"])
        .arg(dir.path().join("none"))
        .arg(&long)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--question-column question needs the one column that holds the answers, as --text COLUMN"));
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let missing = Command::cargo_bin("consult").unwrap().args(["analyse", "nope.csv", "--out"]).arg(&out).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.csv: cannot read the file"));

    let input = dir.path().join("q.csv");
    std::fs::write(&input, "id,Comments on the plan\n1,More buses please for the villages\n").unwrap();
    let unknown = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "Remarks", "--out"])
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("q.csv: row 1: \"Remarks\" is not a column"), "{err}");

    let usage = Command::cargo_bin("consult").unwrap().args(["analyse"]).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));

    let no_model = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "2", "--model", "/nonexistent", "--out"])
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(no_model.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&no_model.stderr).contains("make setup"));
}

#[test]
fn codebook_command_prints_and_checks() {
    let printed = Command::cargo_bin("consult").unwrap().arg("codebook").output().unwrap();
    assert!(printed.status.success());
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, &printed.stdout).unwrap();
    Command::cargo_bin("consult").unwrap().args(["codebook", "--check"]).arg(&good).assert().success();

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nfallback = \"other\"\n[[codes]]\nid = \"1\"\nlabel = \"A\"\ndescription = \"\"\n[[codes]]\nid = \"1\"\nlabel = \"B\"\ndescription = \"d\"\nparent = \"9\"\n[[codes]]\nid = \"other\"\nlabel = \"Other\"\ndescription = \"d\"\n",
    )
    .unwrap();
    let o = Command::cargo_bin("consult").unwrap().args(["codebook", "--check"]).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("code 1: empty description"), "{err}");
    assert!(err.contains("code 1: duplicate id"), "{err}");
    assert!(err.contains("code 1: unknown parent \"9\""), "{err}");
}

#[test]
fn xlsx_export_is_read_from_the_named_sheet() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.xlsx");
    let mut wb = Workbook::new();
    let cover = wb.add_worksheet();
    cover.set_name("About").unwrap();
    cover.write_string(0, 0, "Exported from the consultation hub").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Responses").unwrap();
    let rows = [
        ["Response ID", "Respondent type", "Any other comments?"],
        ["R1", "A resident", "The potholes on the A6 are dangerous and need fixing"],
        ["R2", "A resident", "N/A"],
        ["R3", "An organisation", ""],
        ["R4", "A resident", "More school places are needed in Lutterworth"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    ws.write_number(5, 0, 5.0).unwrap(); // a numeric id, as Excel stores them
    ws.write_string(5, 2, "Protect the country park and its wildlife").unwrap();
    wb.save(&path).unwrap();

    let out = dir.path().join("out");
    Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--sheet", "Responses", "--text", "Any other", "--quiet", "--out"])
        .arg(&out)
        .arg(&path)
        .assert()
        .success();
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["input_format"], "xlsx sheet \"Responses\"");
    assert_eq!(run["rows_read"], 5);
    let q = &run["questions"][0];
    assert_eq!((q["coded"].as_u64(), q["blank"].as_u64(), q["rejected"].as_u64()), (Some(3), Some(2), Some(0)));
    let (h, rows) = read_csv(&out.join("coded_responses.csv"));
    let (id, codes) = (h.iter().position(|c| c == "id").unwrap(), h.iter().position(|c| c == "codes").unwrap());
    let ids: Vec<&str> = rows.iter().map(|r| r[id].as_str()).collect();
    assert_eq!(ids, vec!["R1", "R2", "R3", "R4", "5"]);
    assert!(rows[0][codes].split(';').any(|c| c == "8.2"), "{:?}", rows[0]);
    assert!(rows[3][codes].split(';').any(|c| c == "7.2"), "{:?}", rows[3]);

    let missing = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--sheet", "Nope", "--out"])
        .arg(&out)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no sheet \"Nope\"; sheets: About, Responses"));
}

#[test]
fn inspect_names_every_column_role_and_tabulates_closed_questions() {
    let o = Command::cargo_bin("consult").unwrap().current_dir(common::repo()).args(["inspect", FIXTURE]).output().unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("200 rows read (200 usable, 0 rejected), 13 columns"), "{text}");
    let roles: Vec<&str> = text
        .lines()
        .filter(|l| l.len() > 5 && l[..3].trim().parse::<usize>().is_ok())
        .map(|l| l[5..27].trim())
        .collect();
    let mut want = vec!["id", "respondent attribute", "respondent attribute"];
    for _ in 0..5 {
        want.extend(["closed question", "open text"]);
    }
    assert_eq!(roles, want);
    assert!(text.contains("  168  A resident (84.0% of 200)"), "{text}");
    assert!(text.contains("   11  (not answered)"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("pii.csv");
    std::fs::write(&p, "ID,Your name,Email,Comments\n1,Jo Bloggs,jo@example.com,More frequent buses to the villages please\n2,Sam Smith,sam@example.org,The library opening hours should be longer\n3,Al Khan,al@example.net,Please fix the pavements in the town centre\n").unwrap();
    let o = Command::cargo_bin("consult").unwrap().args(["inspect"]).arg(&p).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("  2  personal data"), "{text}");
    assert!(text.contains("  3  personal data"), "{text}");
    assert!(text.contains("  4  open text"), "{text}");
}

#[test]
fn cross_tabs_by_district_match_the_coded_file_and_hide_small_counts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    analyse(&out);
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["suppression_threshold"], 10);
    assert!(out.join("tables/q1_by_are_you_responding_as.csv").is_file());
    let path = out.join("tables/q1_by_district.csv");
    assert!(path.is_file(), "{} missing", path.display());
    let (header, table) = read_csv(&path);

    // Respondents per (District, code) and per District among Q1's substantive answers.
    let (h, rows) = read_csv(&out.join("coded_responses.csv"));
    let ix = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mut tally: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut base: BTreeMap<String, usize> = BTreeMap::new();
    for r in rows.iter().filter(|r| r[ix("question")] == "Q1" && r[ix("status")] == "coded") {
        let d = match r[ix("District")].trim() {
            "" => "Not answered".to_string(),
            d => d.to_string(),
        };
        *base.entry(d.clone()).or_default() += 1;
        let mut ids: Vec<&str> = r[ix("codes")].split(';').collect();
        for o in r[ix("outcomes")].split(';') {
            if !ids.contains(&o) {
                ids.push(o);
            }
        }
        for id in ids {
            *tally.entry((d.clone(), id.to_string())).or_default() += 1;
        }
    }
    let columns = &header[2..header.len() - 1];
    assert_eq!(header.last().unwrap(), "Total");
    let mut want: Vec<&String> = base.keys().collect();
    want.sort_by_key(|d| (std::cmp::Reverse(base[*d]), d.to_string()));
    assert_eq!(columns.iter().collect::<Vec<_>>(), want, "columns by descending base");
    let total_base: usize = base.values().sum();
    assert_eq!(table[0][1], "Base (answered Q1)");
    for (j, d) in columns.iter().enumerate() {
        assert_eq!(table[0][2 + j], base[d].to_string(), "base of {d}");
    }
    assert_eq!(table[0].last().unwrap(), &total_base.to_string());

    // "n (p%)" or "0": the count, checked against the coded file with its column percentage.
    let check = |cell: &str, n: usize, b: usize, what: &str| {
        let want = if n == 0 { "0".to_string() } else { format!("{} ({:.1}%)", n, 100.0 * n as f64 / b as f64) };
        assert_eq!(cell, want, "{what}");
    };
    let mut suppressed = 0;
    for row in &table[1..] {
        let code = &row[0];
        let mut total = 0;
        // Hidden sum, and the least and most it could be from the [c]s' bounds (1 to 9 in a
        // column with a base of 10 or more, where zeros are shown; 0 to the base elsewhere).
        let (mut hidden_sum, mut least, mut most) = (0, 0, 0);
        for (j, d) in columns.iter().enumerate() {
            let n = tally.get(&(d.clone(), code.clone())).copied().unwrap_or(0);
            total += n;
            if row[2 + j] == "[c]" {
                suppressed += 1;
                hidden_sum += n;
                least += usize::from(base[d] >= 10);
                most += if base[d] >= 10 { base[d].min(9) } else { base[d] };
            } else {
                check(&row[2 + j], n, base[d], &format!("code {code}, {d}"));
                assert!(n == 0 || n >= 10, "code {code}, {d}: {n} shown");
            }
        }
        let shown_total = row.last().unwrap() != "[c]";
        if shown_total {
            check(row.last().unwrap(), total, total_base, &format!("code {code}, Total"));
        }
        let hidden = row[2..row.len() - 1].iter().filter(|c| *c == "[c]").count();
        assert!(!(hidden == 1 && shown_total), "code {code}: one [c] could be worked out from the Total: {row:?}");
        if hidden > 0 && shown_total {
            assert!(hidden_sum != least && hidden_sum != most, "code {code}: the Total pins the [c]s: {row:?}");
        }
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("**Q1 by District: outcomes and sub-outcomes, column %**"));
    if suppressed > 0 {
        assert!(summary.contains("[c] = suppressed to protect confidentiality: fewer than 10 respondents"));
    }
}

/// Aspect sentiment: each code carries the tone of the sentence it was found in.
#[test]
fn each_code_gets_the_sentiment_of_its_own_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("aspect.csv");
    std::fs::write(
        &input,
        "id,Any comments on the plan?\n1,\"The library service is brilliant and the staff are so helpful. But the potholes on our roads are a disgrace and nobody fixes them.\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "2", "--quiet", "--out"])
        .arg(&out)
        .arg(&input)
        .assert()
        .success();
    let (h, rows) = read_csv(&out.join("coded_responses.csv"));
    let cs = h.iter().position(|c| c == "code_sentiments").unwrap();
    let tones: BTreeMap<&str, &str> = rows[0][cs].split(';').filter_map(|p| p.split_once('=')).collect();
    assert_eq!(tones.get("6.4"), Some(&"positive"), "{:?}", rows[0]);
    assert_eq!(tones.get("8.2"), Some(&"negative"), "{:?}", rows[0]);
    let sentiment_table = std::fs::read_to_string(out.join("tables/q1_sentiment.csv")).unwrap();
    assert!(sentiment_table.contains("6.4,Cultural and historical heritage are enjoyed and conserved,1,1 (100.0%),0 (0.0%),0 (0.0%),0 (0.0%)"), "{sentiment_table}");
    assert!(sentiment_table.contains("8.2,Infrastructure for sustainable growth,1,0 (0.0%),0 (0.0%),1 (100.0%),0 (0.0%)"), "{sentiment_table}");
}

/// A small codebook (parks, buses and the fallback) with these examples, in `dir`.
fn services_codebook(dir: &Path, parks: &[&str], buses: &[&str]) -> std::path::PathBuf {
    let list = |v: &[&str]| v.iter().map(|e| format!("  {e:?},\n")).collect::<String>();
    let cb = dir.join("services.toml");
    std::fs::write(
        &cb,
        format!(
            "name = \"Local services\"\nversion = \"t1\"\nfallback = \"other\"\n\
             [[codes]]\nid = \"parks\"\nlabel = \"Parks and green spaces\"\n\
             description = \"Parks, play areas, green spaces and their upkeep.\"\nexamples = [\n{}]\n\
             [[codes]]\nid = \"buses\"\nlabel = \"Buses and public transport\"\n\
             description = \"Bus routes, timetables, fares and reliability of public transport.\"\nexamples = [\n{}]\n\
             [[codes]]\nid = \"other\"\nlabel = \"Other\"\ndescription = \"Anything not about local services.\"\n",
            list(parks),
            list(buses)
        ),
    )
    .unwrap();
    cb
}

/// The cells after the code of `code`'s row in a table `lines` prints ("parks    5    4 ...").
fn row_cells(lines: &[&str], code: &str) -> Vec<String> {
    let l = lines.iter().find(|l| l.starts_with(&format!("{code:<12} "))).unwrap_or_else(|| panic!("no row {code}:\n{}", lines.join("\n")));
    l.split_whitespace().skip(1).map(String::from).collect()
}

/// The self-test finds an example filed under the wrong code and two examples that say the
/// same thing, on the real model, and leaves well-filed examples alone.
#[test]
fn codebook_self_test_finds_a_misfiled_example_and_a_repeated_one() {
    let dir = tempfile::tempdir().unwrap();
    let parks = [
        "The play area in the park needs new swings.",
        "Keep the park gates open later in summer.",
        "More bins in the park please, there is litter everywhere.",
        "More bins in the park please, litter is everywhere.",
        "The number 12 bus never turns up on time and the last one is at six.",
    ];
    let buses =
        ["Bring back the evening bus to our village.", "Bus fares are too expensive for families.", "Real-time bus information at every stop would help."];
    let cb = services_codebook(dir.path(), &parks, &buses);
    let o = Command::cargo_bin("consult").unwrap().args(["codebook", "--self-test", "--check"]).arg(&cb).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let lines: Vec<&str> = out.lines().collect();
    // Every bus example, and the four real park examples, come out as their own code.
    assert_eq!(row_cells(&lines, "buses"), ["3", "3", "100%", "3", "100%"], "{out}");
    assert_eq!(row_cells(&lines, "parks"), ["5", "4", "80%", "4", "80%", "buses", "(1)"], "{out}");
    // The misfiled one is listed, read as buses.
    let astray: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("parks ") && l.contains("->")).collect();
    assert_eq!(astray.len(), 1, "{out}");
    assert!(astray[0].contains("-> buses") && astray[0].contains("number 12 bus"), "{out}");
    // The two bin examples are a close pair; nothing else is.
    let pairs: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("Pairs of one code")).skip(1).collect();
    assert_eq!(pairs.len(), 1, "{out}");
    assert!(pairs[0].contains("More bins in the park please, there is litter") && pairs[0].contains("litter is everywhere"), "{out}");
}

/// The default codebook's own examples read as their own codes: 471 of 512 first (92.0%) for
/// `2022-26-draft.2`, with nine close pairs. A revision that files examples carelessly falls
/// under 90%.
#[test]
fn default_codebook_examples_read_as_their_own_codes() {
    let o = Command::cargo_bin("consult").unwrap().args(["codebook", "--self-test"]).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let all: Vec<String> = out.lines().find(|l| l.starts_with("all ")).expect("a total row").split_whitespace().map(String::from).collect();
    assert_eq!(all[1], "512", "{out}");
    let first: usize = all[2].parse().unwrap();
    assert!(first * 10 >= 512 * 9, "{first} of 512 examples read as their own code first:\n{out}");
}

/// `consult codebook --self-test --check CODEBOOK --examples CODED --out OUT`.
fn self_test_with_examples(codebook: &Path, coded: &Path, out: &Path) -> std::process::Output {
    Command::cargo_bin("consult")
        .unwrap()
        .args(["codebook", "--self-test", "--check"])
        .arg(codebook)
        .arg("--examples")
        .arg(coded)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// With hand-coded statements, the self-test codes each by the codebook and the other
/// statements, and scores them as `consult evaluate` would: on the real model, a statement
/// coded by hand under the wrong code shows as that code's false negative and the right
/// code's false positive, and `--out` lists every statement with both codings.
#[test]
fn codebook_self_test_codes_each_hand_coded_statement_without_itself() {
    let dir = tempfile::tempdir().unwrap();
    let cb = services_codebook(dir.path(), &[], &[]);
    let coded = dir.path().join("coded.csv");
    std::fs::write(
        &coded,
        "text,codes\n\
         The play area in the park needs new swings.,parks\n\
         Keep the park gates open later in summer.,parks\n\
         \"More bins in the park please, there is litter everywhere.\",parks\n\
         Bring back the evening bus to our village.,buses\n\
         Bus fares are too expensive for families.,buses\n\
         Real-time bus information at every stop would help.,buses\n\
         The grass in the park is never cut and the benches are broken.,buses\n",
    )
    .unwrap();
    let o = self_test_with_examples(&cb, &coded, &dir.path().join("self-test.csv"));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let part: Vec<&str> = out.lines().skip_while(|l| !l.starts_with("Hand-coded statements")).collect();
    assert!(part[0].contains("7): each coded as an answer by the codebook and the other 6 statements"), "{out}");
    // buses: 3 of its 4 hand-coded statements found, nothing else called buses.
    let buses = row_cells(&part, "buses");
    assert_eq!(buses, ["1.000", "0.750", "0.857", buses[3].as_str(), "4"], "{out}");
    // parks: all 3 found; the misfiled one is among its false positives.
    let parks = row_cells(&part, "parks");
    assert_eq!((parks[1].as_str(), parks[4].as_str()), ("1.000", "3"), "{out}");
    assert!(parks[0].parse::<f64>().unwrap() <= 0.75, "{out}");
    // The codebook has no outcomes (no code has sub-codes), so there is no outcome level.
    assert!(part.iter().any(|l| l.starts_with("code: micro-F1 ")) && !part.iter().any(|l| l.starts_with("outcome")), "{out}");
    let (h, rows) = common::read_csv(&dir.path().join("self-test.csv"));
    assert_eq!(h, ["source", "code", "text", "codes_given", "agrees"]);
    assert_eq!(rows.len(), 7, "the codebook has no examples of its own; 7 hand-coded statements");
    let misfiled = rows.iter().find(|r| r[2].starts_with("The grass in the park")).unwrap();
    assert_eq!((misfiled[0].as_str(), misfiled[1].as_str(), misfiled[4].as_str()), ("hand-coded", "buses", "no"));
    assert!(misfiled[3].starts_with("parks="), "{misfiled:?}");
}

/// Copies of one answer coded alike by hand (a campaign's) do not vouch for each other: each
/// copy is coded by the codebook without every copy, so five copies of a park complaint filed
/// under buses are each coded parks, as a single copy is, and count as five disagreements.
#[test]
fn codebook_self_test_leaves_out_every_copy_of_a_statement() {
    let dir = tempfile::tempdir().unwrap();
    let cb = services_codebook(dir.path(), &[], &[]);
    let coded = dir.path().join("coded.csv");
    let mut sample = "text,codes\n\
                      The play area in the park needs new swings.,parks\n\
                      Keep the park gates open later in summer.,parks\n\
                      \"More bins in the park please, there is litter everywhere.\",parks\n\
                      Bring back the evening bus to our village.,buses\n\
                      Bus fares are too expensive for families.,buses\n\
                      Real-time bus information at every stop would help.,buses\n"
        .to_string();
    for _ in 0..5 {
        sample.push_str("The grass in the park is never cut and the benches are broken.,buses\n");
    }
    std::fs::write(&coded, sample).unwrap();
    let out = dir.path().join("self-test.csv");
    let o = self_test_with_examples(&cb, &coded, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, rows) = common::read_csv(&out);
    let copies: Vec<&Vec<String>> = rows.iter().filter(|r| r[2].starts_with("The grass in the park")).collect();
    assert_eq!(copies.len(), 5);
    for r in &copies {
        assert!(r[3].starts_with("parks=") && !r[3].contains("buses"), "{r:?}");
        assert_eq!(r[4], "no", "{r:?}");
    }
    // The park statements filed right still agree.
    assert!(rows.iter().filter(|r| r[1] == "parks").all(|r| r[4] == "yes"), "{rows:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let part: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("Hand-coded statements")).collect();
    // buses: 8 statements by hand, and none of the five copies among those found.
    let buses = row_cells(&part, "buses");
    assert_eq!(buses[4], "8", "{stdout}");
    assert!(buses[1].parse::<f64>().unwrap() <= 3.0 / 8.0, "{stdout}");
}

/// Runs `consult` from the repository root.
fn consult_in_repo(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("consult").unwrap().current_dir(common::repo()).args(args).output().unwrap()
}

/// The officer's loop on the real model: `consult sample` draws answers, an officer codes them
/// (here: as the tool did, but for one answer), and `analyse --check` reports the agreement in
/// the methods note and run.json, the same figures `consult evaluate` gives, with agreement.csv
/// beside them. Answers that are also hand-coded examples are left out; a sample row with no
/// code, a code not in the codebook or no question column stops the run before it starts.
#[test]
fn analyse_check_reports_agreement_with_a_hand_coded_sample_of_its_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = |n: &str| dir.path().join(n);
    let s = |p: std::path::PathBuf| p.display().to_string();
    let cache = s(d("cache"));
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["analyse", FIXTURE, "--quiet", "--cache", &cache, "--out"];
        let out = s(d(out));
        args.push(&out);
        args.extend_from_slice(extra);
        consult_in_repo(&args)
    };
    assert!(run("run1", &[]).status.success());
    let o = consult_in_repo(&["sample", &s(d("run1/coded_responses.csv")), "--out", &s(d("sample.csv")), "--n", "30"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ch, coded) = read_csv(&d("run1/coded_responses.csv"));
    let (_, sample) = read_csv(&d("sample.csv"));
    assert_eq!(sample.len(), 30);
    let col = |name: &str| ch.iter().position(|h| h == name).unwrap();
    let of = |id: &str, q: &str, c: usize| coded.iter().find(|r| r[0] == id && r[2] == q).unwrap()[c].clone();
    let (codes_col, tone_col) = (col("codes"), col("sentiment"));
    // Coded by hand as the tool coded them, but for the first answer the tool did not call
    // "other"; the tone as the tool read it, but for the last answer.
    let changed = sample.iter().position(|r| of(&r[0], &r[1], codes_col) != "other").unwrap();
    let filled: Vec<Vec<String>> = sample
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let codes = if k == changed { "other".to_string() } else { of(&r[0], &r[1], codes_col) };
            let tone = match (k, of(&r[0], &r[1], tone_col)) {
                (29, t) if t == "neutral" => "positive".to_string(),
                (29, _) => "neutral".to_string(),
                (_, t) => t,
            };
            vec![r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone(), codes, tone]
        })
        .collect();
    let header = ["id", "question", "question_text", "text", "codes", "tone"];
    write_csv(&d("filled.csv"), &header, &filled);

    let o = run("run2", &["--check", &s(d("filled.csv"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d("run2/run.json")).unwrap()).unwrap();
    let c = &json["check_agreement"];
    assert_eq!((c["compared"].as_u64(), c["unmatched"].as_u64(), c["left_out_as_examples"].as_u64()), (Some(30), Some(0), Some(0)));
    assert_eq!(c["code"]["exact_match"].as_f64(), Some(0.9667), "{c}");
    assert_eq!((c["tone"]["answers"].as_u64(), c["tone"]["accuracy"].as_f64()), (Some(30), Some(0.9667)), "{c}");
    // The same figure `consult evaluate` prints for the run and the sample.
    let o = consult_in_repo(&["evaluate", &s(d("run2/coded_responses.csv")), &s(d("filled.csv"))]);
    let printed = String::from_utf8_lossy(&o.stdout);
    let micro = printed.lines().find_map(|l| l.strip_prefix("code: micro-F1 ")).unwrap()[..5].to_string();
    assert_eq!(format!("{:.3}", c["code"]["micro_f1"].as_f64().unwrap()), micro, "{printed}");
    let summary = std::fs::read_to_string(d("run2/summary.md")).unwrap();
    assert!(summary.contains(&format!("On this consultation: 30 of its answers, coded by hand ({})", s(d("filled.csv")))), "{summary}");
    assert!(summary.contains("Tone: of the 30 sampled answers given a tone by hand, this run read 97% as people did"), "{summary}");
    let (h, rows) = read_csv(&d("run2/agreement.csv"));
    assert_eq!(h[..3], ["level", "code", "precision"]);
    assert!(rows.iter().any(|r| r[0] == "code" && r[1] == "micro") && rows.iter().any(|r| r[0] == "outcome" && r[1] == "macro"));
    // The report's table: one row per code people gave, with how many sampled answers they gave it.
    assert!(summary.contains("**Agreement with people: this run's codes against 30 of its answers coded by hand, by code**"));
    let (h, rows) = read_csv(&d("run2/tables/agreement_by_code.csv"));
    assert_eq!(h, ["Code", "Sub-outcome or code", "Coded so by hand", "Precision", "Recall", "F1"]);
    let by_hand: usize = filled.iter().map(|r| r[4].split(';').count()).sum();
    assert_eq!(rows.iter().map(|r| r[2].parse::<usize>().unwrap()).sum::<usize>(), by_hand, "{rows:?}");
    let other = rows.iter().find(|r| r[0] == "other").unwrap();
    assert_eq!(other[1], "Other / not about the plan");

    // A later run without --check leaves none of this one's agreement files.
    assert!(run("run2", &[]).status.success());
    assert!(!d("run2/agreement.csv").exists() && !d("run2/tables/agreement_by_code.csv").exists());

    // An answer of the sample that is also a hand-coded example is left out (with its copies).
    let text = &filled[0][3];
    let copies = filled.iter().filter(|r| &r[3] == text).count() as u64;
    write_csv(&d("examples.csv"), &["text", "codes"], &[vec![text.clone(), "5.2".into()]]);
    let o = run("run3", &["--check", &s(d("filled.csv")), "--examples", &s(d("examples.csv"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d("run3/run.json")).unwrap()).unwrap();
    assert_eq!(json["check_agreement"]["left_out_as_examples"].as_u64(), Some(copies));
    assert_eq!(json["check_agreement"]["compared"].as_u64(), Some(30 - copies));

    // A sample drawn per code (`consult sample --per-code`) is weighted back to the whole run,
    // as `consult evaluate` weights it, and the note and the table say so.
    let o = consult_in_repo(&["sample", &s(d("run1/coded_responses.csv")), "--out", &s(d("per_code.csv")), "--n", "30", "--per-code", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (ph, per_code) = read_csv(&d("per_code.csv"));
    assert_eq!(ph[6..], ["stratum", "weight"]);
    let weighted: Vec<Vec<String>> = per_code
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let codes = if k == 0 { "other".to_string() } else { of(&r[0], &r[1], codes_col) };
            vec![r[0].clone(), r[1].clone(), codes, r[6].clone(), r[7].clone()]
        })
        .collect();
    write_csv(&d("per_code_filled.csv"), &["id", "question", "codes", "stratum", "weight"], &weighted);
    let o = run("run5", &["--check", &s(d("per_code_filled.csv"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d("run5/run.json")).unwrap()).unwrap();
    let c = &json["check_agreement"];
    assert_eq!((c["weighted"].as_bool(), c["compared"].as_u64()), (Some(true), Some(per_code.len() as u64)), "{c}");
    let o = consult_in_repo(&["evaluate", &s(d("run5/coded_responses.csv")), &s(d("per_code_filled.csv"))]);
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(printed.contains("Weighted by the gold file's weight column"), "{printed}");
    let micro = printed.lines().find_map(|l| l.strip_prefix("code: micro-F1 ")).unwrap()[..5].to_string();
    assert_eq!(format!("{:.3}", c["code"]["micro_f1"].as_f64().unwrap()), micro, "{printed}");
    let summary = std::fs::read_to_string(d("run5/summary.md")).unwrap();
    assert!(summary.contains("were compared with the codes this run gave them, each weighted by how many of the run's answers it stands for"), "{summary}");
    assert!(summary.contains("The sample was drawn per code, so each sampled answer is weighted"), "{summary}");
    let mut bad = weighted.clone();
    bad[3][4] = "0".into();
    write_csv(&d("badweight.csv"), &["id", "question", "codes", "stratum", "weight"], &bad);
    let o = run("run6", &["--check", &s(d("badweight.csv"))]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("badweight.csv: line 5, column weight: \"0\" is not a weight"));

    // Faults in the sample stop the run before it starts, naming file, line and column.
    let mut bad = filled.clone();
    bad[0][4] = String::new();
    write_csv(&d("uncoded.csv"), &header, &bad);
    bad[0][4] = "5.9".into();
    write_csv(&d("unknown.csv"), &header, &bad);
    bad[0][4] = "5.2".into();
    bad[0][5] = "angry".into();
    write_csv(&d("badtone.csv"), &header, &bad);
    let no_question: Vec<Vec<String>> = filled.iter().map(|r| vec![r[0].clone(), r[4].clone()]).collect();
    write_csv(&d("noquestion.csv"), &["id", "codes"], &no_question);
    for (file, says) in [
        ("uncoded.csv", "uncoded.csv: line 2, column codes: no code; code every answer of the sample (\"other\" where none fits)"),
        ("unknown.csv", "unknown.csv: line 2, column codes: code \"5.9\" is not in the codebook"),
        ("badtone.csv", "badtone.csv: line 2, column tone: \"angry\" is not a tone; use positive, neutral, negative, mixed"),
        ("noquestion.csv", "noquestion.csv: no question column; with 5 open questions each row must say which"),
    ] {
        let o = run("run4", &["--check", &s(d(file))]);
        assert_eq!(o.status.code(), Some(1), "{file}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{file}: {err}");
        assert!(!d("run4").exists(), "{file}: nothing written");
    }
}
