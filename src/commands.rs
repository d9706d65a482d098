//! One function per subcommand: resolves flags into working parts and runs the pipeline.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::aggregate;
use crate::analyse::{self, Coder, Question};
use crate::cache::{self, CachedEncoder};
use crate::heads::CodeHead;
use crate::classify::{Classifier, Settings};
use crate::cli::{AnalyseArgs, EmbedArgs, ModelArgs};
use crate::codebook::Codebook;
use crate::crosstab;
use crate::input::{InputError, ReadOptions, Role, Table};
use crate::normalise::BlankList;
use crate::model::{locate_model_dir, Encoder, MiniLm, Precision, SetupMissing, MODEL_DIR_ENV};
use crate::report;
use crate::sentiment::{self, Head, Prediction};
use crate::tune::TunedSentiment;

/// The model folder, or the set-up error (exit code 3) saying how to get it.
pub fn model_dir(explicit: Option<&Path>) -> Result<PathBuf> {
    Ok(locate_model_dir(explicit).ok_or_else(|| {
        SetupMissing(format!(
            "the all-MiniLM-L6-v2 model files were not found; run `make setup` in the consult \
             repository, or pass --model DIR (or set {MODEL_DIR_ENV})"
        ))
    })?)
}

/// The model in the precision `--precision` asks for, else `$CONSULT_PRECISION`, else
/// `default` (None: bf16 where the CPU has it natively).
pub fn load_encoder(args: &ModelArgs, default: Option<Precision>) -> Result<MiniLm> {
    MiniLm::load(&model_dir(args.dir.as_deref())?, Precision::resolve(args.precision, default)?)
}

/// The cache folder of `analyse`: `--cache`, else the default, none with `--no-cache`.
fn cache_dir(args: &AnalyseArgs) -> Option<PathBuf> {
    if args.no_cache { None } else { args.cache.clone().or_else(cache::default_dir) }
}

/// The encoder `analyse` uses: the embedding cache in front of the model (loaded on demand).
fn cached_encoder(args: &AnalyseArgs) -> Result<CachedEncoder> {
    let dir = model_dir(args.model.dir.as_deref())?;
    CachedEncoder::new(&dir, Precision::resolve(args.model.precision, None)?, cache_dir(args).as_deref(), !args.quiet)
}

/// Where the sentiment model is: `explicit`, else the fine-tuned model
/// (models/sentiment/tuned) when it has been built, else the frozen-embedding head
/// (models/sentiment/head.json).
pub fn sentiment_model_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    let tuned = crate::models_root().join(crate::train::TUNED_DIR);
    if TunedSentiment::is_model(&tuned) {
        tuned
    } else {
        crate::models_root().join("sentiment/head.json")
    }
}

/// Loads the sentiment model ([`sentiment_model_path`]); a tuned one runs on the base model
/// and precision of `model`, and keeps its scores in `cache_dir` when given.
pub fn load_sentiment(explicit: Option<&Path>, model: &ModelArgs, cache_dir: Option<&Path>) -> Result<(sentiment::Model, PathBuf)> {
    let p = sentiment_model_path(explicit);
    if p.is_dir() {
        if !TunedSentiment::is_model(&p) {
            return Err(SetupMissing(format!(
                "{}: no {} here; run `make sentiment-model` or `consult train-sentiment --tune`",
                p.display(),
                crate::tune::WEIGHTS
            ))
            .into());
        }
        let base = model_dir(model.dir.as_deref())?;
        let precision = Precision::resolve(model.precision, None)?;
        let mut m = TunedSentiment::load(&p, &base, precision, crate::model::default_workers())?;
        if let Some(dir) = cache_dir {
            m = m.with_cache(dir)?;
        }
        return Ok((sentiment::Model::Tuned(m), p));
    }
    if !p.is_file() {
        return Err(SetupMissing(format!(
            "{}: sentiment model not found; run `make setup` or `consult train-sentiment`",
            p.display()
        ))
        .into());
    }
    Ok((sentiment::Model::Head(Head::load(&p)?), p))
}

pub fn analyse(args: &AnalyseArgs) -> Result<()> {
    let started = Instant::now();
    let say = |s: String| {
        if !args.quiet {
            eprintln!("{s}");
        }
    };
    let head_codebook = args.head.as_ref().map(|d| d.join("codebook.toml")).filter(|p| p.is_file());
    let mut codebook = Codebook::load_or_default(args.codebook.as_deref().or(head_codebook.as_deref()))?;
    let trained = match &args.head {
        Some(dir) => Some(CodeHead::load(dir)?),
        None => None,
    };
    // Hand-coded statements join the codebook's examples (zero-shot coding only).
    let examples = match (&args.examples, args.no_examples || trained.is_some()) {
        (Some(p), _) => Some(p.clone()),
        (None, false) => Some(Codebook::examples_path(args.codebook.as_deref())).filter(|p| p.is_file()),
        (None, true) => None,
    };
    let mut hand_coded: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(p) = &examples {
        hand_coded = codebook.add_examples_read(p)?;
        let n = hand_coded.len();
        // The default codebook's own file is named as the codebook is, not by where this
        // checkout sits, so run.json stays the same on every machine.
        if args.examples.is_none() && args.codebook.is_none() {
            if let Some(x) = codebook.extra_examples.as_mut() {
                x.path = format!("default ({})", Path::new(crate::codebook::DEFAULT_PATH).with_extension("examples.csv").display());
            }
        }
        say(format!("codebook: {n} hand-coded statements from {} join its examples", p.display()));
    }
    let settings = match &args.settings {
        Some(p) => Settings::load(p)?,
        None => Settings::default_settings(),
    };
    let blanks = match &args.blank_list {
        Some(p) => BlankList::load(p)?,
        None => BlankList::builtin().clone(),
    };
    let read = ReadOptions { sheet: args.sheet.clone(), header_rows: args.header_rows.map(usize::from) };
    let table = Table::open(&args.input, &read)?;
    // A long export becomes a survey export's layout: one column per question.
    let (table, asked, asked_in) = match &args.question_column {
        None => (table, None, None),
        Some(q) => {
            let [answer] = args.text.as_slice() else {
                bail!(InputError(format!(
                    "{}: --question-column {q} needs the one column that holds the answers, as --text COLUMN",
                    args.input.display()
                )));
            };
            let (qc, ac) = (table.column(q)?, table.column(answer)?);
            if qc == ac {
                bail!(InputError(format!("{}: --question-column and --text name the same column", args.input.display())));
            }
            let (wide, cols, asked_in) = table.long_to_wide(qc, ac);
            (wide, Some(cols), Some(asked_in))
        }
    };
    let read_seconds = started.elapsed().as_secs_f64();
    say(format!(
        "Read {} as {}: {} layout, {} header row(s), {} rows, {} cells with mojibake repaired",
        args.input.display(),
        table.format,
        table.platform.as_str(),
        table.header_rows,
        table.rows_read(),
        table.repaired_cells
    ));
    if table.rows_read() == 0 {
        bail!(InputError(format!(
            "{}: no responses under the header row{}; export the survey responses again",
            args.input.display(),
            if table.header_rows > 1 { "s" } else { "" }
        )));
    }
    let roles = table.roles();
    let id_col = match &args.id {
        Some(n) => Some(table.column(n)?),
        None => table.detect_id_column(),
    };
    let by_cols: Vec<usize> = args.by.iter().map(|n| table.column(n)).collect::<Result<_>>()?;
    let text_cols: Vec<usize> = if let Some(cols) = asked {
        say(format!("{} questions in column {}:", cols.len(), args.question_column.as_deref().unwrap_or_default()));
        for &c in &cols {
            say(format!("  {}", table.headers[c]));
        }
        cols
    } else if args.text.is_empty() {
        let found: Vec<usize> = (0..table.headers.len())
            .filter(|c| roles[*c] == Role::OpenText && Some(*c) != id_col && !by_cols.contains(c))
            .collect();
        if found.is_empty() {
            bail!(InputError(format!(
                "{}: no free-text column found; name the open questions with --text COLUMN",
                args.input.display()
            )));
        }
        say(format!("Detected {} free-text question(s):", found.len()));
        for &c in &found {
            say(format!("  column {}: {}", c + 1, table.headers[c]));
        }
        found
    } else {
        args.text.iter().map(|n| table.column(n)).collect::<Result<_>>()?
    };
    let questions: Vec<Question> = text_cols
        .iter()
        .enumerate()
        .map(|(i, &c)| Question { key: format!("Q{}", i + 1), column: c, header: table.headers[c].clone() })
        .collect();
    // A hand-coded sample of these answers, read now so that a fault in it stops the run early.
    let check_sample = args.check.as_deref().map(|p| crate::evaluate::read_check(p, &codebook, questions.len())).transpose()?;
    prepare_out_dir(&args.out, &args.input, args.force)?;

    let t_load = Instant::now();
    let encoder = cached_encoder(args)?;
    let (sentiment_model, sentiment_path) = load_sentiment(args.sentiment_model.as_deref(), &args.model, cache_dir(args).as_deref())?;
    // Heads trained with a fine-tuned encoder read answers with it (their own cache file).
    let head_encoder = match (&trained, &args.head) {
        (Some(h), Some(p)) => match h.encoder_dir(p) {
            Some(d) => Some(CachedEncoder::new(&d, Precision::resolve(args.model.precision, None)?, cache_dir(args).as_deref(), !args.quiet)?),
            None => None,
        },
        _ => None,
    };
    let classifier = match &trained {
        None => Some(Classifier::build(&codebook, &encoder, settings.clone())?),
        Some(_) => None,
    };
    let coder = match (&trained, &classifier) {
        (Some(h), _) => Coder::Trained { head: h, fallback: codebook.fallback.clone() },
        (None, Some(c)) => Coder::ZeroShot(c),
        (None, None) => unreachable!("a classifier is built when no head is given"),
    };
    // The hand-coded statements, each coded by the codebook and the others: the methods note's
    // agreement with people (zero-shot coding only; heads carry their own held-out figures).
    let t_agree = Instant::now();
    let examples_agreement = match &classifier {
        Some(_) if hand_coded.len() >= 2 => {
            let coded = crate::selftest::leave_one_out((&codebook, &hand_coded), &encoder, &settings)?;
            Some(crate::selftest::agreement(&coded, &codebook))
        }
        _ => None,
    };
    let agreement_seconds = t_agree.elapsed().as_secs_f64();
    let setup_seconds = t_load.elapsed().as_secs_f64();

    let t_code = Instant::now();
    let (mut responses, timings) =
        analyse::code_responses(&table, &questions, id_col, &by_cols, &codebook, &coder, &sentiment_model, &encoder, head_encoder.as_ref().map(|e| e as &dyn Encoder), &blanks)?;
    // From a long export, a row answers its own question only: the other questions' cells
    // were never asked of it, so they are no answers, blank or otherwise.
    if let Some(asked_in) = &asked_in {
        responses.retain(|r| r.status == analyse::Status::Rejected || asked_in.get(&r.line) == Some(&r.question));
    }
    let code_seconds = t_code.elapsed().as_secs_f64() - timings.embed_seconds;
    let t_render = Instant::now();
    let counts = aggregate::count(&questions, &responses);
    // Counts with each campaign counted once: only needed when there are campaigns.
    let counts_once = if counts.iter().any(|q| !q.campaigns.is_empty()) {
        aggregate::count(&questions, &analyse::campaigns_once(&responses))
    } else {
        Vec::new()
    };

    // Render.
    let bands = match &args.bands {
        Some(p) => report::Bands::load(p)?,
        None => report::Bands::default_bands(),
    };
    let type_col = respondent_type_column(&table, &roles);
    let who = respondents(&table, &roles, type_col);
    let redactor = crate::pii::Redactor::new();
    let by_headers: Vec<String> = by_cols.iter().map(|&c| table.headers[c].clone()).collect();
    report::write_atomic(
        &args.out.join("coded_responses.csv"),
        &report::coded_responses_csv(&responses, &questions, &by_headers, args.redact_text.then_some((&redactor, &who)))?,
    )?;
    // How this run's codes agree with the hand-coded sample of its answers, read back from the
    // coded_responses.csv just written, as `consult evaluate` reads it.
    let agreement_csv = args.out.join("agreement.csv");
    let checked = match &check_sample {
        Some(gold) => {
            let coded = Table::read_whole(&args.out.join("coded_responses.csv"))?;
            let examples: std::collections::HashSet<String> = hand_coded.iter().map(|(t, _)| t.clone()).collect();
            let c = crate::evaluate::check(&coded, gold, &codebook, &examples)?;
            let mut levels = vec![("code", &c.by_code)];
            levels.extend(c.by_outcome.as_ref().map(|o| ("outcome", o)));
            levels.extend(c.tone.as_ref().map(|t| ("tone", t)));
            crate::evaluate::write_csv(&agreement_csv, &levels)?;
            Some(c)
        }
        None => {
            // An earlier run's figures do not describe this one.
            let _ = std::fs::remove_file(&agreement_csv);
            None
        }
    };
    let tables_dir = args.out.join("tables");
    std::fs::create_dir_all(&tables_dir).with_context(|| format!("{}: cannot create", tables_dir.display()))?;
    let accounting = aggregate::accounting_table(table.rows_read(), &counts);
    let mut profile = vec![accounting.clone()];
    if let Some(c) = type_col {
        let values: Vec<String> = table.values(c).map(String::from).collect();
        profile.push(report::profile_table("respondent_type", &format!("Respondents by type ({})", table.headers[c]), "Respondent type", &values, table.rows_read()));
    }
    if let Some((heading, values)) = channels(&table, &roles, id_col) {
        profile.push(report::profile_table("channel", &format!("Respondents by channel ({heading})"), "Channel", &values, table.rows_read()));
    }
    profile.extend(report::campaigns_table(&counts));
    for t in &profile {
        report::write_atomic(&tables_dir.join(format!("{}.csv", t.name)), &report::table_csv(t)?)?;
    }
    // Closed questions: every column detected as one (not an open question or attribute).
    let closed: Vec<aggregate::TableData> = (0..table.headers.len())
        .filter(|c| roles[*c] == Role::ClosedQuestion && !text_cols.contains(c) && !by_cols.contains(c))
        .enumerate()
        .map(|(i, c)| {
            let values: Vec<&str> = table.values(c).collect();
            aggregate::closed_table(&format!("C{}", i + 1), &table.headers[c], &values)
        })
        .collect();
    for t in &closed {
        report::write_atomic(&tables_dir.join(format!("{}.csv", t.name)), &report::table_csv(t)?)?;
    }
    // Agreement with the hand-coded sample, by code: a table for the report's methods section.
    let agreement_table = checked.as_ref().map(|c| check_table(c, &codebook));
    match &agreement_table {
        Some(t) => report::write_atomic(&tables_dir.join(format!("{}.csv", t.name)), &report::table_csv(t)?)?,
        None => {
            let _ = std::fs::remove_file(tables_dir.join(format!("{CHECK_TABLE}.csv")));
        }
    }
    let mut per_question = Vec::new();
    let by_slugs = crosstab::slugs(&by_headers);
    for (qi, q) in counts.iter().enumerate() {
        let ct = aggregate::codes_table(q, &codebook);
        let st = aggregate::sentiment_table(q, &codebook);
        let mut xs: Vec<aggregate::TableData> = Vec::new();
        if !q.campaigns.is_empty() {
            let mut once = aggregate::codes_table(&counts_once[qi], &codebook);
            once.name = format!("{}_campaigns_once", once.name);
            once.title = format!("{} (each campaign counted once)", once.title);
            xs.push(once);
        }
        xs.extend((0..by_headers.len())
            .map(|b| {
                let rs = responses.iter().filter(|r| r.question == qi);
                crosstab::crosstab(&q.key, rs, b, &by_headers[b], &by_slugs[b], &codebook, args.suppress)
            }));
        for t in [&ct, &st].into_iter().chain(&xs) {
            report::write_atomic(&tables_dir.join(format!("{}.csv", t.name)), &report::table_csv(t)?)?;
        }
        let answers: Vec<&analyse::CodedResponse> = responses.iter().filter(|r| r.question == qi).collect();
        let sizes = crate::quotes::type_sizes(answers.iter().copied(), &who);
        let quotes = codebook
            .codes
            .iter()
            .filter(|c| !codebook.has_children(&c.id) && q.code_counts.get(&c.id).copied().unwrap_or(0) > 0)
            .map(|c| report::QuoteGroup {
                code: c.id.clone(),
                label: c.label.clone(),
                quotes: crate::quotes::select(
                    answers.iter().copied(), &c.id, args.quotes, args.suppress, &who, &sizes, type_col.is_some(), &redactor,
                ),
            })
            .collect();
        per_question.push(report::QuestionReport {
            counts: q.clone(),
            summaries: report::summary_sentences(q, &codebook, &bands),
            chart: report::codes_chart(q, &codebook),
            codes: ct,
            tones: st,
            extra: xs,
            quotes,
        });
    }
    let info = encoder.info();
    let tone_line = match &sentiment_model {
        sentiment::Model::Tuned(_) => "sentiment by a copy fine-tuned on rated answers, reading question and answer together",
        sentiment::Model::Head(_) => "sentiment head",
    };
    let (model_line, method) = match &trained {
        None => (
            format!("{} (sentence embeddings, zero-shot similarity to the codebook; {tone_line})", info.name),
            format!(
                "compared with each sub-outcome's description and example statements in the codebook{} (zero-shot \
                 similarity: a code is given when the answer, or one of its sentences, is close enough to it; an answer \
                 carries at most {}{}){}",
                match &codebook.extra_examples {
                    Some(x) => format!(", with {} statements coded by hand as further examples", x.statements),
                    None => String::new(),
                },
                match settings.max_codes {
                    1 => "one code".to_string(),
                    n @ 2..=9 => format!("{} codes", ["two", "three", "four", "five", "six", "seven", "eight", "nine"][n - 2]),
                    n => format!("{n} codes"),
                },
                if settings.second_threshold.is_some() && settings.max_codes > 1 { ", each after the first only when it too is a clear match" } else { "" },
                {
                    let keys: Vec<&str> = counts
                        .iter()
                        .zip(&timings.context_questions)
                        .filter(|(_, &lends)| lends)
                        .map(|(q, _)| q.key.as_str())
                        .collect();
                    match keys.len() {
                        0 => String::new(),
                        n => format!(
                            "; {} {} itself about a sub-outcome, so {} answers were also read together with the question, \
                             which gives a short answer its topic",
                            keys.join(", "),
                            if n == 1 { "is" } else { "are" },
                            if n == 1 { "its" } else { "their" }
                        ),
                    }
                }
            ),
        ),
        Some(h) => (
            format!("{} (sentence embeddings, heads trained on officer-coded answers; {tone_line})", info.name),
            format!(
                "scored by classifiers (heads) trained on answers coded by officers{}{}{}",
                if h.lexicon.is_some() { ", from the answer's meaning and its words" } else { "" },
                if h.encoder.is_some() { ", reading each answer with a copy of the model fine-tuned on those coded answers" } else { "" },
                if h.code_blanks {
                    "; answers such as \"Nothing\" were coded too, as the officers' sample coded them, not counted as blank"
                } else {
                    ""
                }
            ),
        ),
    };
    let agreement = match (&trained, &examples_agreement, &codebook.extra_examples) {
        (Some(h), _, _) => agreement_line(&h.meta),
        (None, Some((by_code, by_outcome)), Some(x)) => Some(examples_agreement_line(x, by_code, by_outcome.as_ref())),
        _ => None,
    };
    let agreement = match (&checked, &args.check) {
        (Some(c), Some(p)) => Some(format!("{}{}", check_agreement_line(p, c), agreement.map_or(String::new(), |a| format!(" {a}")))),
        _ => agreement,
    };
    let rep = report::Report {
        title: "Consultation analysis".into(),
        input: args.input.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        rows_read: table.rows_read(),
        rows_rejected: table.rejected.len(),
        codebook: format!("{} (version {}, sha256 {})", codebook.name, codebook.version, &codebook.sha256[..12]),
        model: model_line,
        profile,
        closed: closed.iter().map(|t| (t.clone(), report::closed_chart(t))).collect(),
        questions: per_question,
        methods: report::methods_note(&info.name, &method, &codebook, tone_method_line(&sentiment_model), agreement, args.suppress, args.quotes, &bands, type_col.is_some()),
        notes: report::notes_section(args.suppress),
        agreement: agreement_table,
    };
    report::write_atomic(&args.out.join("summary.md"), report::summary_md(&rep).as_bytes())?;
    report::write_atomic(&args.out.join("report.html"), report::html::report_html(&rep).as_bytes())?;
    report::write_atomic(&args.out.join("tables.xlsx"), &report::xlsx::tables_xlsx(&rep)?)?;
    report::write_atomic(&args.out.join("report.docx"), &report::docx::report_docx(&rep)?)?;

    let run = json!({
        "consult_version": env!("CARGO_PKG_VERSION"),
        "input": args.input.display().to_string(),
        "input_format": table.format,
        "input_platform": table.platform.as_str(),
        "input_header_rows": table.header_rows,
        "input_question_column": args.question_column,
        "mojibake_repaired_cells": table.repaired_cells,
        "blank_list": blanks.source,
        "closed_questions": closed.iter().map(|t| t.title.clone()).collect::<Vec<_>>(),
        "rows_read": table.rows_read(),
        "rows_rejected": table.rejected.len(),
        "rejected": table.rejected.iter().map(|r| json!({"line": r.line, "reason": r.reason})).collect::<Vec<_>>(),
        "id_column": id_col.map(|c| table.headers[c].clone()),
        "suppression_threshold": args.suppress,
        "quotes_per_sub_outcome": args.quotes,
        "quantity_bands": bands.bands.iter().map(|b| json!({"from": b.from, "label": b.label})).collect::<Vec<_>>(),
        "redact_text": args.redact_text,
        "respondent_type_column": type_col.map(|c| table.headers[c].clone()),
        "questions": counts.iter().enumerate().map(|(qi, q)| json!({
            "key": q.key, "question": q.question, "rows": q.rows, "coded": q.coded, "blank": q.blank,
            "answers_read_with_question": timings.context_questions.get(qi).copied().unwrap_or(false),
            "blank_empty": q.blank_empty, "blank_non_substantive": q.blank_non_substantive, "rejected": q.rejected,
            "campaigns": q.campaigns.iter().map(|(id, n)| json!({"id": id, "size": n})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "model": info,
        "codebook": {"name": codebook.name, "version": codebook.version, "source": codebook.source, "sha256": codebook.sha256,
                     "examples_added": codebook.extra_examples,
                     "examples_agreement": examples_agreement.as_ref().map(|(c, o)| json!({
                         "method": "leave-one-out: each hand-coded statement coded by the codebook and the other statements",
                         "statements": c.items,
                         "code": agreement_json(c),
                         "outcome": o.as_ref().map(agreement_json),
                     }))},
        // Agreement with a hand-coded sample of this export's answers (--check).
        "check_agreement": match (&checked, &args.check) {
            (Some(c), Some(p)) => json!({
                "file": p.display().to_string(),
                "sha256": crate::model::file_sha256(p)?,
                "compared": c.compared, "unmatched": c.unmatched, "left_out_as_examples": c.left_out,
                "weighted": c.by_code.weighted,
                "code": agreement_json(&c.by_code),
                "outcome": c.by_outcome.as_ref().map(agreement_json),
                "tone": c.tone.as_ref().map(|t| json!({"answers": t.items, "accuracy": round4(t.micro_f1),
                    "accuracy_ci95": [round4(t.micro_ci.0), round4(t.micro_ci.1)], "macro_f1": round4(t.macro_f1)})),
            }),
            _ => serde_json::Value::Null,
        },
        "classifier": match &trained {
            // Through serde_json's own f32 printing, so the settings read as written (margin
            // 0.04, not the 0.03999999910593033 a conversion to f64 gives).
            None => json!({"method": "zero-shot", "settings": serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&settings)?)?}),
            Some(h) => json!({"method": "trained heads", "head": args.head.as_ref().map(|p| p.display().to_string()), "meta": h.meta}),
        },
        "sentiment_model": sentiment_model.describe(&sentiment_path),
        "versions": {"consult": env!("CARGO_PKG_VERSION"), "rust_bert": "0.23", "tch": "0.17", "libtorch": "2.4.0"},
    });
    report::write_atomic(&args.out.join("run.json"), serde_json::to_string_pretty(&run)?.as_bytes())?;
    write_rejected(&args.out.join("rejected.csv"), &table)?;
    let report_seconds = t_render.elapsed().as_secs_f64();
    // Timings change from run to run, so they live apart from run.json (which is deterministic).
    let cache_stats = encoder.stats();
    let timing = json!({
        "total_seconds": started.elapsed().as_secs_f64(),
        "read_seconds": read_seconds,
        "setup_seconds": setup_seconds,
        "agreement_seconds": agreement_seconds,
        "code_seconds": code_seconds,
        "report_seconds": report_seconds,
        "model_load_seconds": encoder.load_seconds(),
        "embed_seconds": timings.embed_seconds,
        "texts": timings.texts_embedded,
        "sentiment_seconds": timings.sentiment_seconds,
        "sentiment_pairs": timings.sentiment_pairs,
        "embedding_cache": encoder.store_path().map(|p| p.display().to_string()),
        "texts_from_cache": cache_stats.from_cache,
        "texts_embedded": cache_stats.embedded,
    });
    report::write_atomic(&args.out.join("timings.json"), serde_json::to_string_pretty(&timing)?.as_bytes())?;

    say(format!("Rows read: {} ({} rejected)", table.rows_read(), table.rejected.len()));
    for q in &counts {
        say(format!(
            "  {}: {} coded, {} blank, {} rejected ({} rows)",
            q.key, q.coded, q.blank, q.rejected, q.rows
        ));
    }
    say(format!(
        "{} distinct texts (answers, their sentences, the codebook): {} from the cache, {} embedded in {:.1}s; wrote {}",
        cache_stats.texts,
        cache_stats.from_cache,
        cache_stats.embedded,
        timings.embed_seconds,
        args.out.display()
    ));
    Ok(())
}

/// The column naming the respondent type ("Are you responding as...", "Respondent type"):
/// a respondent attribute whose header says so.
pub fn respondent_type_column(table: &Table, roles: &[Role]) -> Option<usize> {
    (0..table.headers.len()).find(|&c| {
        let h = crate::normalise::fold(&table.headers[c]);
        matches!(roles[c], Role::Attribute | Role::ClosedQuestion)
            && ["responding as", "respondent type", "type of respondent", "capacity", "responding on behalf"]
                .iter()
                .any(|k| h.contains(k))
    })
}

/// Per line: the respondent's type and own personal data (for quotes and redaction).
pub fn respondents(table: &Table, roles: &[Role], type_col: Option<usize>) -> HashMap<u64, crate::quotes::Respondent> {
    let personal: Vec<usize> = (0..table.headers.len()).filter(|&c| roles[c] == Role::PersonalData).collect();
    table
        .rows
        .iter()
        .map(|row| {
            let kind = type_col.map(|c| row.fields[c].trim().to_string());
            let personal =
                personal.iter().map(|&c| (table.headers[c].clone(), row.fields[c].trim().to_string())).collect();
            (row.line, crate::quotes::Respondent { kind, personal })
        })
        .collect()
}

/// Response channel per row, where the export shows it: a column whose header names the
/// channel, else Citizen Space's id prefixes (ANON- online, BHLF- keyed in by staff).
pub fn channels(table: &Table, roles: &[Role], id_col: Option<usize>) -> Option<(String, Vec<String>)> {
    let named = (0..table.headers.len()).find(|&c| {
        let h = crate::normalise::fold(&table.headers[c]);
        roles[c] != Role::OpenText && (h.contains("channel") || h.contains("response method") || h.contains("how did you respond"))
    });
    if let Some(c) = named {
        return Some((table.headers[c].clone(), table.values(c).map(String::from).collect()));
    }
    let ids: Vec<&str> = table.values(id_col?).map(str::trim).collect();
    let citizen_space = !ids.is_empty() && ids.iter().all(|v| v.starts_with("ANON-") || v.starts_with("BHLF-"));
    let paper = ids.iter().filter(|v| v.starts_with("BHLF-")).count();
    (citizen_space && paper > 0).then(|| {
        let values = ids
            .iter()
            .map(|v| if v.starts_with("BHLF-") { "Keyed in by staff (paper or phone)" } else { "Online" }.to_string())
            .collect();
        ("from the response id: ANON- online, BHLF- keyed in by staff".to_string(), values)
    })
}

/// A trained head's held-out agreement figures, as a sentence, when its metadata has them.
fn agreement_line(meta: &serde_json::Value) -> Option<String> {
    let obj = meta.as_object()?;
    let figures: Vec<String> = obj
        .iter()
        .filter(|(k, v)| v.is_number() && (k.contains("f1") || k.contains("kappa") || k.contains("precision") || k.contains("recall")))
        .map(|(k, v)| format!("{k} {:.3}", v.as_f64().unwrap_or(0.0)))
        .collect();
    (!figures.is_empty()).then(|| {
        format!("The trained heads were checked against held-out officer-coded answers: {}.", figures.join(", "))
    })
}

/// An agreement report's micro- and macro-F1 with their intervals, as the methods note words them.
fn f1_phrase(r: &crate::evaluate::Report) -> String {
    format!(
        "micro-F1 {:.2} (95% CI {:.2} to {:.2}), macro-F1 {:.2} ({:.2} to {:.2})",
        r.micro_f1, r.micro_ci.0, r.micro_ci.1, r.macro_f1, r.macro_ci.0, r.macro_ci.1
    )
}

/// The hand-coded statements' leave-one-out agreement, as the methods note gives it.
fn examples_agreement_line(x: &crate::codebook::ExtraExamples, by_code: &crate::evaluate::Report, by_outcome: Option<&crate::evaluate::Report>) -> String {
    format!(
        "The {n} statements coded by hand that joined the codebook's examples ({path}) were each coded as an answer \
         by the codebook and the other {m} (less any copies of the same text), and compared with their own codes \
         (leave-one-out; `consult codebook --self-test` lists every one): by code, {code}, with {exact:.0}% of \
         statements given exactly their own codes{outcome}. These figures are for those statements: they \
         estimate the agreement on this consultation's answers only where \
         the statements are a checked sample of them (for instance a coded_responses.csv an officer has corrected, \
         given with --examples); otherwise code a sample of these answers by hand (`consult sample` draws one) and \
         compare with `consult evaluate`.",
        n = x.statements,
        // The default codebook's file is recorded as "default (PATH)".
        path = x.path.strip_prefix("default (").and_then(|p| p.strip_suffix(')')).unwrap_or(&x.path),
        m = x.statements.saturating_sub(1),
        code = f1_phrase(by_code),
        exact = 100.0 * by_code.exact_match,
        outcome = by_outcome.map_or(String::new(), |o| format!(
            "; by outcome (each sub-outcome counted as its outcome; codes outside the outcomes are in the by-code \
             figures only), {}",
            f1_phrase(o)
        )),
    )
}

/// How this run's codes agree with a hand-coded sample of its answers, as the methods note gives it.
fn check_agreement_line(path: &Path, c: &crate::evaluate::Checked) -> String {
    // A small sample holds few of the rarer codes, so its macro-F1 averages fewer codes than the
    // whole run's (on the Polis statements it read 0.38-0.54 from 100 answers against 0.39).
    let held = c.by_code.per_code.iter().filter(|s| s.support > 0).count();
    let mut s = format!(
        "On this consultation: {n} of its answers, coded by hand ({file}), were compared with the codes this run gave \
         them{weighted}: by code, {code}, with {exact:.0}% given exactly the same codes{outcome}. The macro-F1 averages the \
         {held} codes the sample holds, so from a small sample it is a rough guide; the table below gives each code's \
         precision, recall and F1 (agreement.csv adds kappa).",
        n = c.compared,
        file = path.display(),
        weighted = if c.by_code.weighted {
            ", each weighted by how many of the run's answers it stands for (the sample was drawn with more of the \
             rarer codes' answers, `consult sample --per-code`, so that each code's precision can be checked)"
        } else {
            ""
        },
        code = f1_phrase(&c.by_code),
        exact = 100.0 * c.by_code.exact_match,
        outcome = c.by_outcome.as_ref().map_or(String::new(), |o| format!("; by outcome, {}", f1_phrase(o))),
    );
    if let Some(t) = &c.tone {
        s.push_str(&format!(
            " Tone: of the {} sampled answers given a tone by hand, this run read {:.0}% as people did (95% CI {:.0}% \
             to {:.0}%; macro-F1 over the tones {:.2}).",
            t.items,
            100.0 * t.micro_f1,
            100.0 * t.micro_ci.0,
            100.0 * t.micro_ci.1,
            t.macro_f1
        ));
    }
    if c.left_out > 0 {
        s.push_str(&format!(
            " {} answers of the sample are also among the hand-coded examples and are left out of these figures \
             (they would be compared with themselves).",
            c.left_out
        ));
    }
    if c.unmatched > 0 {
        s.push_str(&format!(" {} rows of the sample matched no answer of this run and are left out.", c.unmatched));
    }
    s
}

/// The name of the agreement table (tables/agreement_by_code.csv).
const CHECK_TABLE: &str = "agreement_by_code";

/// The run's agreement with a hand-coded sample, by code in codebook order, for the report:
/// how many sampled answers people gave each code, and precision, recall and F1 as percentages.
fn check_table(c: &crate::evaluate::Checked, codebook: &Codebook) -> aggregate::TableData {
    let order = codebook.order();
    let mut scores: Vec<&crate::evaluate::CodeScore> = c.by_code.per_code.iter().filter(|s| s.support > 0).collect();
    scores.sort_by_key(|s| order.get(&s.code).copied().unwrap_or(usize::MAX));
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    let rows = scores
        .iter()
        .map(|s| {
            vec![
                s.code.clone(),
                codebook.get(&s.code).map_or(String::new(), |x| x.label.clone()),
                s.support.to_string(),
                // Nothing to divide when the run gave the code to none of the sample: left blank.
                if s.tp + s.fp == 0.0 { String::new() } else { pct(s.precision()) },
                pct(s.recall()),
                pct(s.f1()),
            ]
        })
        .collect();
    let r = &c.by_code;
    aggregate::TableData {
        name: CHECK_TABLE.into(),
        title: format!("Agreement with people: this run's codes against {} of its answers coded by hand, by code", c.compared),
        header: ["Code", "Sub-outcome or code", "Coded so by hand", "Precision", "Recall", "F1"].map(String::from).to_vec(),
        rows,
        notes: vec![
            if r.weighted {
                "Precision: of the answers this run gave the code, the share people would code so too. Recall: of \
                 those people would code so, the share this run gave the code. F1: the harmonic mean of the two. \
                 The sample was drawn per code, so each sampled answer is weighted by how many of the run's answers \
                 it stands for; \"Coded so by hand\" counts sampled answers, unweighted."
                    .into()
            } else {
                "Precision: of the sampled answers this run gave the code, the share people coded so too. Recall: of \
                 those people coded so, the share this run gave the code. F1: the harmonic mean of the two."
                    .into()
            },
            format!(
                "All codes: micro-F1 {:.2} (95% CI {:.2} to {:.2}); macro-F1 {:.2} over the {} codes shown, a rough guide \
                 from a small sample. Kappa per code: agreement.csv.",
                r.micro_f1,
                r.micro_ci.0,
                r.micro_ci.1,
                r.macro_f1,
                scores.len()
            ),
        ],
    }
}

/// A figure for run.json, to four decimals.
fn round4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

/// An agreement report's headline figures, for run.json.
fn agreement_json(r: &crate::evaluate::Report) -> serde_json::Value {
    json!({
        "micro_f1": round4(r.micro_f1), "micro_f1_ci95": [round4(r.micro_ci.0), round4(r.micro_ci.1)],
        "macro_f1": round4(r.macro_f1), "macro_f1_ci95": [round4(r.macro_ci.0), round4(r.macro_ci.1)],
        "exact_match": round4(r.exact_match), "codes": r.per_code.len(),
    })
}

/// The methods note's paragraph on tone: which model read it, and how often it agreed with
/// people on rated answers it had not learnt from (the held-out figures its metadata records).
fn tone_method_line(model: &sentiment::Model) -> String {
    let (what, meta) = match model {
        sentiment::Model::Tuned(m) => (
            "a copy of the language model fine-tuned on rated answers (NHS Friends and Family Test answers with \
             their grades, consultation-style statements and manifesto sentences labelled for tone, review \
             sentences), reading the question and the answer together",
            &m.meta,
        ),
        sentiment::Model::Head(h) => (
            "a simple classifier over the sentence embeddings of the answer and its question, trained on rated \
             answers (the fallback when the fine-tuned model has not been built; less accurate)",
            &h.meta,
        ),
    };
    let m = &meta["metrics"];
    let pct = |k: &str| m[k].as_f64().map(|v| format!("{:.1}%", 100.0 * v));
    let n = |k: &str| m[k].as_u64();
    let mut agreed = Vec::new();
    if let (Some(a), Some(total)) = (pct("fft_5class_accuracy"), n("fft_test_n")) {
        let three = pct("fft_3class_accuracy").map(|b| format!("; {b} as positive, neutral or negative")).unwrap_or_default();
        agreed.push(format!("the grade human coders gave {a} of {total} NHS patient comments (five grades{three})"));
    }
    if let (Some(a), Some(total)) = (pct("consultation_tone_accuracy"), n("consultation_tone_test_n")) {
        agreed.push(format!("the tone given by hand to {a} of {total} consultation-style statements"));
    }
    let figures = if agreed.is_empty() {
        " No held-out figures are recorded for it.".to_string()
    } else {
        let copy = if meta["training"]["all_folds"] == true {
            " (measured on a copy trained the same way with these answers held out; the model used learnt from them too)"
        } else {
            ""
        };
        let neutral = match (pct("neutral_statements_kept_neutral"), n("neutral_statements_test_n")) {
            (Some(v), Some(total)) => format!(", and it read {v} of {total} plain suggestions as neutral"),
            _ => String::new(),
        };
        format!(" Checked on rated answers it had not learnt from, it agreed with {}{neutral}{copy}.", agreed.join(" and with "))
    };
    format!(
        "How tone was read. Each answer's tone (positive, neutral, negative or mixed) and its score from -1 to 1 \
         were read by {what}.{figures} An answer that names a current problem counts as negative, a suggestion as \
         neutral. Praise worded as the denial of a fault (\"could not fault the staff\") is often read as mixed \
         or negative: check such answers in coded_responses.csv."
    )
}

/// rejected.csv: every rejected row with its line, the reason and its first field (written
/// even when empty, so a run's folder always says what was rejected).
fn write_rejected(path: &Path, table: &Table) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["line", "reason", "first_field"])?;
    for r in &table.rejected {
        w.write_record([r.line.to_string().as_str(), r.reason.as_str(), r.first_field.as_str()])?;
    }
    report::write_atomic(path, &w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)
}

/// What a folder written by `consult analyse` may hold; anything else makes a non-empty
/// `--out` suspect (someone else's files), and `analyse` refuses it without `--force`.
const OUR_OUTPUTS: &[&str] = &[RUN_MARKER, "coded_responses.csv", "summary.md", "run.json", "timings.json", "rejected.csv",
    "tables", "report.html", "tables.xlsx", "report.docx", "agreement.csv"];

/// Written into `--out` before anything else, so a folder left by an interrupted run is
/// known as consult's.
const RUN_MARKER: &str = ".consult-run";

/// Checks `--out` before any work: a folder (made if missing) that is empty or holds an
/// earlier run (its run.json says consult wrote it), never a folder that holds the input.
fn prepare_out_dir(out: &Path, input: &Path, force: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        bail!(InputError(format!("{}: --out must be a folder, and this is a file", out.display())));
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create the output folder", out.display()))?;
    let out_abs = out.canonicalize().with_context(|| format!("{}: cannot resolve", out.display()))?;
    if let Ok(input_abs) = input.canonicalize() {
        if input_abs.starts_with(&out_abs) {
            bail!(InputError(format!(
                "{}: the input is inside the --out folder {}; choose another output folder",
                input.display(),
                out.display()
            )));
        }
    }
    let marker = out.join(RUN_MARKER);
    let earlier_run = marker.is_file()
        || std::fs::read_to_string(out.join("run.json"))
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .is_some_and(|v| v.get("consult_version").is_some());
    let entries = std::fs::read_dir(out).with_context(|| format!("{}: cannot list", out.display()))?;
    for e in entries {
        let name = e?.file_name().to_string_lossy().into_owned();
        let ours = OUR_OUTPUTS.contains(&name.as_str()) || name.ends_with(".tmp~");
        if !(force || earlier_run && ours) {
            bail!(InputError(format!(
                "{}: the output folder already holds {name:?}, which is not from an earlier consult run; \
                 choose an empty folder or pass --force",
                out.display()
            )));
        }
    }
    report::write_atomic(&marker, concat!("consult ", env!("CARGO_PKG_VERSION"), "\n").as_bytes())
}

/// `consult inspect`: every column with its role, closed questions tabulated, row counts.
pub fn inspect(input: &Path, sheet: Option<&str>, header_rows: Option<usize>) -> Result<()> {
    let table = Table::open(input, &ReadOptions { sheet: sheet.map(String::from), header_rows })?;
    let roles = table.roles();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{}: {}; {} layout, {} header row{}; {} rows read ({} usable, {} rejected), {} columns",
        input.display(),
        table.format,
        table.platform.as_str(),
        table.header_rows,
        if table.header_rows == 1 { "" } else { "s" },
        table.rows_read(),
        table.rows.len(),
        table.rejected.len(),
        table.headers.len()
    )?;
    if table.repaired_cells > 0 {
        writeln!(out, "  mojibake repaired in {} cells (e.g. \"â€™\" read back as \"’\")", table.repaired_cells)?;
    }
    for r in &table.rejected {
        writeln!(out, "  rejected line {}: {}", r.line, r.reason)?;
    }
    writeln!(out)?;
    for (c, h) in table.headers.iter().enumerate() {
        let filled = table.values(c).filter(|v| !v.trim().is_empty()).count();
        writeln!(out, "{:>3}  {:<20}  {:>5} answered  {}", c + 1, roles[c].as_str(), filled, h)?;
        if !matches!(roles[c], Role::ClosedQuestion | Role::Attribute) {
            continue;
        }
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for v in table.values(c) {
            *counts.entry(v.trim()).or_default() += 1;
        }
        let mut list: Vec<(&str, usize)> = counts.into_iter().collect();
        // Most chosen first; "not answered" last.
        list.sort_by(|a, b| a.0.is_empty().cmp(&b.0.is_empty()).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)));
        for (v, n) in list {
            if v.is_empty() {
                writeln!(out, "{:>33} {:>5}  (not answered)", "", n)?;
            } else {
                let pct = 100.0 * n as f64 / filled.max(1) as f64;
                writeln!(out, "{:>33} {:>5}  {v} ({pct:.1}% of {filled})", "", n)?;
            }
        }
    }
    Ok(())
}

pub fn codebook(check: Option<&Path>, self_test: bool, examples: Option<&Path>, out: Option<&Path>, model: &ModelArgs) -> Result<()> {
    let cb = match check {
        Some(p) => {
            let cb = Codebook::load(p)?;
            let assignable = cb.assignable().len();
            println!(
                "{}: ok: {} codes ({} assignable), {} example statements, sha256 {}",
                p.display(),
                cb.codes.len(),
                assignable,
                cb.codes.iter().map(|c| c.examples.len()).sum::<usize>(),
                cb.sha256
            );
            // Its hand-coded examples beside it, which `analyse` would add, are checked too.
            let ex = Codebook::examples_path(Some(p));
            if ex.is_file() {
                let n = cb.clone().add_examples(&ex)?;
                println!("{}: ok: {n} hand-coded statements", ex.display());
            }
            cb
        }
        None if self_test => Codebook::default_plan()?,
        None => {
            print!("{}", crate::codebook::DEFAULT_TOML);
            return Ok(());
        }
    };
    if self_test {
        let encoder = load_encoder(model, None)?;
        let path = examples.map(Path::to_path_buf).unwrap_or_else(|| Codebook::examples_path(check));
        let mut with = cb.clone();
        let statements = if examples.is_some() || path.is_file() { Some(with.add_examples_read(&path)?) } else { None };
        let hand = statements.as_deref().map(|s| (&with, s));
        let report = crate::selftest::run(&cb, hand, &encoder, &Settings::default_settings())?;
        print!("{}", self_test_text(&cb, &report));
        if let Some(p) = out {
            write_self_test(p, &report)?;
        }
        if !report.hand_coded.is_empty() {
            let n = report.hand_coded.len();
            println!(
                "\nHand-coded statements ({}, {n}): each coded as an answer by the codebook and the other {} statements, \
                 and compared with its own codes, as `consult evaluate` compares (leave-one-out).\n",
                path.display(),
                n - 1
            );
            let (by_code, by_outcome) = crate::selftest::agreement(&report.hand_coded, &cb);
            print!("{}", crate::evaluate::report_text("code", &by_code));
            if let Some(o) = &by_outcome {
                print!("{}", crate::evaluate::report_text("outcome", o));
            }
        }
    }
    Ok(())
}

/// Every statement the self-test coded, as `consult codebook --self-test --out FILE` writes it.
fn write_self_test(path: &Path, report: &crate::selftest::Report) -> Result<()> {
    let given = |g: &[crate::classify::Assigned]| g.iter().map(|a| format!("{}={:.3}", a.code, a.score)).collect::<Vec<_>>().join(";");
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}: cannot write", path.display()))?;
    w.write_record(["source", "code", "text", "codes_given", "agrees"])?;
    for c in &report.coded {
        w.write_record(["codebook", &c.code, &c.text, &given(&c.given), if c.first() { "yes" } else { "no" }])?;
    }
    for h in &report.hand_coded {
        let same = h.given.iter().map(|a| a.code.as_str()).collect::<std::collections::BTreeSet<_>>()
            == h.codes.iter().map(String::as_str).collect();
        w.write_record(["hand-coded", &h.codes.join(";"), &h.text, &given(&h.given), if same { "yes" } else { "no" }])?;
    }
    w.flush().with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// The self-test's findings as `consult codebook --self-test` prints them.
fn self_test_text(cb: &Codebook, report: &crate::selftest::Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let coded = &report.coded;
    let _ = writeln!(
        out,
        "\nSelf-test of {} {}: each of its {} example statements coded as an answer, by the codebook less that statement \
         (its own text only; default zero-shot settings).\n",
        cb.name,
        cb.version,
        coded.len()
    );
    let _ = writeln!(out, "{:<12} {:>8} {:>16} {:>16}  most often coded first instead", "code", "examples", "own code first", "own code given");
    let pct = |n: usize, d: usize| 100.0 * n as f64 / d.max(1) as f64;
    let mut order: Vec<&str> = Vec::new();
    for c in coded {
        if !order.contains(&c.code.as_str()) {
            order.push(&c.code);
        }
    }
    for id in order {
        let of: Vec<_> = coded.iter().filter(|c| c.code == id).collect();
        let (first, given) = (of.iter().filter(|c| c.first()).count(), of.iter().filter(|c| c.given_own()).count());
        let mut instead: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for c in of.iter().filter(|c| !c.first()) {
            if let Some(a) = c.given.first() {
                *instead.entry(a.code.as_str()).or_default() += 1;
            }
        }
        let most = instead.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(String::new(), |(c, n)| format!("{c} ({n})"));
        let line = format!("{:<12} {:>8} {:>9} {:>5.0}% {:>9} {:>5.0}%  {most}", id, of.len(), first, pct(first, of.len()), given, pct(given, of.len()));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let (first, given) = (coded.iter().filter(|c| c.first()).count(), coded.iter().filter(|c| c.given_own()).count());
    let _ = writeln!(out, "{:<12} {:>8} {:>9} {:>5.1}% {:>9} {:>5.1}%", "all", coded.len(), first, pct(first, coded.len()), given, pct(given, coded.len()));
    let astray: Vec<_> = coded.iter().filter(|c| !c.first()).collect();
    if !astray.is_empty() {
        let _ = writeln!(
            out,
            "\nExample statements coded first as another code ({}). One that sits between two codes helps if people would code \
             such an answer as it is filed; one in the wrong code teaches the classifier the wrong meaning: move or reword it.",
            astray.len()
        );
        for c in astray {
            let given: Vec<String> = c
                .given
                .iter()
                .map(|a| if a.code == cb.fallback && a.score == 0.0 { format!("{} (no code reached the threshold)", a.code) } else { format!("{} {:.3}", a.code, a.score) })
                .collect();
            let own = match c.own_score {
                Some(s) if !c.given_own() => format!("; {} {s:.3}", c.code),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {:<10} -> {}{own}  \"{}\"", c.code, given.join(", "), c.text);
        }
    }
    if !report.close.is_empty() {
        let _ = writeln!(
            out,
            "\nPairs of one code's example statements that say nearly the same thing (cosine >= {:.2}; the second adds little) ({}):",
            crate::selftest::CLOSE,
            report.close.len()
        );
        for p in &report.close {
            let _ = writeln!(out, "  {:<10} {:.3}  \"{}\" / \"{}\"", p.code, p.cosine, p.a, p.b);
        }
    }
    out
}

pub fn embed(args: &EmbedArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.input).with_context(|| format!("{}: cannot read", args.input.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let t0 = Instant::now();
    let mut encoder = load_encoder(&args.model, None)?;
    encoder.token_budget = args.token_budget;
    encoder.max_batch = args.max_batch;
    let load = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let vecs = match args.unsorted_batch {
        Some(b) => {
            let mut v = Vec::new();
            for chunk in lines.chunks(b.max(1)) {
                v.extend(encoder.embed_in_order(chunk)?);
            }
            v
        }
        None => encoder.embed(&lines)?,
    };
    let secs = t1.elapsed().as_secs_f64();
    if let Some(out) = &args.out {
        let mut bytes = Vec::with_capacity(vecs.len() * 384 * 4);
        for v in &vecs {
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        std::fs::write(out, bytes)?;
    }
    let stats = json!({"texts": lines.len(), "load_seconds": load, "embed_seconds": secs, "texts_per_second": lines.len() as f64 / secs});
    println!("{stats}");
    Ok(())
}

/// `consult sentiment`: tone, score and grade probabilities of each text in one column.
/// Blank texts get an empty tone.
pub fn sentiment(args: &crate::cli::SentimentArgs) -> Result<()> {
    let table = Table::read(&args.input)?;
    let tc = table.column(&args.text)?;
    let ic = args.id.as_deref().map(|c| table.column(c)).transpose()?;
    let qc = args.question_col.as_deref().map(|c| table.column(c)).transpose()?;
    let rows: Vec<(String, String, String)> = table
        .rows
        .iter()
        .map(|r| {
            let id = ic.map(|c| r.fields[c].trim().to_string()).unwrap_or_else(|| r.line.to_string());
            let q = qc.map(|c| crate::normalise::tidy(&r.fields[c])).unwrap_or_else(|| args.question.clone());
            (id, crate::normalise::tidy(&r.fields[tc]), q)
        })
        .collect();
    let (model, _) = load_sentiment(args.sentiment_model.as_deref(), &args.model, None)?;
    // Distinct texts (answers and questions) once; (question, text) pairs as indices into them.
    let mut texts = crate::normalise::Distinct::new();
    let pairs: Vec<(usize, usize)> = rows.iter().filter(|r| !r.1.is_empty()).map(|r| (texts.id(r.2.as_str()), texts.id(r.1.as_str()))).collect();
    let texts = texts.into_items();
    let embs = if model.needs_embeddings() { load_encoder(&args.model, None)?.embed(&texts)? } else { Vec::new() };
    let mut probs = model.probs(&pairs, &texts, &embs)?.into_iter();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "tone", "score", "p1", "p2", "p3", "p4", "p5"])?;
    for (id, text, _) in &rows {
        if text.is_empty() {
            w.write_record([id.as_str(), "", "", "", "", "", "", ""])?;
            continue;
        }
        let p = Prediction::from_probs(probs.next().expect("one prediction per non-blank text"));
        let mut rec = vec![id.clone(), p.tone.as_str().to_string(), format!("{:.4}", p.score)];
        rec.extend(p.probs.iter().map(|v| format!("{v:.4}")));
        w.write_record(&rec)?;
    }
    report::write_atomic(&args.out, &w.into_inner().context("writing CSV")?)?;
    // Every row read is scored, blank or rejected, and the run says how many of each.
    for r in &table.rejected {
        eprintln!("consult sentiment: {}: line {}: rejected: {}", args.input.display(), r.line, r.reason);
    }
    let blank = rows.iter().filter(|r| r.1.is_empty()).count();
    eprintln!(
        "consult sentiment: {} rows read: {} scored, {blank} blank, {} rejected; wrote {}",
        table.rows_read(), rows.len() - blank, table.rejected.len(), args.out.display()
    );
    Ok(())
}
