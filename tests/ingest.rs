//! Reading exports: each platform's header shape, encodings and quirks, exact row counts,
//! errors, near-duplicate campaigns (real model), and row accounting on arbitrary bytes.

mod common;

use common::read_csv;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::prelude::*;
use consult::input::{Platform, Table};
use proptest::prelude::*;
use serde_json::Value;

fn platforms() -> PathBuf {
    common::repo().join("fixtures/platforms")
}

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(platforms().join("expected.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().as_object().unwrap().clone()
}

fn consult(args: &[&str]) -> Output {
    Command::cargo_bin("consult").unwrap().current_dir(common::repo()).args(args).output().unwrap()
}

fn run_json(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

/// `consult inspect` names each platform, counts header rows apart from data rows, and the
/// columns are named as the platform's layout means them.
#[test]
fn inspect_names_each_platform_with_its_headers_and_exact_row_counts() {
    for (file, e) in expected() {
        let path = format!("fixtures/platforms/{file}");
        let o = consult(&["inspect", &path]);
        assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8(o.stdout).unwrap();
        let rejected = e["rejected"].as_array().unwrap().len();
        let rows = e["rows_read"].as_u64().unwrap() as usize;
        let n = e["header_rows"].as_u64().unwrap();
        let first = format!(
            "{path}: csv utf-8; {} layout, {n} header row{}; {rows} rows read ({} usable, {rejected} rejected), {} columns",
            e["platform"].as_str().unwrap(),
            if n == 1 { "" } else { "s" },
            rows - rejected,
            e["columns"]
        );
        assert_eq!(text.lines().next().unwrap(), first, "{file}");
        // Column lines: "  N  role  k answered  header".
        let columns: Vec<(usize, &str, &str)> = text
            .lines()
            .filter(|l| l.len() > 5 && l[..3].trim().parse::<usize>().is_ok())
            .map(|l| {
                let (_, header) = l.split_once(" answered  ").unwrap();
                (l[..3].trim().parse().unwrap(), l[5..27].trim(), header)
            })
            .collect();
        assert_eq!(columns.len() as u64, e["columns"].as_u64().unwrap(), "{file}");
        for (pos, want) in e["headers"].as_object().unwrap() {
            let pos: usize = pos.parse().unwrap();
            assert_eq!(columns[pos - 1].2, want.as_str().unwrap(), "{file} column {pos}");
        }
        let open: Vec<&str> = columns.iter().filter(|c| c.1 == "open text").map(|c| c.2).collect();
        let want: Vec<&str> = e["open_text"].as_object().unwrap().keys().map(String::as_str).collect();
        let mut open_sorted = open.clone();
        open_sorted.sort();
        assert_eq!(open_sorted, want, "{file}: open questions");
        let repaired = e["repaired_cells"].as_u64().unwrap();
        assert_eq!(text.contains(&format!("mojibake repaired in {repaired} cells")), repaired > 0, "{file}");

        // The library agrees, and data rows keep their physical line numbers.
        let t = Table::read(&platforms().join(&file)).unwrap();
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        let want_lines: Vec<u64> = e["first_data_lines"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(lines, want_lines, "{file}");
        let rej: Vec<u64> = t.rejected.iter().map(|r| r.line).collect();
        let want_rej: Vec<u64> = e["rejected"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
        assert_eq!(rej, want_rej, "{file}");
        // Blank and substantive answers per open question, as analyse counts them.
        for (q, w) in e["open_text"].as_object().unwrap() {
            let c = t.column(q).unwrap();
            let (mut coded, mut empty, mut non) = (0, 0, 0);
            for v in t.values(c) {
                match consult::normalise::blank(v) {
                    None => coded += 1,
                    Some(consult::normalise::Blank::Empty) => empty += 1,
                    Some(consult::normalise::Blank::NonSubstantive) => non += 1,
                }
            }
            assert_eq!((coded, empty, non), (w["coded"].as_u64().unwrap(), w["empty"].as_u64().unwrap(), w["non_substantive"].as_u64().unwrap()), "{file} {q}");
        }
    }
}

/// `consult analyse` on the platform fixtures with two and three header rows and with a
/// rejected row (the others' counts are checked above through the library): platform and
/// header rows in run.json, and rows read = coded + blank + rejected per question, exactly.
#[test]
fn analyse_accounts_for_every_row_of_platform_exports() {
    let dir = tempfile::tempdir().unwrap();
    let all = expected();
    for file in ["surveymonkey.csv", "qualtrics.csv", "smartsurvey.csv"] {
        let e = &all[file];
        let out = dir.path().join(file);
        let path = format!("fixtures/platforms/{file}");
        let o = consult(&["analyse", &path, "--quiet", "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        let run = run_json(&out);
        assert_eq!(run["input_platform"], e["platform"], "{file}");
        assert_eq!(run["input_header_rows"], e["header_rows"], "{file}");
        assert_eq!(run["rows_read"], e["rows_read"], "{file}");
        assert_eq!(run["mojibake_repaired_cells"], e["repaired_cells"], "{file}");
        let rejected = e["rejected"].as_array().unwrap();
        assert_eq!(run["rows_rejected"].as_u64().unwrap() as usize, rejected.len(), "{file}");
        let qs = run["questions"].as_array().unwrap();
        let want = e["open_text"].as_object().unwrap();
        assert_eq!(qs.len(), want.len(), "{file}");
        for q in qs {
            let w = &want[q["question"].as_str().unwrap()];
            assert_eq!(q["coded"], w["coded"], "{file} {}", q["question"]);
            assert_eq!(q["blank_empty"], w["empty"], "{file} {}", q["question"]);
            assert_eq!(q["blank_non_substantive"], w["non_substantive"], "{file} {}", q["question"]);
            assert_eq!(q["rejected"].as_u64().unwrap() as usize, rejected.len(), "{file}");
            let sum = q["coded"].as_u64().unwrap() + q["blank"].as_u64().unwrap() + q["rejected"].as_u64().unwrap();
            assert_eq!(sum, e["rows_read"].as_u64().unwrap(), "{file}: rows read = coded + blank + rejected");
        }
        // rejected.csv: line, reason, first field.
        let (h, rows) = read_csv(&out.join("rejected.csv"));
        assert_eq!(h, vec!["line", "reason", "first_field"]);
        let lines: Vec<Value> = rows.iter().map(|r| Value::from(r[0].parse::<u64>().unwrap())).collect();
        assert_eq!(&lines, rejected, "{file}");
        if file == "smartsurvey.csv" {
            assert_eq!(rows[0], vec!["4", "has 11 fields where the header has 10", "103"]);
        }
    }
}

#[test]
fn header_rows_flag_overrides_detection() {
    // Read as one header row, SurveyMonkey's sub-answer row becomes a data row.
    let o = consult(&["inspect", "fixtures/platforms/surveymonkey.csv", "--header-rows", "1"]);
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("fixtures/platforms/surveymonkey.csv: csv utf-8; SurveyMonkey layout, 1 header row; 7 rows read (7 usable, 0 rejected), 14 columns"), "{text}");
    // Three rows forced on a Qualtrics export is what detection finds.
    let o = consult(&["inspect", "fixtures/platforms/qualtrics.csv", "--header-rows", "3"]);
    assert!(String::from_utf8(o.stdout).unwrap().contains("Qualtrics layout, 3 header rows; 5 rows read"));
    // Two rows on a generic export: the second row is joined to the first.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("two.csv");
    std::fs::write(&p, "id,Your views,\n,On buses,On trains\n1,More buses please,Faster trains please\n").unwrap();
    let t = Table::open(&p, &consult::input::ReadOptions { sheet: None, header_rows: Some(2) }).unwrap();
    assert_eq!(t.headers, vec!["id", "Your views - On buses", "Your views - On trains"]);
    assert_eq!((t.rows.len(), t.rows[0].line), (1, 3));
    let bad = consult(&["inspect", "fixtures/platforms/qualtrics.csv", "--header-rows", "0"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// SurveyMonkey's XLSX export has the same two header rows: shaped the same way.
#[test]
fn surveymonkey_workbook_gets_its_two_header_rows_combined() {
    use rust_xlsxwriter::Workbook;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monkey.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let rows: [[&str; 5]; 5] = [
        ["Respondent ID", "Which services matter most?", "", "", "Any other comments?"],
        ["", "Roads", "Libraries", "Other (please specify)", "Open-Ended Response"],
        ["1001", "Roads", "", "", "Fix the potholes on the A6 before the winter comes"],
        ["1002", "", "Libraries", "Youth clubs", "Keep the libraries open on Saturdays for families"],
        ["1003", "Roads", "Libraries", "", "The buses to the villages are far too infrequent now"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(&path).unwrap();
    let t = Table::read(&path).unwrap();
    assert_eq!(t.platform, Platform::SurveyMonkey);
    assert_eq!(t.header_rows, 2);
    assert_eq!(
        t.headers,
        vec![
            "Respondent ID",
            "Which services matter most? - Roads",
            "Which services matter most? - Libraries",
            "Which services matter most? - Other (please specify)",
            "Any other comments?"
        ]
    );
    assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![3, 4, 5]);
}

/// Encodings: Windows-1252 and UTF-16 without a BOM are recognised; the mojibake Excel
/// leaves in UTF-8 is repaired and counted.
#[test]
fn encodings_and_mojibake_are_read_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let text = "id,comment\r\n1,It’s £5 – café\r\n";
    let mut le = Vec::new();
    for u in text.encode_utf16() {
        le.extend_from_slice(&u.to_le_bytes());
    }
    let t = Table::from_bytes(Path::new("nobom.csv"), &le).unwrap();
    assert_eq!(t.format, "csv utf-16le");
    assert_eq!(t.rows[0].fields[1], "It’s £5 – café");

    let p = dir.path().join("mojibake.csv");
    std::fs::write(&p, "id,comment\n1,Itâ€™s Â£5 â€“ cafÃ©\n2,fine as it is\n").unwrap();
    let t = Table::read(&p).unwrap();
    assert_eq!(t.rows[0].fields[1], "It’s £5 – café");
    assert_eq!(t.repaired_cells, 1);
}

/// A blank list from a file replaces the default; matching ignores case and punctuation.
#[test]
fn blank_list_flag_replaces_the_default_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("blanks.txt");
    std::fs::write(&list, "# ours\nSee attached\n").unwrap();
    let input = dir.path().join("a.csv");
    std::fs::write(&input, "id,Any comments?\n1,SEE ATTACHED.\n2,n/a\n3,Please fix the potholes on the A6\n4,\n").unwrap();
    let out = dir.path().join("out");
    let o = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "2", "--quiet", "--blank-list"])
        .arg(&list)
        .arg("--out")
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = run_json(&out);
    let q = &run["questions"][0];
    // "n/a" is not in this list: coded.
    assert_eq!((q["coded"].as_u64(), q["blank_non_substantive"].as_u64(), q["blank_empty"].as_u64()), (Some(2), Some(1), Some(1)));
    assert_eq!(run["blank_list"], list.display().to_string());

    let missing = Command::cargo_bin("consult")
        .unwrap()
        .args(["analyse", "--text", "2", "--blank-list", "nope.txt", "--out"])
        .arg(&out)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nope.txt: cannot read the blank list"));
}

fn input_error(path: &Path, want: &str) {
    command_error(&["inspect"], path, want);
}

/// `consult ARGS... PATH` fails with exit code 1 and one line on stderr: "PATH: want".
fn command_error(args: &[&str], path: &Path, want: &str) {
    let o = Command::cargo_bin("consult").unwrap().args(args).arg(path).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", path.display());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(&format!("{}: {want}", path.display())), "{err}");
}

/// Issue item 8: each bad input gets one line naming the file (and row/column where they
/// apply) and what to do, with exit code 1. (Missing file and unknown column: tests/analyse.rs.)
#[test]
fn bad_inputs_get_one_line_errors_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);

    std::fs::write(p("empty.csv"), "").unwrap();
    input_error(&p("empty.csv"), "the file is empty; export the survey responses again");
    std::fs::write(p("blank.csv"), "\r\n\r\n  \n").unwrap();
    input_error(&p("blank.csv"), "the file is empty");
    // A header and nothing under it: the wrong export, or one taken before anyone answered.
    std::fs::write(p("headeronly.csv"), "id,What do you think of the plan?\r\n").unwrap();
    let out = p("out");
    command_error(
        &["analyse", "--quiet", "--text", "2", "--out", out.to_str().unwrap()],
        &p("headeronly.csv"),
        "no responses under the header row; export the survey responses again",
    );
    assert!(!out.exists(), "nothing written for an export with no responses");
    std::fs::write(p("noheader.csv"), ",,\n1,2,3\n").unwrap();
    input_error(&p("noheader.csv"), "row 1: the header row is empty; the first row must name the columns");
    // Mostly UTF-8 (so not read as Windows-1252) with a bad byte in the header.
    std::fs::write(p("badheader.csv"), b"id,caf\xC3\xA9 cr\xC3\xA8che,\xFFx\n1,\xC3\xA9,b\n").unwrap();
    input_error(&p("badheader.csv"), "row 1, column 3: the header is not UTF-8; save the file as \"CSV UTF-8\"");
    std::fs::write(p("binary.csv"), b"id,comment\n\x00\x01\x02\x03\x00\x00\x00garbage\x00\n").unwrap();
    input_error(&p("binary.csv"), "the text encoding is not recognised");

    // An XLSX saved under a .csv name.
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().write_string(0, 0, "id").unwrap();
    wb.save(p("real.xlsx")).unwrap();
    std::fs::copy(p("real.xlsx"), p("renamed.csv")).unwrap();
    input_error(&p("renamed.csv"), "this is a workbook (XLSX/XLS), not a CSV file");

    // A damaged workbook.
    std::fs::write(p("damaged.xlsx"), b"PK\x03\x04 this is not really a zip file").unwrap();
    input_error(&p("damaged.xlsx"), "cannot open the workbook (");

    // A password-protected workbook: Excel stores it as a compound file holding an
    // EncryptedPackage stream.
    {
        let mut comp = cfb::create(p("protected.xlsx")).unwrap();
        use std::io::Write;
        comp.create_stream("/EncryptionInfo").unwrap().write_all(&[4, 0, 4, 0, 0x40, 0, 0, 0]).unwrap();
        comp.create_stream("/EncryptedPackage").unwrap().write_all(&[0u8; 64]).unwrap();
        comp.flush().unwrap();
    }
    input_error(&p("protected.xlsx"), "the workbook is password-protected; open it in Excel, remove the password");

    // An empty sheet.
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet();
    wb.save(p("emptysheet.xlsx")).unwrap();
    input_error(&p("emptysheet.xlsx"), "sheet \"Sheet1\" is empty");
}

/// Files whose every row counts (a gold file, coded answers to compare, an officer-coded
/// sample) are read whole: a malformed row is an error naming the file and line, never a row
/// quietly left out of the figures.
#[test]
fn evaluate_and_train_refuse_a_gold_file_with_a_malformed_row() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    std::fs::write(p("coded.csv"), "id,codes\n1,5.1\n2,6.2\n").unwrap();
    std::fs::write(p("gold.csv"), "id,codes\n1,5.1\n2,6.2,7.1\n").unwrap();
    let (coded, gold) = (p("coded.csv").display().to_string(), p("gold.csv").display().to_string());
    let o = consult(&["evaluate", &coded, &gold]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(&format!("{gold}: line 3: has 3 fields where the header has 2; mend or remove the row")), "{err}");
    // Swapped round, the coded file is the one named.
    let o = consult(&["evaluate", &gold, &coded]);
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{gold}: line 3:")));

    std::fs::write(p("sample.csv"), "id,text,codes\n1,More buses please,8.2\n2,Fix the roads, and soon,8.2\n").unwrap();
    let sample = p("sample.csv").display().to_string();
    let o = consult(&["train", "--gold", &sample, "--out", &p("heads").display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains(&format!("{sample}: line 3: has 4 fields where the header has 3")));
    assert!(!p("heads").exists());
}

/// A gold file's question column may name the question by its text as well as by the run's Q1,
/// Q2; and a run of one open question is matched by id alone, whatever the gold's question says
/// (a bare `text` header, a gold file that names the question asked).
#[test]
fn evaluate_matches_the_gold_question_by_id_or_text_and_needs_none_for_one_question() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(
        p("coded.csv"),
        "id,question,question_text,status,codes\n1,Q1,What was good?,coded,staff\n1,Q2,What could we do better?,coded,waiting\n\
         2,Q1,What was good?,coded,staff\n2,Q2,What could we do better?,blank,\n",
    )
    .unwrap();
    std::fs::write(
        p("gold.csv"),
        "id,question,codes\n1,What was good?,staff\n1,Q2,waiting\n2,What could we do better?,parking\n",
    )
    .unwrap();
    let o = consult(&["evaluate", &p("coded.csv"), &p("gold.csv")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    // All three matched; 2's blank answer to Q2 counts as coded with nothing: 2 of 3 right.
    assert!(out.contains("Items compared: 3 (0 gold items had no coded answer)"), "{out}");
    assert!(out.contains("exact match 0.667"), "{out}");

    std::fs::write(p("one.csv"), "id,question,question_text,status,codes\n7,Q1,text,coded,staff\n8,Q1,text,coded,parking\n")
        .unwrap();
    std::fs::write(p("gold1.csv"), "id,question,codes\n7,What was good?,staff\n8,What was good?,staff\n").unwrap();
    let o = consult(&["evaluate", &p("one.csv"), &p("gold1.csv")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Items compared: 2 (0 gold items had no coded answer)"), "{out}");
    assert!(out.contains("exact match 0.500"), "{out}");
}

/// The outcome level scores the codebook's outcomes: a sub-outcome counts as its outcome, and
/// codes outside the outcomes ("plan", "other") are scored by code only, though an outcome given
/// to an answer coded "other" by hand still counts against it. With --outcomes and no code in an
/// outcome, there is no outcome level to give: an error says so.
#[test]
fn evaluate_scores_the_plans_outcomes_at_outcome_level() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(p("coded.csv"), "id,codes\n1,5.1;plan\n2,5.1\n3,other\n").unwrap();
    std::fs::write(p("gold.csv"), "id,codes\n1,5.2\n2,other\n3,other\n").unwrap();
    let o = consult(&["evaluate", &p("coded.csv"), &p("gold.csv"), "--csv", &p("out.csv")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("outcome: micro-F1 0.667"), "{out}");
    let rows = std::fs::read_to_string(p("out.csv")).unwrap();
    let outcome: Vec<&str> = rows.lines().filter(|l| l.starts_with("outcome,")).collect();
    // Outcome 5: right on answer 1, wrong on answer 2 (precision 0.5, recall 1), then micro and macro.
    assert_eq!(outcome.len(), 3, "{rows}");
    assert!(outcome[0].starts_with("outcome,5,0.5000,1.0000,0.6667,"), "{rows}");

    std::fs::write(p("gold2.csv"), "id,codes\n1,plan\n2,other\n3,other\n").unwrap();
    let o = consult(&["evaluate", "--outcomes", &p("coded.csv"), &p("gold2.csv")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}: none of the codes scored (other, plan) is an outcome or a sub-outcome", p("gold2.csv"))), "{err}");
}

/// `consult sample` draws coded answers only, each question in proportion to its coded answers,
/// a campaign's copies once, the same sample for the same seed; coded by hand (here: as the tool
/// coded them, one changed, and their tone), it is a gold file `evaluate` reads, as CSV or XLSX.
#[test]
fn sample_draws_coded_answers_per_question_for_hand_coding() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    let mut coded = String::from("id,line,question,question_text,text,status,reason,codes,sentiment,campaign\n");
    // Q1: 21 answers coded on their own, 5 copies of one campaign, 4 blank; Q2: 10 coded, 1 rejected.
    for i in 0..30 {
        let (text, status, codes, tone, campaign) = match i {
            0..=20 => (format!("Answer {i} about trees"), "coded", "5.2", "neutral", ""),
            21..=25 => ("Save our park".to_string(), "coded", "5.2", "negative", "Q1-C1"),
            _ => (String::new(), "blank", "", "", ""),
        };
        coded.push_str(&format!("r{i},{},Q1,Any comments on the green outcome?,{text},{status},,{codes},{tone},{campaign}\n", i + 2));
    }
    for i in 0..11 {
        let status = if i == 10 { "rejected" } else { "coded" };
        coded.push_str(&format!("r{i},{},Q2,Any other comments?,Buses {i},{status},,8.2,neutral,\n", i + 2));
    }
    std::fs::write(p("coded.csv"), coded).unwrap();
    let draw = |out: &str, n: &str, seed: &str| {
        let o = consult(&["sample", &p("coded.csv"), "--out", &p(out), "--n", n, "--seed", seed]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // 22 answers to draw from in Q1 (the campaign once) and 10 in Q2: 12 split 8.25 / 3.75 -> 8 / 4.
    let said = draw("s.csv", "12", "1");
    assert!(said.starts_with(&format!("Drew 12 of 32 coded answers (a campaign's copies counted once; seed 1) into {}", p("s.csv"))), "{said}");
    assert!(said.contains("  Q1: 8 of 22\n  Q2: 4 of 10\n"), "{said}");
    let (h, rows) = read_csv(&dir.path().join("s.csv"));
    assert_eq!(h, ["id", "question", "question_text", "text", "codes", "tone"]);
    assert_eq!(rows.iter().filter(|r| r[1] == "Q1").count(), 8);
    assert_eq!(rows.iter().filter(|r| r[1] == "Q2").count(), 4);
    // Coded answers only (no blank one, not Q2's rejected r10), the codes and tone left empty.
    assert!(rows.iter().all(|r| r[4].is_empty() && r[5].is_empty() && !r[3].is_empty() && r[3] != "Buses 10"), "{rows:?}");
    assert!(rows.iter().filter(|r| r[3] == "Save our park").count() <= 1, "{rows:?}");
    // The same seed draws the same sample; another seed another one; a large n all of them.
    draw("again.csv", "12", "1");
    assert_eq!(std::fs::read(p("s.csv")).unwrap(), std::fs::read(p("again.csv")).unwrap());
    draw("other.csv", "12", "2");
    assert_ne!(std::fs::read(p("s.csv")).unwrap(), std::fs::read(p("other.csv")).unwrap());
    assert!(draw("all.csv", "100", "1").contains("Drew 32 of 32"));

    // Coded by hand as the tool coded them, but for one Q2 answer given 5.2; the tone as the tool
    // read it, but for the second answer (positive by hand) and none for the first: evaluate
    // reads it.
    let mut filled = String::from("id,question,question_text,text,codes,tone\n");
    let first_q2 = rows.iter().position(|r| r[1] == "Q2").unwrap();
    for (k, r) in rows.iter().enumerate() {
        let codes = if r[1] == "Q1" || k == first_q2 { "5.2" } else { "8.2" };
        let tone = match k {
            0 => "",
            1 => "positive",
            _ if r[3] == "Save our park" => "negative",
            _ => "neutral",
        };
        filled.push_str(&format!("{},{},\"{}\",\"{}\",{codes},{tone}\n", r[0], r[1], r[2], r[3]));
    }
    std::fs::write(p("filled.csv"), filled).unwrap();
    let o = consult(&["evaluate", &p("coded.csv"), &p("filled.csv")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Items compared: 12 (0 gold items had no coded answer)"), "{out}");
    // 5.2: 8 right and one missed (tp 8, fn 1); 8.2: 3 right, one given in error (tp 3, fp 1).
    assert!(out.contains("code: micro-F1 0.917"), "{out}");
    // Tone: 11 answers given one by hand, 10 read as people did (micro-F1 is accuracy here).
    assert!(out.contains("tone: 11 items") && out.contains("tone: micro-F1 0.909"), "{out}");

    // As XLSX, not yet coded: evaluate reads it and says its items carry no code.
    draw("s.xlsx", "12", "1");
    let o = consult(&["evaluate", &p("coded.csv"), &p("s.xlsx")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Items compared: 12 (0 gold items had no coded answer)\n12 gold items carry no code"), "{out}");
}

/// `consult sample --per-code K` draws at least K answers from each code's stratum (answers by
/// the rarest code the run gave them; all of a smaller one), the rest in proportion, names the
/// strata S1, S2, ... rarest first (not by code: the sample is coded blind) and writes each
/// answer's weight; `evaluate` weights its figures back to the whole run by them.
#[test]
fn sample_per_code_draws_every_codes_answers_and_evaluate_weights_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    // Q1: 40 answers given 8.2, 4 given 8.2 and 5.3, 2 given 7.3; Q2: 20 given 8.3. By their
    // rarest code: 7.3 (2 answers), 5.3 (4), 8.3 (20), 8.2 (40).
    let mut coded = String::from("id,line,question,question_text,text,status,reason,codes,sentiment,campaign\n");
    for i in 0..46 {
        let codes = match i {
            0..=39 => "8.2",
            40..=43 => "8.2;5.3",
            _ => "7.3",
        };
        coded.push_str(&format!("r{i},{},Q1,Any comments?,Answer {i},coded,,{codes},neutral,\n", i + 2));
    }
    for i in 0..20 {
        coded.push_str(&format!("r{i},{},Q2,Anything else?,Other answer {i},coded,,8.3,neutral,\n", i + 2));
    }
    std::fs::write(p("coded.csv"), coded).unwrap();
    let o = consult(&["sample", &p("coded.csv"), "--out", &p("s.csv"), "--n", "20", "--per-code", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let said = String::from_utf8_lossy(&o.stdout);
    // At least 3 each (2 of S1): 11; the other 9 shared over 0, 1, 17 and 37 left: 0, 0, 3, 6.
    assert!(said.starts_with(&format!("Drew 20 of 66 coded answers (a campaign's copies counted once; seed 1) into {}", p("s.csv"))), "{said}");
    assert!(said.contains("4 strata, S1 the rarest"), "{said}");
    assert!(said.contains("  S1: 2 of 2 (weight 1)\n  S2: 3 of 4 (weight 1.333333)\n  S3: 6 of 20 (weight 3.333333)\n  S4: 9 of 40 (weight 4.444444)\n"), "{said}");
    let (h, rows) = read_csv(&dir.path().join("s.csv"));
    assert_eq!(h, ["id", "question", "question_text", "text", "codes", "tone", "stratum", "weight"]);
    let of = |r: &Vec<String>| -> usize { r[3].rsplit(' ').next().unwrap().parse().unwrap() };
    // Each stratum holds the answers of its code: S1 7.3 (Q1 44-45), S2 5.3 (Q1 40-43), S3 Q2, S4 8.2 alone.
    for r in &rows {
        let want = match (r[1].as_str(), of(r)) {
            ("Q2", _) => "S3",
            (_, 44..) => "S1",
            (_, 40..) => "S2",
            _ => "S4",
        };
        assert_eq!(r[6], want, "{r:?}");
    }
    // Listed by question, Q1 first, so no stratum sits together.
    assert!(rows.iter().position(|r| r[1] == "Q2").unwrap() == 14 && rows[14..].iter().all(|r| r[1] == "Q2"), "{rows:?}");
    // Asked for fewer than the strata need: all of those, and said so.
    let o = consult(&["sample", &p("coded.csv"), "--out", &p("small.csv"), "--n", "5", "--per-code", "3"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("so more than the 5 asked for"));
    assert_eq!(read_csv(&dir.path().join("small.csv")).1.len(), 11);

    // Coded by hand as the run coded them, but 5.3 wrong on every answer given it (S2: 8.2 only)
    // and missed on the first of S4's (8.2;5.3 by hand).
    let first_s4 = rows.iter().position(|r| r[6] == "S4").unwrap();
    let mut filled = String::from("id,question,codes,stratum,weight\n");
    for (k, r) in rows.iter().enumerate() {
        let codes = match r[6].as_str() {
            "S1" => "7.3",
            "S2" => "8.2",
            "S3" => "8.3",
            _ if k == first_s4 => "8.2;5.3",
            _ => "8.2",
        };
        filled.push_str(&format!("{},{},{codes},{},{}\n", r[0], r[1], r[6], r[7]));
    }
    std::fs::write(p("filled.csv"), &filled).unwrap();
    let o = consult(&["evaluate", &p("coded.csv"), &p("filled.csv")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("Weighted by the gold file's weight column (a sample drawn per code, 4 strata): the figures estimate all 66 answers"), "{out}");
    // Weighted: 5.3 fp 3 x 4/3 = 4, fn 40/9; tp 2 + 4 + 20 + 40 = 66 over the other codes:
    // micro 132 / (132 + 4 + 4.444) = 0.940 (unweighted 40 / 44 = 0.909); macro (0 + 1 + 1 + 1) / 4.
    assert!(out.contains("code: micro-F1 0.940") && out.contains("macro-F1 0.750"), "{out}");
    assert!(out.contains("5.3              0.000     0.000     0.000"), "{out}");
    // A weight edited away is an error naming file, line and column.
    std::fs::write(p("bad.csv"), filled.replacen(",S1,1\n", ",S1,one\n", 1)).unwrap();
    let o = consult(&["evaluate", &p("coded.csv"), &p("bad.csv")]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}: line ", p("bad.csv"))) && err.contains(", column weight: \"one\" is not a weight"), "{err}");
}

/// Near-duplicate campaigns on the real model: a template sent with small edits (a word
/// changed, a sentence or a signature added, case and punctuation lost) is one campaign; a
/// different answer on the same subject and a repeated short answer are not.
#[test]
fn near_duplicates_join_the_campaign_on_the_real_model() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = consult(&["analyse", "fixtures/campaign-near-duplicates.csv", "--quiet", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let run = run_json(&out);
    assert_eq!(run["questions"][0]["campaigns"], serde_json::json!([{"id": "Q1-C1", "size": 6}]));
    let (h, rows) = read_csv(&out.join("coded_responses.csv"));
    let (id, camp) = (h.iter().position(|c| c == "id").unwrap(), h.iter().position(|c| c == "campaign").unwrap());
    let members: Vec<&str> = rows.iter().filter(|r| r[camp] == "Q1-C1").map(|r| r[id].as_str()).collect();
    assert_eq!(members, vec!["1", "3", "4", "7", "9", "11"]);
}

/// Every record the CSV reader sees after the header rows is either usable or rejected;
/// usable rows have as many fields as the header; nothing panics.
fn check_accounting(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Ok(t) = Table::from_bytes(Path::new("p.csv"), bytes) else { return Ok(()) };
    prop_assert_eq!(t.rows.len() + t.rejected.len(), t.rows_read());
    for r in &t.rows {
        prop_assert_eq!(r.fields.len(), t.headers.len());
        prop_assert!(r.line as usize > t.header_rows);
    }
    let (decoded, _) = consult::input::decode(bytes).unwrap();
    let records = csv::ReaderBuilder::new()
        .delimiter(t.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.as_ref())
        .byte_records()
        .count();
    prop_assert_eq!(t.rows_read() + t.header_rows, records);
    let mut lines: Vec<u64> = t.rows.iter().map(|r| r.line).chain(t.rejected.iter().map(|r| r.line)).collect();
    let n = lines.len();
    lines.sort_unstable();
    lines.dedup();
    prop_assert_eq!(lines.len(), n, "each record on its own line");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn row_accounting_holds_for_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_accounting(&bytes)?;
    }

    #[test]
    fn row_accounting_holds_for_csv_like_bytes(
        parts in proptest::collection::vec(
            prop_oneof![
                Just(&b","[..]), Just(&b";"[..]), Just(&b"\t"[..]), Just(&b"\""[..]), Just(&b"\n"[..]),
                Just(&b"\r\n"[..]), Just(&b"abc"[..]), Just(&b"\xC3\xA9"[..]), Just(&b"\xFF"[..]),
                Just(&b"\xE2\x80\x99"[..]), Just(&b"\xE2\x80"[..]), Just(&b"{\"ImportId\":\"x\"}"[..]),
                Just(&b"Response"[..]), Just(&b" "[..]), Just(&b"\xEF\xBB\xBF"[..]), Just(&b"\0"[..]),
            ],
            0..80,
        )
    ) {
        let bytes: Vec<u8> = parts.concat();
        check_accounting(&bytes)?;
    }
}
