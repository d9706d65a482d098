//! The report as a person gets it: summary.md (insta snapshot), report.html rendered in
//! headless Chromium, tables.xlsx and report.docx through LibreOffice to PDF; quotes and
//! their redaction; determinism. Runs `consult analyse` on the fixture with the real model.
//! Chromium, LibreOffice and poppler-utils are installed by scripts/setup-render.sh (`make test`).

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::prelude::*;
use consult::pii::Redactor;

const FIXTURE: &str = "fixtures/strategic-plan-consultation.csv";

fn analyse(out: &Path, input: &Path, extra: &[&str]) {
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(common::repo())
        .arg("analyse")
        .arg(input)
        .args(["--by", "Are you responding as...", "--by", "District", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

/// Two runs of the fixture with the same options, made once per test binary.
fn fixture_runs() -> &'static (PathBuf, PathBuf) {
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let r = RUNS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        // fp32, so the snapshot below holds on any CPU (bf16, the default where the CPU has
        // it, moves a handful of borderline answers: BENCHMARKS.md section 8).
        analyse(&a, Path::new(FIXTURE), &["--precision", "fp32"]);
        analyse(&b, Path::new(FIXTURE), &["--precision", "fp32"]);
        (dir, a, b)
    });
    // The paths live as long as the static TempDir.
    static PATHS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    PATHS.get_or_init(|| (r.1.clone(), r.2.clone()))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn tool(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success())
}

// ---------------------------------------------------------------- PII (issue 9, part 5)

/// A sentence with planted personal data, the planted strings that must go, and the
/// respondent's personal columns (header, value) the redaction is given.
type Planted = (String, Vec<String>, Vec<(String, String)>);

/// Planted personal data in sentences.
fn planted() -> Vec<Planted> {
    let mut out = Vec::new();
    let locals = ["jo.bloggs", "sam_smith84", "a.n.other+consult", "PATEL.R", "info", "m-jones"];
    let domains = ["example.com", "example.org.uk", "council.gov.uk", "mail.example.co.uk", "btinternet.com"];
    let contexts = [
        "Please contact me at {} about this.",
        "My email is {}",
        "({}) is the best way to reach me.",
        "Email:{}; thanks.",
        "I wrote to {}, no reply yet.",
    ];
    for (i, l) in locals.iter().enumerate() {
        for (j, d) in domains.iter().enumerate() {
            let e = format!("{l}{}@{d}", if (i + j) % 2 == 0 { "" } else { "1984" });
            out.push((contexts[(i + j) % contexts.len()].replace("{}", &e), vec![e], vec![]));
        }
    }
    let phones = [
        "0116 496 0732", "01164960732", "0116-496-0732", "(0116) 496 0732", "0116 4960732", "07700 900123",
        "07700900123", "07700 900 123", "+44 7700 900123", "+447700900123", "+44 (0)116 496 0732", "0044 116 496 0732",
        "020 7946 0958", "020-7946-0958", "(020) 7946 0958", "0800 123 4567", "0300 123 4567", "01632 960001",
        "01632 960 001", "+44 1632 960001", "0161 496 0000", "0113 496 0000", "07911 123456", "07911-123-456",
        "028 9018 0123", "+44 28 9018 0123", "0121 496 0999", "07700 900 999", "01509 123456", "01530 987654",
    ];
    // The same numbers written every common way.
    let mut phones: Vec<String> = phones.iter().map(|p| p.to_string()).collect();
    for (area, a, b) in [("0116", "496", "0321"), ("020", "7946", "0123"), ("07700", "900", "456"), ("01509", "22", "3344"), ("0161", "496", "0870")] {
        let nat = &area[1..];
        for f in [
            format!("{area} {a} {b}"),
            format!("{area}{a}{b}"),
            format!("{area}-{a}-{b}"),
            format!("({area}) {a} {b}"),
            format!("({area}) {a}{b}"),
            format!("{area} {a}{b}"),
            format!("{area}.{a}.{b}"),
            format!("+44 {nat} {a} {b}"),
            format!("+44{nat}{a}{b}"),
            format!("+44 (0){nat} {a} {b}"),
            format!("+44 (0) {nat} {a}{b}"),
            format!("0044 {nat} {a} {b}"),
        ] {
            phones.push(f);
        }
    }
    let pcontexts = ["Ring me on {}.", "My number: {} (evenings)", "call {} anytime", "Tel {}", "mobile {}, thanks"];
    for (i, p) in phones.iter().enumerate() {
        out.push((pcontexts[i % pcontexts.len()].replace("{}", p), vec![p.to_string()], vec![]));
    }
    let postcodes = [
        "LE3 8RA", "LE38RA", "le3 8ra", "LE19 1AB", "SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX",
        "EC1A 1BB", "NG1 5FS", "LE11 3TU", "LE65 1HP", "LE16 7AF", "DE74 2SA", "CV1 2GT", "PE9 2BQ", "G2 1DY", "BT1 5GS",
    ];
    let pcs = ["I live at 12 High Street, {}.", "Postcode {} here", "near {} the traffic is awful", "({})"];
    for (i, p) in postcodes.iter().enumerate() {
        out.push((pcs[i % pcs.len()].replace("{}", p), vec![p.to_string()], vec![]));
    }
    let nis = ["QQ 12 34 56 C", "QQ123456C", "AB 123456 D", "JG103759A", "ab123456c", "NZ 98 76 54 B", "PR 11 22 33 A"];
    for n in nis {
        out.push((format!("My NI number is {n}, for the record."), vec![n.to_string()], vec![]));
    }
    let names = [("Jo Bloggs", "Jo"), ("Priya Patel", "Patel"), ("Seán O'Brien", "Seán"), ("Anne-Marie Kowalski", "Kowalski")];
    for (full, part) in names {
        let personal = vec![("Full name".to_string(), full.to_string())];
        out.push((format!("As {full}, I think the bins are awful."), vec![full.to_string()], personal.clone()));
        out.push((format!("{part} here: more buses please."), vec![part.to_string()], personal.clone()));
        let email = format!("{}@example.net", part.to_lowercase());
        let personal2 = vec![("Email address".to_string(), email.clone())];
        out.push((format!("Reply to {email}."), vec![email], personal2));
    }
    out
}

#[test]
fn redaction_recall_on_planted_personal_data_is_at_least_99_percent() {
    let r = Redactor::new();
    let mut found = 0;
    let mut total = 0;
    let mut missed = Vec::new();
    for (text, items, personal) in planted() {
        let got = r.redact(&text, &personal);
        for item in items {
            total += 1;
            // Gone, and no run of its digits or words left behind.
            let digits: String = item.chars().filter(char::is_ascii_digit).collect();
            let leaked = got.contains(&item)
                || (digits.len() >= 6 && got.chars().filter(char::is_ascii_digit).collect::<String>().contains(&digits))
                || item.split_whitespace().any(|w| w.chars().count() > 2 && got.contains(w));
            if leaked {
                missed.push(format!("{text:?} -> {got:?}"));
            } else {
                found += 1;
            }
        }
    }
    let recall = found as f64 / total as f64;
    eprintln!("redaction recall {found}/{total} = {recall:.3}");
    assert!(total >= 150, "{total} planted items");
    assert!(recall >= 0.99, "recall {recall:.3}; missed: {missed:#?}");
}

#[test]
fn no_ordinary_word_in_the_fixture_answers_is_redacted() {
    let table = consult::input::Table::read(&common::repo().join(FIXTURE)).unwrap();
    let roles = table.roles();
    let r = Redactor::new();
    let mut checked = 0;
    let mut changed = Vec::new();
    for (c, role) in roles.iter().enumerate() {
        if *role != consult::input::Role::OpenText {
            continue;
        }
        for v in table.values(c).filter(|v| !v.trim().is_empty()) {
            checked += 1;
            let got = r.redact(v, &[]);
            if got != v {
                changed.push((v.to_string(), got));
            }
        }
    }
    assert!(checked > 400, "{checked} answers");
    // The one answer with planted contact details (fixtures/README.md) is the only change,
    // and only the phone number and email go.
    assert_eq!(changed.len(), 1, "{changed:#?}");
    let (before, after) = &changed[0];
    assert!(before.contains("0116 496 0732") && before.contains("jo.bloggs1984@example.com"));
    let expect = before.replace("0116 496 0732", "[phone]").replace("jo.bloggs1984@example.com", "[email]");
    assert_eq!(after, &expect);
}

/// A small export with personal-data columns and a respondent type with few respondents.
fn small_export(dir: &Path) -> PathBuf {
    let p = dir.join("small.csv");
    let mut w = csv::Writer::from_path(&p).unwrap();
    w.write_record(["Response ID", "Full name", "Email address", "Are you responding as...", "District", "Do you have any comments on the plan?"])
        .unwrap();
    let answers = [
        "The potholes on our roads are dangerous and need fixing before anything else.",
        "Buses are too infrequent in the villages, so people cannot get to work without a car.",
        "More should be done to keep the parks clean and the grass cut in the summer.",
        "Fly-tipping in the lanes is getting worse and the council is too slow to clear it.",
    ];
    for i in 0..16 {
        let (name, kind) = if i < 13 { (format!("Alex Testperson{i}"), "A resident") } else { (format!("Bo Trader-{i}"), "A business") };
        let email = format!("person{i}@example.com");
        let first = name.split(' ').next().unwrap().to_string();
        let last = name.split(' ').nth(1).unwrap().to_string();
        let text = format!(
            "{} I am {first} {last}, call me on 0116 496 07{i:02} or email {email}. My postcode is LE3 8RA.",
            answers[i % answers.len()]
        );
        w.write_record([format!("ANON-{i:04}"), name, email, kind.to_string(), "Charnwood".into(), text]).unwrap();
    }
    w.flush().unwrap();
    p
}

#[test]
fn redact_text_and_quotes_remove_personal_data_and_skip_small_groups() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_export(dir.path());
    let out = dir.path().join("out");
    Command::cargo_bin("consult")
        .unwrap()
        .current_dir(common::repo())
        .arg("analyse")
        .arg(&input)
        .args(["--text", "Do you have any comments on the plan?", "--by", "Are you responding as...", "--redact-text", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    let mut rdr = csv::Reader::from_path(out.join("coded_responses.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let ti = h.iter().position(|c| c == "text").unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let t = rec.unwrap()[ti].to_string();
        n += 1;
        for leak in ["Testperson", "Trader", "Alex", "@example.com", "0116", "LE3 8RA"] {
            assert!(!t.contains(leak), "{leak} left in {t:?}");
        }
        assert!(t.contains("I am [name] [name], call me on [phone] or email [email]. My postcode is [postcode]."), "{t}");
    }
    assert_eq!(n, 16);
    let summary = read(&out.join("summary.md"));
    let quotes: Vec<&str> = summary.lines().filter(|l| l.starts_with("> ")).collect();
    assert!(!quotes.is_empty(), "quotes in summary.md");
    for q in &quotes {
        let credit = q.rsplit_once(" (").map(|(_, c)| c).unwrap_or_default();
        assert!(credit.starts_with("A resident; "), "only the group of 13 is quoted, not the business group of 3: {q}");
        assert!(!q.contains("Testperson") && !q.contains("@example") && !q.contains("0116"), "{q}");
    }
}

// ---------------------------------------------------------------- fixture report

#[test]
fn summary_md_snapshot() {
    let (a, _) = fixture_runs();
    let summary = read(&a.join("summary.md"));
    insta::assert_snapshot!("fixture_summary_md", summary);
}

/// The methods note says how tone was read and how often the sentiment model agreed with
/// people on held-out rated answers: the figures are the ones its metadata (run.json) records.
#[test]
fn methods_note_gives_the_sentiment_models_held_out_agreement() {
    let (a, _) = fixture_runs();
    let run: serde_json::Value = serde_json::from_str(&read(&a.join("run.json"))).unwrap();
    let m = &run["sentiment_model"]["meta"]["metrics"];
    let pct = |k: &str| format!("{:.1}%", 100.0 * m[k].as_f64().unwrap_or_else(|| panic!("{k} in {m}")));
    let md = read(&a.join("summary.md"));
    let para = md.lines().find(|l| l.starts_with("How tone was read.")).expect("a tone paragraph in the methods note");
    assert!(para.contains(&format!("{} of {} NHS patient comments", pct("fft_5class_accuracy"), m["fft_test_n"])), "{para}");
    assert!(para.contains(&format!("{} of {} consultation-style statements", pct("consultation_tone_accuracy"), m["consultation_tone_test_n"])), "{para}");
    assert!(para.contains(&format!("{} of {} plain suggestions as neutral", pct("neutral_statements_kept_neutral"), m["neutral_statements_test_n"])), "{para}");
    // The shipped model learnt from every fold: the note says its figures are its sibling's.
    assert_eq!(run["sentiment_model"]["meta"]["training"]["all_folds"], true);
    assert!(para.contains("with these answers held out"), "{para}");
}

#[test]
fn same_input_gives_identical_outputs() {
    let (a, b) = fixture_runs();
    let mut files: Vec<PathBuf> = ["summary.md", "report.html", "coded_responses.csv", "tables.xlsx", "report.docx"]
        .iter()
        .map(PathBuf::from)
        .collect();
    for e in std::fs::read_dir(a.join("tables")).unwrap() {
        files.push(Path::new("tables").join(e.unwrap().file_name()));
    }
    assert!(files.len() > 30);
    for f in files {
        let (x, y) = (std::fs::read(a.join(&f)).unwrap(), std::fs::read(b.join(&f)).unwrap());
        assert!(x == y, "{} differs between two runs", f.display());
    }
}

#[test]
fn quotes_are_attributed_by_type_redacted_and_bounded() {
    let (a, _) = fixture_runs();
    let summary = read(&a.join("summary.md"));
    let coded = read(&a.join("coded_responses.csv"));
    assert!(coded.contains("jo.bloggs1984@example.com"), "without --redact-text the coded file keeps the text");
    assert!(!summary.contains("jo.bloggs1984@example.com") && !summary.contains("0116 496 0732"));
    let mut types = BTreeSet::new();
    let mut groups = 0;
    let mut in_group = 0;
    // Each quote group's tones, to check that praise and criticism are both shown.
    let mut tones: Vec<BTreeSet<String>> = Vec::new();
    for l in summary.lines() {
        // A bold line opens a quote group (or a table, which has no quotes).
        if l.starts_with("**") {
            in_group = 0;
            if !l.contains(':') {
                groups += 1;
                tones.push(BTreeSet::new());
            }
        }
        if let Some(q) = l.strip_prefix("> ") {
            in_group += 1;
            assert!(in_group <= 3, "at most --quotes 3 per sub-outcome");
            // "(A resident; negative)": the respondent type, then the tone read for the code.
            let (t, tone) = q.rsplit_once(" (").and_then(|(_, t)| t.trim_end_matches(')').split_once("; ")).unwrap();
            assert!(["positive", "neutral", "negative", "mixed"].contains(&tone), "{q}");
            types.insert(t.to_string());
            tones.last_mut().unwrap().insert(tone.to_string());
        }
    }
    assert!(groups >= 10, "{groups} quote groups");
    let both = tones.iter().filter(|t| t.contains("positive") && t.contains("negative")).count();
    assert!(both >= 5, "{both} quote groups show both praise and criticism");
    // Respondent types with fewer than 10 substantive answers to a question are never quoted.
    let run: serde_json::Value = serde_json::from_str(&read(&a.join("run.json"))).unwrap();
    assert_eq!(run["respondent_type_column"], "Are you responding as...");
    assert!(types.contains("A resident"), "{types:?}");
    assert!(!types.contains("A county councillor"), "{types:?}");
}

#[test]
fn report_html_is_self_contained_with_charts() {
    let (a, _) = fixture_runs();
    let html = read(&a.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in ["<script", "<link", "src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(bad), "external or active content: {bad}");
    }
    assert!(html.matches("<svg").count() >= 10, "bar charts");
    assert!(html.contains("Table 1: Rows read: 200"));
    assert!(html.contains("Methods note") && html.contains("[c] confidential"));
}

#[test]
fn report_html_renders_in_headless_chromium() {
    assert!(tool("chromium"), "chromium missing: run scripts/setup-render.sh (make test does)");
    let (a, _) = fixture_runs();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    let profile = dir.path().join("profile");
    let st = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,2000")
        .arg(format!("file://{}", a.join("report.html").canonicalize().unwrap().display()))
        .output()
        .unwrap();
    let bytes = std::fs::read(&png).unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&st.stderr)));
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000, "{} bytes", bytes.len());
    let pdf = dir.path().join("report.pdf");
    Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", a.join("report.html").canonicalize().unwrap().display()))
        .output()
        .unwrap();
    let text = pdf_text(&pdf);
    assert!(text.contains("Table 1: Rows read: 200"), "printed HTML keeps the captions");
    if let Ok(keep) = std::env::var("CONSULT_KEEP_RENDERS") {
        std::fs::copy(&png, Path::new(&keep).join("report-html.png")).unwrap();
        std::fs::copy(&pdf, Path::new(&keep).join("report-html.pdf")).unwrap();
    }
}

fn pdf_text(pdf: &Path) -> String {
    let o = Command::new("pdftotext").arg("-layout").arg(pdf).arg("-").output().unwrap();
    assert!(o.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Converts with LibreOffice to PDF, checks pdftoppm makes a non-empty first page, and
/// returns the PDF's text.
fn office_to_pdf(file: &Path) -> String {
    assert!(tool("libreoffice"), "libreoffice missing: run scripts/setup-render.sh (make test does)");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("lo-profile");
    let o = Command::new("libreoffice")
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(dir.path())
        .arg(file)
        .output()
        .unwrap();
    let pdf = dir.path().join(file.with_extension("pdf").file_name().unwrap());
    assert!(pdf.is_file(), "no PDF from {}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    let prefix = dir.path().join("page");
    let st = Command::new("pdftoppm").args(["-png", "-r", "60", "-f", "1", "-l", "2"]).arg(&pdf).arg(&prefix).status().unwrap();
    assert!(st.success());
    let pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    assert!(!pages.is_empty() && pages.iter().all(|p| std::fs::metadata(p).unwrap().len() > 2_000));
    if let Ok(keep) = std::env::var("CONSULT_KEEP_RENDERS") {
        let stem = file.file_stem().unwrap().to_string_lossy();
        std::fs::copy(&pdf, Path::new(&keep).join(format!("{stem}.pdf"))).unwrap();
    }
    pdf_text(&pdf)
}

#[test]
fn tables_xlsx_opens_in_libreoffice_with_captions_and_charts() {
    let (a, _) = fixture_runs();
    let text = office_to_pdf(&a.join("tables.xlsx"));
    assert!(text.contains("Table 1: Rows read: 200"), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("Q1: Do you have any comments on the Clean, Green Future outcome?"));
    // Sheets and native charts are in the workbook.
    let xlsx = std::fs::read(a.join("tables.xlsx")).unwrap();
    let names = zip_names(&xlsx);
    assert!(names.iter().any(|n| n.starts_with("xl/charts/chart")), "{names:?}");
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    // The central directory's file names: enough to list the parts without a zip crate.
    let mut names = Vec::new();
    let sig = [0x50u8, 0x4b, 0x01, 0x02];
    let mut i = 0;
    while i + 46 <= bytes.len() {
        if bytes[i..i + 4] == sig {
            let n = u16::from_le_bytes([bytes[i + 28], bytes[i + 29]]) as usize;
            if i + 46 + n <= bytes.len() {
                names.push(String::from_utf8_lossy(&bytes[i + 46..i + 46 + n]).into_owned());
            }
            i += 46 + n;
        } else {
            i += 1;
        }
    }
    names
}

#[test]
fn report_docx_opens_in_libreoffice_with_captions_and_methods_note() {
    let (a, _) = fixture_runs();
    let text = office_to_pdf(&a.join("report.docx"));
    assert!(text.contains("Table 1: Rows read: 200"), "{}", &text[..text.len().min(2000)]);
    assert!(text.contains("Methods note"));
    assert!(text.contains("Summary wording"));
}
