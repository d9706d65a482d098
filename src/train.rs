//! `consult train-sentiment`: fits the sentiment head from human-labelled data.
//!
//! Data: NHS FFT answers with their question and a 1-5 grade (../shared/data/nhs_fft),
//! consultation-style statements with a tone (development labels in eval/dev, text read from
//! ../shared/data/polis), which teach that a plain suggestion is neutral, and review
//! sentences; for the fine-tuned model also our tone labels of manifesto sentences (mostly
//! proposals). Each item is put in one of five folds by a hash of its id; fold 0 is held out
//! and never trained on, and the held-out figures are written into the model's metadata.
//! The tuned model consult uses is then trained by the same recipe on every fold
//! (`--all-folds`) and carries its held-out sibling's figures. Same data, same weights.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::cli::TrainSentimentArgs;
use crate::commands::load_encoder;
use crate::input::Table;
use crate::model::{Encoder, Precision};
use crate::sentiment::{self, features, grade_to_3, train, Tone, TrainSettings, GRADES};
use crate::tune;

/// The folder, inside a `consult train` output folder, of the encoder fine-tuned on the sample.
pub const ENCODER_DIR: &str = "encoder";
/// Where the tuned sentiment model lives, under models/: the shipped one, trained on every
/// fold (`--all-folds`).
pub const TUNED_DIR: &str = "sentiment/tuned";
/// Its sibling of the same recipe with fold 0 held out, under models/: the model the held-out
/// figures are measured on.
pub const HELD_OUT_DIR: &str = "sentiment/tuned-heldout";

/// The question put to consultation-style statements.
pub const CONSULTATION_QUESTION: &str = "Do you have any comments on the draft plan?";
/// Open consultation questions, for fine-tuning: each consultation-style statement and review
/// sentence is put to one of them (by a hash of its id), so that the tuned model, which reads
/// the question's words, learns the tone of answers to open questions however they are worded,
/// not to one sentence.
pub const CONSULTATION_QUESTIONS: &[&str] = &[
    CONSULTATION_QUESTION,
    "Any comments?",
    "Do you have any other comments?",
    "Is there anything else you would like to tell us?",
    "What do you think of our proposals?",
    "Please tell us your views.",
    "Do you have any comments on this outcome?",
    "What are your views on the priorities in the plan?",
    "Is there anything you would like to add?",
];

/// Weight of a consultation-style statement relative to an FFT answer.
pub const CONSULTATION_WEIGHT: f32 = 3.0;

/// Where a training item comes from (figures are given per source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Fft,
    /// Consultation-style Polis statements (eval/dev/polis_labels.csv).
    Polis,
    /// Manifesto sentences, mostly proposals (eval/dev/manifesto_tone_labels.csv).
    Manifesto,
    Reviews,
    /// NHS FFT answers to the general questions, put a second time to an open consultation
    /// question (`--open-fft-weight`).
    FftOpen,
}

pub struct Item {
    pub source: Source,
    pub key: String,
    pub question: String,
    pub text: String,
    /// FFT grade 0..5 (0 = very positive).
    pub grade: usize,
    pub tone: Option<Tone>,
    pub weight: f32,
}

/// The fold (0-4) of an item, by an FNV-1a hash of its id.
pub fn fold_of(key: &str) -> u64 {
    fnv1a(key) % 5
}

/// FNV-1a, 64-bit: stable across platforms and versions.
fn fnv1a(key: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

pub fn read_fft(data: &Path) -> Result<Vec<Item>> {
    let path = data.join("nhs_fft/v6framework_dev.csv");
    let t = Table::read_whole(&path)?;
    let (id, q, a, s) = (t.column("Comment ID")?, t.column("FFT question")?, t.column("FFT answer")?, t.column("Comment sentiment")?);
    let mut items = Vec::new();
    for r in &t.rows {
        let grade: usize = match r.fields[s].trim().parse::<usize>() {
            Ok(g) if (1..=5).contains(&g) => g - 1,
            _ => continue,
        };
        let text = crate::normalise::tidy(&r.fields[a]);
        if text.is_empty() {
            continue;
        }
        items.push(Item {
            source: Source::Fft,
            key: r.fields[id].trim().to_string(),
            question: crate::normalise::tidy(&r.fields[q]),
            text,
            grade,
            tone: None,
            weight: 1.0,
        });
    }
    Ok(items)
}

/// Does an FFT question ask about the experience as a whole ("FFT Why?", the 111 service's
/// "particularly satisfied and/or dissatisfied with")? Answers to it read the same to any open
/// question; answers to "What could we do better?" or "What was good?" do not ("Nothing.").
fn general_fft_question(q: &str) -> bool {
    q.starts_with("FFT Why") || q.starts_with("Please describe any things about the 111 service")
}

/// The FFT answers to the general questions again, each put to the consultation question
/// (and so, fine-tuning, to one of the open questions), with their grade: patients' praise
/// and complaints in their own words ("Could not fault the staff"), which the consultation
/// statements, mostly suggestions, rarely hold. Same keys, so the same folds.
fn open_fft_items(fft: &[Item], weight: f32) -> Vec<Item> {
    fft.iter()
        .filter(|it| general_fft_question(&it.question))
        .map(|it| Item {
            source: Source::FftOpen,
            key: it.key.clone(),
            question: CONSULTATION_QUESTION.to_string(),
            text: it.text.clone(),
            grade: it.grade,
            tone: None,
            weight,
        })
        .collect()
}

/// The NHS FFT answers' theme codes (the one-hot columns after `Comment sentiment`), by
/// Comment ID: the auxiliary targets of `train-sentiment --tune-theme-weight`.
fn read_fft_themes(data: &Path) -> Result<HashMap<String, Vec<f32>>> {
    let t = Table::read_whole(&data.join("nhs_fft/v6framework_dev.csv"))?;
    let (id, s) = (t.column("Comment ID")?, t.column("Comment sentiment")?);
    Ok(t.rows
        .iter()
        .map(|r| (r.fields[id].trim().to_string(), r.fields[s + 1..].iter().map(|v| if v.trim() == "1" { 1.0 } else { 0.0 }).collect()))
        .collect())
}

pub fn read_polis(data: &Path, labels: &Path) -> Result<Vec<Item>> {
    let lt = Table::read_whole(labels)?;
    let (lf, li, ltone) = (lt.column("file")?, lt.column("comment_id")?, lt.column("tone")?);
    let mut texts: HashMap<(String, String), String> = HashMap::new();
    let files: std::collections::BTreeSet<String> = lt.values(lf).map(String::from).collect();
    for f in files {
        let t = Table::read_whole(&data.join("polis").join(&f))?;
        let (ci, cb) = (t.column("comment-id")?, t.column("comment-body")?);
        for r in &t.rows {
            texts.insert((f.clone(), r.fields[ci].trim().to_string()), crate::normalise::tidy(&r.fields[cb]));
        }
    }
    let mut items = Vec::new();
    for r in &lt.rows {
        let key = (r.fields[lf].clone(), r.fields[li].trim().to_string());
        let Some(text) = texts.get(&key) else {
            bail!("{}: line {}: no statement {} in {}", labels.display(), r.line, key.1, key.0);
        };
        let tone = parse_tone(r.fields[ltone].trim()).with_context(|| format!("{}: line {}, column tone", labels.display(), r.line))?;
        items.push(consultation_item(Source::Polis, format!("{}#{}", key.0, key.1), text.clone(), tone));
    }
    Ok(items)
}

fn parse_tone(s: &str) -> Result<Tone> {
    Ok(match s {
        "positive" => Tone::Positive,
        "neutral" => Tone::Neutral,
        "negative" => Tone::Negative,
        "mixed" => Tone::Mixed,
        other => bail!("unknown tone {other:?} (positive, neutral, negative or mixed)"),
    })
}

/// The grade (0-based) a tone is learnt as: positive -> grade 2, neutral and mixed -> grade 3,
/// negative -> grade 4.
fn tone_grade(tone: Tone) -> usize {
    match tone {
        Tone::Positive => 1,
        Tone::Neutral | Tone::Mixed => 2,
        Tone::Negative => 3,
    }
}

/// A consultation-style statement with our tone label, put to the consultation question, as
/// its tone's grade.
fn consultation_item(source: Source, key: String, text: String, tone: Tone) -> Item {
    Item { source, key, question: CONSULTATION_QUESTION.to_string(), text, grade: tone_grade(tone), tone: Some(tone), weight: CONSULTATION_WEIGHT }
}

/// Manifesto sentences with our tone labels (`file`, `row`: the 1-based data row of
/// ../shared/data/manifestos/<file>, `tone`). Mostly proposals ("Extend networks of public
/// transport to include rural areas."): plain suggestions in many wordings, which are
/// neutral, beside the complaints and claims of success among them.
pub fn read_manifesto_tones(data: &Path, labels: &Path) -> Result<Vec<Item>> {
    let lt = Table::read_whole(labels)?;
    let (lf, lr, ltone) = (lt.column("file")?, lt.column("row")?, lt.column("tone")?);
    let mut tables: HashMap<String, Table> = HashMap::new();
    let mut items = Vec::new();
    for r in &lt.rows {
        let file = r.fields[lf].trim().to_string();
        if !tables.contains_key(&file) {
            tables.insert(file.clone(), Table::read_whole(&data.join("manifestos").join(&file))?);
        }
        let t = &tables[&file];
        let col = t.column("text").or_else(|_| t.column("content"))?;
        let row: usize = r.fields[lr].trim().parse().with_context(|| format!("{}: line {}, column row: not a number", labels.display(), r.line))?;
        let Some(src) = row.checked_sub(1).and_then(|i| t.rows.get(i)) else {
            bail!("{}: line {}, column row: {file} has no data row {row}", labels.display(), r.line);
        };
        let tone = parse_tone(r.fields[ltone].trim()).with_context(|| format!("{}: line {}, column tone", labels.display(), r.line))?;
        items.push(consultation_item(Source::Manifesto, format!("{file}#{row}"), crate::normalise::tidy(&src.fields[col]), tone));
    }
    Ok(items)
}

/// Short product and restaurant review sentences (Kotzias et al., binary), put to the
/// consultation question: they teach that, to an open "any comments?" question, praise is
/// positive and complaint negative, next to the consultation statements' neutral suggestions.
pub const REVIEW_FILES: &[&str] = &["kotzias_reviews_amazon_cells.csv", "kotzias_reviews_yelp.csv"];

pub fn read_reviews(data: &Path) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    for f in REVIEW_FILES {
        let path = data.join("sentiment/sentimentr").join(f);
        let t = Table::read_whole(&path)?;
        let (s, x) = (t.column("sentiment")?, t.column("text")?);
        for r in &t.rows {
            let (grade, tone) = match r.fields[s].trim() {
                "1" | "1.0" => (1, Tone::Positive),
                "-1" | "-1.0" => (3, Tone::Negative),
                _ => continue,
            };
            let text = crate::normalise::tidy(&r.fields[x]);
            if text.is_empty() {
                continue;
            }
            items.push(Item {
                source: Source::Reviews,
                key: format!("{f}#{}", r.line),
                question: CONSULTATION_QUESTION.to_string(),
                text,
                grade,
                tone: Some(tone),
                weight: 1.0,
            });
        }
    }
    Ok(items)
}

/// Embeds (answer, question) pairs (each distinct text once) into head features.
pub fn featurise(pairs: &[(&str, &str)], encoder: &dyn Encoder) -> Result<Vec<Vec<f32>>> {
    let mut texts = crate::normalise::Distinct::new();
    let ids: Vec<(usize, usize)> = pairs.iter().map(|&(t, q)| (texts.id(t), texts.id(q))).collect();
    let embs = encoder.embed(&texts.items)?;
    Ok(ids.iter().map(|&(t, q)| features(&embs[t], &embs[q])).collect())
}

fn argmax(p: &[f32]) -> usize {
    (0..p.len()).max_by(|&i, &j| p[i].total_cmp(&p[j]).then(j.cmp(&i))).unwrap()
}

/// Accuracy and macro-F1 of predicted vs true class indices.
pub fn accuracy_macro_f1(pred: &[usize], truth: &[usize], classes: usize) -> (f64, f64) {
    let n = pred.len().max(1);
    let acc = pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / n as f64;
    let mut f1s = Vec::new();
    for c in 0..classes {
        let tp = pred.iter().zip(truth).filter(|(p, t)| **p == c && **t == c).count();
        let fp = pred.iter().zip(truth).filter(|(p, t)| **p == c && **t != c).count();
        let fn_ = pred.iter().zip(truth).filter(|(p, t)| **p != c && **t == c).count();
        if tp + fn_ > 0 {
            f1s.push(if tp == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64 });
        }
    }
    (acc, f1s.iter().sum::<f64>() / f1s.len().max(1) as f64)
}

pub fn train_sentiment(args: &TrainSentimentArgs) -> Result<()> {
    if args.dev_fold.is_some() && args.out.is_none() {
        bail!("--dev-fold writes a development model: give it an --out folder away from models/");
    }
    // Trained on every fold: the figures are the held-out sibling's, checked before anything
    // else is read.
    let sibling = if args.all_folds { Some(held_out_sibling(args, &tune_recipe(args)?)?) } else { None };
    if args.tune && args.if_stale {
        let out = args.out.clone().unwrap_or_else(|| crate::models_root().join(TUNED_DIR));
        let meta = read_meta(&out);
        let recipe = tune_recipe(args)?;
        // A model whose meta.json predates the open-question praise figures (fourteenth
        // session) is retrained too, so every model carries today's held-out figures.
        // A model trained on every fold is stale too when its held-out sibling has changed.
        let current = meta.as_ref().is_some_and(|m| {
            m["command"] == recipe["command"] && m["labels_sha256"] == recipe["labels_sha256"] && m["metrics"]["open_fft_test_n"].is_u64()
                && sibling.as_ref().is_none_or(|(_, s)| m["held_out_model"]["weights_sha256"] == s["weights_sha256"])
        });
        if current && out.join(tune::WEIGHTS).is_file() {
            eprintln!("train-sentiment: {} is up to date (same command and label files)", out.display());
            return Ok(());
        }
        eprintln!("train-sentiment: {} is missing or was trained otherwise; training it", out.display());
    }
    let mut items = read_fft(&args.data).context("reading NHS FFT data")?;
    // Scored whatever the weight (so every model is measured on them), trained on when > 0.
    let open_fft = if args.tune { open_fft_items(&items, args.open_fft_weight) } else { Vec::new() };
    let consultation = |it: Item| Item { weight: args.consultation_weight, ..it };
    items.extend(read_polis(&args.data, &args.polis_labels).context("reading consultation-style tone labels")?.into_iter().map(consultation));
    // The frozen head is trained without the manifesto sentences (they came with the tuned
    // model), so the committed head.json stays what it was.
    if args.tune && !args.manifesto_labels.as_os_str().is_empty() {
        items.extend(read_manifesto_tones(&args.data, &args.manifesto_labels).context("reading manifesto tone labels")?.into_iter().map(consultation));
    }
    items.extend(read_reviews(&args.data).context("reading review sentences")?.into_iter().map(|it| Item { weight: args.review_weight, ..it }));
    items.extend(open_fft);
    let n = |s: Source| items.iter().filter(|it| it.source == s).count();
    eprintln!(
        "train-sentiment: {} FFT answers, {} consultation-style statements, {} manifesto sentences, {} review sentences",
        n(Source::Fft), n(Source::Polis), n(Source::Manifesto), n(Source::Reviews)
    );
    // Scored: fold 0 (held out), or the development fold; trained on: the rest, never fold 0;
    // or, with --all-folds, trained on everything and scored on nothing.
    let scored = args.dev_fold.unwrap_or(0);
    let test: Vec<bool> = items.iter().map(|it| !args.all_folds && fold_of(&it.key) == scored).collect();
    let train_on: Vec<bool> = items
        .iter()
        .map(|it| (args.all_folds || ![0, scored].contains(&fold_of(&it.key))) && it.weight > 0.0)
        .collect();
    if args.tune {
        return tune_sentiment(args, &items, &test, &train_on, sibling);
    }
    let encoder = load_encoder(&args.model, Some(Precision::Fp32))?;
    let t0 = std::time::Instant::now();
    let pairs: Vec<(&str, &str)> = items.iter().map(|it| (it.text.as_str(), it.question.as_str())).collect();
    let x = featurise(&pairs, &encoder)?;
    eprintln!("train-sentiment: embedded in {:.1}s", t0.elapsed().as_secs_f64());
    let tr: Vec<usize> = (0..items.len()).filter(|&i| train_on[i]).collect();
    let settings = TrainSettings { epochs: args.epochs, learning_rate: 0.01, l2: 2e-4 };
    let t1 = std::time::Instant::now();
    let xs: Vec<Vec<f32>> = tr.iter().map(|&i| x[i].clone()).collect();
    let ys: Vec<usize> = tr.iter().map(|&i| items[i].grade).collect();
    let ws: Vec<f32> = tr.iter().map(|&i| items[i].weight).collect();
    let mut head = train(&xs, &ys, &ws, &settings);
    let train_seconds = t1.elapsed().as_secs_f64();
    // Rounded weights keep the file small and diff-able; figures below use the rounded head.
    let round = |v: &f32| (v * 1e5).round() / 1e5;
    head.weights = head.weights.iter().map(|w| w.iter().map(round).collect()).collect();
    head.bias = head.bias.iter().map(round).collect();

    let probs: Vec<[f32; GRADES]> = (0..items.len()).map(|i| if test[i] { head.probs(&x[i]) } else { [0.0; GRADES] }).collect();
    let metrics = held_out_metrics(&items, &test, &probs, scored);
    write_probs(args.probs_out.as_deref(), &items, &test, &probs)?;
    let training = source_counts(&items, &tr);
    head.meta = json!({
        "command": format!("consult train-sentiment --epochs {}", args.epochs),
        "model": encoder.info().name,
        "features": "[answer, question, answer*question] sentence embeddings",
        "classes": "FFT grades 1 very positive .. 5 very negative",
        "training": merge(training, json!({"epochs": settings.epochs, "learning_rate": settings.learning_rate, "l2": settings.l2,
                                          "consultation_weight": args.consultation_weight})),
        "metrics": metrics,
    });
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("models/sentiment/head.json"));
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&out, serde_json::to_string(&head)?)?;
    println!("{}", serde_json::to_string_pretty(&metrics)?);
    eprintln!("train-sentiment: wrote {} ({:.1}s training)", out.display(), train_seconds);
    Ok(())
}

/// With `--probs-out`: the scored items' grade probabilities as CSV.
fn write_probs(out: Option<&Path>, items: &[Item], test: &[bool], probs: &[[f32; GRADES]]) -> Result<()> {
    let Some(out) = out else { return Ok(()) };
    let mut w = csv::Writer::from_path(out).with_context(|| format!("writing {}", out.display()))?;
    w.write_record(["key", "source", "grade", "p1", "p2", "p3", "p4", "p5"])?;
    for i in (0..items.len()).filter(|&i| test[i]) {
        let mut rec = vec![items[i].key.clone(), format!("{:?}", items[i].source), (items[i].grade + 1).to_string()];
        rec.extend(probs[i].iter().map(|p| format!("{p:.6}")));
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// How many of the items `idx` come from each source, for the metadata.
fn source_counts(items: &[Item], idx: &[usize]) -> serde_json::Value {
    let n = |s: Source| idx.iter().filter(|&&i| items[i].source == s).count();
    json!({"fft_items": n(Source::Fft), "consultation_items": n(Source::Polis),
           "manifesto_items": n(Source::Manifesto), "review_items": n(Source::Reviews), "open_fft_items": n(Source::FftOpen)})
}

/// `a` with `b`'s fields added (both JSON objects).
fn merge(mut a: serde_json::Value, b: serde_json::Value) -> serde_json::Value {
    if let (Some(a), serde_json::Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// Figures on the held-out fold (`test`), from each held-out item's grade probabilities:
/// FFT 5-class and 3-class accuracy and macro-F1, the tone of consultation-style statements
/// and manifesto sentences (and how many of their neutral ones stay neutral), review sentences.
fn held_out_metrics(items: &[Item], test: &[bool], probs: &[[f32; GRADES]], fold: u64) -> serde_json::Value {
    let held = |s: Source| -> Vec<usize> { (0..items.len()).filter(|&i| test[i] && items[i].source == s).collect() };
    let fft_test = held(Source::Fft);
    let pred5: Vec<usize> = fft_test.iter().map(|&i| argmax(&probs[i])).collect();
    let true5: Vec<usize> = fft_test.iter().map(|&i| items[i].grade).collect();
    let (acc5, f5) = accuracy_macro_f1(&pred5, &true5, GRADES);
    let pred3: Vec<usize> = fft_test.iter().map(|&i| {
        let p = &probs[i];
        argmax(&[p[0] + p[1], p[2], p[3] + p[4]])
    }).collect();
    let true3: Vec<usize> = true5.iter().map(|&g| grade_to_3(g)).collect();
    let (acc3, f3) = accuracy_macro_f1(&pred3, &true3, 3);
    let tones = |held: &[usize]| -> (usize, f64, f64) {
        let pred: Vec<usize> = held.iter().map(|&i| sentiment::tone_of(&probs[i]).index()).collect();
        let truth: Vec<usize> = held.iter().map(|&i| items[i].tone.expect("a tone label").index()).collect();
        let (acc, f1) = accuracy_macro_f1(&pred, &truth, 4);
        (held.len(), acc, f1)
    };
    let (polis, manifesto) = (held(Source::Polis), held(Source::Manifesto));
    let (n_t, acc_t, f_t) = tones(&polis);
    let (n_m, acc_m, f_m) = tones(&manifesto);
    let (n_r, acc_r, _) = tones(&held(Source::Reviews));
    // Plain suggestions (neutral statements of either consultation-style set) read as neutral.
    let neutral: Vec<usize> = polis.iter().chain(&manifesto).copied().filter(|&i| items[i].tone == Some(Tone::Neutral)).collect();
    let kept = neutral.iter().filter(|&&i| sentiment::tone_of(&probs[i]) == Tone::Neutral).count();
    // FFT answers to the general questions, put to an open consultation question: read as
    // positive / neutral or mixed / negative, against their grade's three-way reading.
    let open = held(Source::FftOpen);
    let open_right =
        open.iter().filter(|&&i| grade_to_3(tone_grade(sentiment::tone_of(&probs[i]))) == grade_to_3(items[i].grade)).count();
    let praise: Vec<usize> = open.iter().copied().filter(|&i| items[i].grade <= 1).collect();
    let praise_right = praise.iter().filter(|&&i| sentiment::tone_of(&probs[i]) == Tone::Positive).count();
    json!({
        "held_out": if fold == 0 {
            "fold 0 of 5 (FNV-1a hash of the item id), never trained on".to_string()
        } else {
            format!("development fold {fold} of 5 (FNV-1a hash of the item id); trained on the folds other than 0 and {fold}")
        },
        "fft_test_n": fft_test.len(),
        "fft_5class_accuracy": acc5, "fft_5class_macro_f1": f5,
        "fft_3class_accuracy": acc3, "fft_3class_macro_f1": f3,
        "consultation_tone_test_n": n_t,
        "consultation_tone_accuracy": acc_t, "consultation_tone_macro_f1": f_t,
        "manifesto_tone_test_n": n_m,
        "manifesto_tone_accuracy": acc_m, "manifesto_tone_macro_f1": f_m,
        "neutral_statements_test_n": neutral.len(),
        "neutral_statements_kept_neutral": kept as f64 / neutral.len().max(1) as f64,
        "review_sentences_test_n": n_r, "review_sentences_accuracy": acc_r,
        "open_fft_test_n": open.len(), "open_fft_3way_accuracy": open_right as f64 / open.len().max(1) as f64,
        "open_fft_praise_read_positive": praise_right as f64 / praise.len().max(1) as f64,
    })
}

/// What a tuned model is made from, as its meta.json records it: the command's settings and
/// the checksums of our label files (`--if-stale` compares both).
fn tune_recipe(args: &TrainSentimentArgs) -> Result<serde_json::Value> {
    let sha = |p: &Path| -> Result<serde_json::Value> {
        Ok(if p.as_os_str().is_empty() { serde_json::Value::Null } else { crate::model::file_sha256(p)?.into() })
    };
    // Options added after models were shipped are named only away from their defaults, so a
    // model made before them stays up to date.
    let d = tune::Settings::default();
    let away = |flag: &str, value: String, is_default: bool| if is_default { String::new() } else { format!(" --{flag} {value}") };
    Ok(json!({
        "command": format!("consult train-sentiment --tune --tune-epochs {} --label-smoothing {} --review-weight {}{}", args.tune_epochs, args.label_smoothing, args.review_weight,
                           args.dev_fold.map_or(String::new(), |k| format!(" --dev-fold {k}"))
                           + if args.all_folds { " --all-folds" } else { "" }
                           + &away("seed", args.seed.to_string(), args.seed == d.seed)
                           + &away("tune-frozen-layers", args.tune_frozen_layers.to_string(), args.tune_frozen_layers == d.frozen_layers)
                           + &away("tune-learning-rate", args.tune_learning_rate.to_string(), args.tune_learning_rate == d.encoder_learning_rate)
                           + &away("tune-theme-weight", args.tune_theme_weight.to_string(), args.tune_theme_weight == d.theme_weight)
                           + &away("tune-rdrop", args.tune_rdrop.to_string(), args.tune_rdrop == d.rdrop)
                           + &away("tune-word-weight", args.tune_word_weight.to_string(), args.tune_word_weight == 0.0)
                           + &away("open-fft-weight", args.open_fft_weight.to_string(), args.open_fft_weight == 0.0)
                           + &away("consultation-weight", args.consultation_weight.to_string(), args.consultation_weight == CONSULTATION_WEIGHT)),
        "labels_sha256": {"polis": sha(&args.polis_labels)?, "manifesto": sha(&args.manifesto_labels)?},
    }))
}

/// `consult train-sentiment --tune`: fine-tunes the encoder with the grade head on the
/// training folds (crate::tune) and writes the model folder with its held-out figures.
fn tune_sentiment(
    args: &TrainSentimentArgs,
    items: &[Item],
    test: &[bool],
    train_on: &[bool],
    sibling: Option<(PathBuf, serde_json::Value)>,
) -> Result<()> {
    let base = crate::commands::model_dir(args.model.dir.as_deref())?;
    let out = args.out.clone().unwrap_or_else(|| crate::models_root().join(TUNED_DIR));
    let tr: Vec<usize> = (0..items.len()).filter(|&i| train_on[i]).collect();
    // Consultation-style items under varied open questions (held-out items too, so the
    // figures cover them).
    fn question(it: &Item) -> &str {
        if it.question == CONSULTATION_QUESTION {
            CONSULTATION_QUESTIONS[(fnv1a(&format!("{}#question", it.key)) % CONSULTATION_QUESTIONS.len() as u64) as usize]
        } else {
            &it.question
        }
    }
    if args.rescore {
        if read_meta(&out).is_some_and(|m| m["training"]["all_folds"] == true) {
            bail!("{}: this model learnt from every fold, so it has no held-out fold to score; rescore its held-out sibling ({})",
                  out.display(), crate::models_root().join(HELD_OUT_DIR).display());
        }
        fit_words(args, items, &tr, question, &out)?;
        let model = tune::TunedSentiment::load(&out, &base, Precision::Fp32, crate::model::default_workers())?;
        let probs = held_out_probs(&model, items, test, question)?;
        write_probs(args.probs_out.as_deref(), items, test, &probs)?;
        println!("{}", serde_json::to_string_pretty(&held_out_metrics(items, test, &probs, args.dev_fold.unwrap_or(0)))?);
        return Ok(());
    }
    let themes = if args.tune_theme_weight > 0.0 { read_fft_themes(&args.data)? } else { HashMap::new() };
    let examples: Vec<tune::Example> = tr
        .iter()
        .map(|&i| tune::Example {
            question: question(&items[i]),
            text: &items[i].text,
            grade: items[i].grade,
            weight: items[i].weight,
            themes: (items[i].source == Source::Fft).then(|| themes.get(&items[i].key).map(Vec::as_slice)).flatten(),
        })
        .collect();
    let settings = tune::Settings {
        epochs: args.tune_epochs,
        label_smoothing: args.label_smoothing,
        seed: args.seed,
        frozen_layers: args.tune_frozen_layers,
        encoder_learning_rate: args.tune_learning_rate,
        theme_weight: args.tune_theme_weight,
        rdrop: args.tune_rdrop,
        ..Default::default()
    };
    eprintln!("train-sentiment: fine-tuning {} on {} pairs, {} epochs", base.display(), examples.len(), settings.epochs);
    let t0 = std::time::Instant::now();
    // Write into a temporary folder first: a half-made model is never picked up.
    let tmp = out.with_extension("partial");
    let _ = std::fs::remove_dir_all(&tmp);
    tune::train(&base, &examples, &settings, &tmp, &|epoch, loss| {
        eprintln!("train-sentiment: epoch {epoch} mean loss {loss:.4} ({:.0}s)", t0.elapsed().as_secs_f64());
    })?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let words = fit_words(args, items, &tr, question, &tmp)?;
    let (metrics, held_out_model) = match &sibling {
        Some((dir, m)) => {
            // Named from the checkout's root (models/sentiment/tuned-heldout) where it lies
            // under it, so the metadata is the same in every clone.
            let root = crate::models_root();
            let shown = dir.strip_prefix(root.parent().unwrap_or(&root)).unwrap_or(dir).display().to_string();
            let mut metrics = m["metrics"].clone();
            metrics["held_out"] = json!(format!(
                "fold 0 of 5 (FNV-1a hash of the item id), measured on the same recipe trained without it ({shown}); this model learnt from every fold"));
            (metrics, json!({"path": shown, "weights_sha256": m["weights_sha256"]}))
        }
        None => {
            let model = tune::TunedSentiment::load(&tmp, &base, Precision::Fp32, crate::model::default_workers())?;
            let probs = held_out_probs(&model, items, test, question)?;
            write_probs(args.probs_out.as_deref(), items, test, &probs)?;
            (held_out_metrics(items, test, &probs, args.dev_fold.unwrap_or(0)), serde_json::Value::Null)
        }
    };
    let training = source_counts(items, &tr);
    let recipe = tune_recipe(args)?;
    let meta = json!({
        "command": recipe["command"],
        "labels_sha256": recipe["labels_sha256"],
        "consultation_questions": CONSULTATION_QUESTIONS,
        "base_model": crate::model::MODEL_NAME,
        "base_weights_sha256": crate::model::ModelInfo::read(&base, Precision::Fp32)?.weights_sha256,
        "weights_sha256": crate::model::file_sha256(&tmp.join(tune::WEIGHTS))?,
        "input": "[CLS] question [SEP] answer [SEP], at most 128 tokens, mean-pooled",
        "words": words,
        "classes": "FFT grades 1 very positive .. 5 very negative",
        "training": merge(training, json!({"consultation_weight": args.consultation_weight, "review_weight": args.review_weight,
                                          "all_folds": args.all_folds,
                                          "settings": settings, "seconds": train_seconds,
                                          "torch_threads": tch::get_num_threads()})),
        "metrics": metrics,
        "held_out_model": held_out_model,
    });
    std::fs::write(tmp.join(tune::META), serde_json::to_string_pretty(&meta)?)?;
    let _ = std::fs::remove_dir_all(&out);
    std::fs::rename(&tmp, &out).with_context(|| format!("moving the model into {}", out.display()))?;
    println!("{}", serde_json::to_string_pretty(&metrics)?);
    eprintln!("train-sentiment: wrote {} ({train_seconds:.0}s training)", out.display());
    Ok(())
}

/// A model folder's meta.json, when it is there and reads as JSON.
fn read_meta(dir: &Path) -> Option<serde_json::Value> {
    std::fs::read_to_string(dir.join(tune::META)).ok().and_then(|s| serde_json::from_str(&s).ok())
}

/// With `--all-folds`: the held-out sibling's folder and meta.json, which must record the same
/// recipe (the command without `--all-folds`, the same label files) and the held-out figures.
fn held_out_sibling(args: &TrainSentimentArgs, recipe: &serde_json::Value) -> Result<(PathBuf, serde_json::Value)> {
    let dir = args.held_out_model.clone().unwrap_or_else(|| crate::models_root().join(HELD_OUT_DIR));
    let path = dir.join(tune::META);
    let command = recipe["command"].as_str().unwrap_or_default().replace(" --all-folds", "");
    let train_it = format!("train it first: {command} --data {} --out {}", args.data.display(), dir.display());
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: --all-folds takes its held-out figures from the same recipe with fold 0 held out; {train_it}", path.display()))?;
    let m: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    if m["command"] != command.as_str() || m["labels_sha256"] != recipe["labels_sha256"] || !m["metrics"]["fft_test_n"].is_u64() {
        bail!("{}: made by `{}`, not by `{command}` with the same label files, so its figures are not this recipe's; {train_it}",
              path.display(), m["command"].as_str().unwrap_or("?"));
    }
    Ok((dir, m))
}

/// Fits the word model on the training items (`tr`) and writes it into the model folder
/// `dir` (`--tune-word-weight`; at 0 none, and any old one is removed). Returns what
/// meta.json records of it.
fn fit_words(args: &TrainSentimentArgs, items: &[Item], tr: &[usize], question: fn(&Item) -> &str, dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join(sentiment::WORDS_FILE);
    if args.tune_word_weight == 0.0 {
        let _ = std::fs::remove_file(&path);
        return Ok(serde_json::Value::Null);
    }
    let t0 = std::time::Instant::now();
    let texts: Vec<String> = tr.iter().map(|&i| crate::lexical::pair_text(&items[i].text, question(&items[i]))).collect();
    let y: Vec<usize> = tr.iter().map(|&i| items[i].grade).collect();
    let w: Vec<f32> = tr.iter().map(|&i| items[i].weight).collect();
    let mut m = sentiment::WordModel::fit(&texts, &y, &w, WORDS_C, args.tune_word_weight);
    m.meta["seconds"] = json!(t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(dir)?;
    std::fs::write(&path, serde_json::to_string(&m)?).with_context(|| format!("{}: cannot write", path.display()))?;
    eprintln!("train-sentiment: word model on {} texts, {} terms, blended at {} ({:.1}s)", texts.len(), m.lexicon.len(), m.blend, t0.elapsed().as_secs_f64());
    Ok(merge(json!({"file": sentiment::WORDS_FILE, "blend": m.blend,
                    "features": "TF-IDF of word 1-2 grams of answer and question (terms in at least 2 training texts)",
                    "model": "multinomial logistic regression, L2 as scikit-learn's C"}), m.meta))
}

/// scikit-learn's C of the word model's L2 penalty (as the ninth session's FFT-only word model).
const WORDS_C: f64 = 3.0;

/// The tuned model's grade probabilities of the scored items (`test`), zeros elsewhere.
fn held_out_probs(model: &tune::TunedSentiment, items: &[Item], test: &[bool], question: fn(&Item) -> &str) -> Result<Vec<[f32; GRADES]>> {
    let held: Vec<usize> = (0..items.len()).filter(|&i| test[i]).collect();
    let pairs: Vec<(&str, &str)> = held.iter().map(|&i| (question(&items[i]), items[i].text.as_str())).collect();
    let mut probs = vec![[0f32; GRADES]; items.len()];
    for (&i, p) in held.iter().zip(model.probs(&pairs)?) {
        probs[i] = p;
    }
    Ok(probs)
}

/// `consult train`: per-code heads from an officer-coded sample.
pub fn train_codes(args: &crate::cli::TrainArgs) -> Result<()> {
    use crate::codebook::Codebook;
    let t = Table::read_whole(&args.gold)?;
    let (tc, cc) = (t.column(&args.text_column)?, t.column(&args.codes_column)?);
    let qc = t.headers.iter().position(|h| h == &args.question_column);
    // Answers on the blank list ("Nothing", "N/A") are learnt from, and later coded, when the
    // sample gives most of them codes; else they are left out, as `analyse` leaves them.
    let mut texts = Vec::new();
    let mut gold: Vec<Vec<String>> = Vec::new();
    let mut listed: Vec<((String, String), Vec<String>)> = Vec::new();
    let mut empty = 0;
    for r in &t.rows {
        let text = crate::normalise::tidy(&r.fields[tc]);
        let q = qc.map(|c| crate::normalise::tidy(&r.fields[c])).filter(|q| !q.is_empty()).unwrap_or_else(|| args.question.clone());
        let codes: Vec<String> = r.fields[cc].split(';').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect();
        if crate::normalise::fold(&text).is_empty() {
            empty += 1;
        } else if crate::normalise::blank(&text).is_some() {
            listed.push(((text, q), codes));
        } else {
            texts.push((text, q));
            gold.push(codes);
        }
    }
    let listed_coded = listed.iter().filter(|(_, c)| !c.is_empty()).count();
    let code_blanks = listed_coded * 2 > listed.len();
    let skipped = empty + if code_blanks { 0 } else { listed.len() };
    if code_blanks {
        for (tq, c) in listed.iter().cloned() {
            texts.push(tq);
            gold.push(c);
        }
    }
    let mut found: Vec<String> = gold.iter().flatten().cloned().collect();
    found.sort();
    found.dedup();
    let codebook = match &args.codebook {
        Some(p) => Codebook::load(p)?,
        None => Codebook::from_codes(&format!("codes of {}", args.gold.display()), &found),
    };
    for c in &found {
        if codebook.get(c).is_none() {
            bail!("{}: code {c:?} is not in the codebook {}", args.gold.display(), codebook.source);
        }
    }
    // Learn every assignable code that has at least one example (the fallback excepted).
    let codes: Vec<String> = codebook
        .assignable()
        .iter()
        .map(|c| c.id.clone())
        .filter(|c| c != &codebook.fallback && found.contains(c))
        .collect();
    eprintln!(
        "train: {} coded answers ({} blank skipped; {} of {} answers on the blank list carry codes, so they are {}), {} codes",
        texts.len(),
        skipped,
        listed_coded,
        listed.len(),
        if code_blanks { "learnt and will be coded" } else { "left blank" },
        codes.len()
    );
    let pairs: Vec<(&str, &str)> = texts.iter().map(|(t, q)| (t.as_str(), q.as_str())).collect();
    // Fine-tune the encoder on the sample first (a sentence-model folder beside head.json,
    // written under a temporary name so a half-made one is never picked up).
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    let encoder_dir = args.out.join(ENCODER_DIR);
    let _ = std::fs::remove_dir_all(&encoder_dir);
    let t_tune = std::time::Instant::now();
    let small = texts.len() < args.tune_min_answers;
    let rounds = args.tune_contrastive.unwrap_or_else(|| tune::contrastive_rounds(texts.len(), args.tune_contrastive_budget));
    if args.tune_epochs > 0 && small && rounds == 0 {
        eprintln!(
            "train: {} coded answers, under --tune-min-answers {}: the heads read answers with the base model, not fine-tuned",
            texts.len(),
            args.tune_min_answers
        );
    }
    let mut contrastive_pairs = 0;
    let tuned = if args.tune_epochs > 0 && small && rounds > 0 {
        let base = crate::commands::model_dir(args.model.dir.as_deref())?;
        let answers: Vec<&str> = texts.iter().map(|(t, _)| t.as_str()).collect();
        let settings = tune::Settings {
            epochs: 1,
            encoder_learning_rate: 2e-5,
            // Every weight: leaving the embeddings and lowest layer as they were scored lower on
            // the development fold (micro / macro-F1 0.596 / 0.369 against 0.602 / 0.381).
            frozen_layers: 0,
            ..Default::default()
        };
        eprintln!(
            "train: {} coded answers, under --tune-min-answers {}: fine-tuning {} on contrastive pairs of them, {} rounds",
            texts.len(),
            args.tune_min_answers,
            base.display(),
            rounds
        );
        let tmp = args.out.join(format!("{ENCODER_DIR}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        contrastive_pairs =
            tune::train_encoder_contrastive(&base, &answers, &gold, rounds, &settings, &tmp, &|_, loss| {
                eprintln!("train: contrastive pairs learnt, mean loss {loss:.4} ({:.0}s)", t_tune.elapsed().as_secs_f64());
            })?;
        std::fs::rename(&tmp, &encoder_dir).with_context(|| format!("moving the tuned encoder into {}", encoder_dir.display()))?;
        Some(settings)
    } else if args.tune_epochs > 0 && !small {
        let base = crate::commands::model_dir(args.model.dir.as_deref())?;
        let targets: Vec<Vec<f32>> =
            gold.iter().map(|g| codes.iter().map(|c| if g.contains(c) { 1.0 } else { 0.0 }).collect()).collect();
        let qa: Vec<(&str, &str)> = texts.iter().map(|(t, q)| (q.as_str(), t.as_str())).collect();
        let mut settings = tune::Settings { epochs: args.tune_epochs, frozen_layers: args.tune_frozen_layers, ..Default::default() };
        let epochs = settings.within_budget(qa.len(), args.tune_budget);
        eprintln!(
            "train: fine-tuning {} on {} answers and {} codes, {}",
            base.display(),
            qa.len(),
            codes.len(),
            match settings.max_steps {
                Some(steps) => format!(
                    "{epochs:.2} epochs ({steps} steps: --tune-budget {} answer-epochs over {} answers)",
                    args.tune_budget,
                    qa.len()
                ),
                None => format!("{} epochs", settings.epochs),
            }
        );
        let tmp = args.out.join(format!("{ENCODER_DIR}.partial"));
        let _ = std::fs::remove_dir_all(&tmp);
        tune::train_encoder(&base, &qa, &targets, &settings, &tmp, &|epoch, loss| {
            eprintln!("train: epoch {epoch} mean loss {loss:.4} ({:.0}s)", t_tune.elapsed().as_secs_f64());
        })?;
        std::fs::rename(&tmp, &encoder_dir).with_context(|| format!("moving the tuned encoder into {}", encoder_dir.display()))?;
        Some(settings)
    } else {
        None
    };
    let tune_seconds = t_tune.elapsed().as_secs_f64();
    let encoder = match &tuned {
        Some(_) => crate::model::MiniLm::load(&encoder_dir, Precision::Fp32)?,
        None => load_encoder(&args.model, Some(Precision::Fp32))?,
    };
    let t0 = std::time::Instant::now();
    let x = featurise(&pairs, &encoder)?;
    let embed_seconds = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let settings = crate::heads::FitSettings { epochs: args.epochs, l2: args.l2, ..Default::default() };
    let joined: Vec<String> = texts.iter().map(|(t, q)| crate::lexical::pair_text(t, q)).collect();
    let lexicon = (!args.no_words).then(|| crate::lexical::Tfidf::fit(&joined, 2));
    let lex: Vec<crate::lexical::Sparse> = match &lexicon {
        Some(l) => joined.iter().map(|j| l.transform(j)).collect(),
        None => Vec::new(),
    };
    let terms = lexicon.as_ref().map_or(0, |l| l.len());
    let mut head = crate::heads::train(&x, &lex, lexicon, &gold, &codes, &settings)?;
    head.code_blanks = code_blanks;
    head.encoder = tuned.is_some().then(|| ENCODER_DIR.to_string());
    let train_seconds = t1.elapsed().as_secs_f64();
    head.meta = json!({
        "gold": args.gold.display().to_string(),
        "examples": pairs.len(),
        "codebook": {"name": codebook.name, "sha256": codebook.sha256},
        "model": encoder.info().name,
        "encoder": match &tuned {
            Some(settings) if contrastive_pairs > 0 => json!({
                "fine_tuned": true,
                "folder": ENCODER_DIR,
                "weights_sha256": encoder.info().weights_sha256,
                "input": format!(
                    "each answer alone, at most 128 tokens, mean-pooled and normalised; SetFit-style contrastive pairs \
                     ({rounds} rounds{}: each answer with one that shares a code, cosine 1, and one that shares none, cosine 0; \
                     {contrastive_pairs} pairs), mean squared error, one pass",
                    match args.tune_contrastive {
                        Some(_) => String::new(),
                        None => format!(", a budget of {} answer-rounds over {} answers", args.tune_contrastive_budget, texts.len()),
                    }
                ),
                "settings": settings,
                "seconds": tune_seconds,
            }),
            Some(settings) => json!({
                "fine_tuned": true,
                "folder": ENCODER_DIR,
                "weights_sha256": encoder.info().weights_sha256,
                "input": "[CLS] question [SEP] answer [SEP], at most 128 tokens, mean-pooled; one sigmoid per code, binary cross-entropy",
                "settings": settings,
                "budget_answer_epochs": args.tune_budget,
                "seconds": tune_seconds,
            }),
            None => json!({"fine_tuned": false, "why": if args.tune_epochs == 0 {
                "--tune-epochs 0".to_string()
            } else {
                format!("{} coded answers, under --tune-min-answers {}", texts.len(), args.tune_min_answers)
            }}),
        },
        "features": if terms > 0 {
            format!("[answer, question, answer*question] sentence embeddings and TF-IDF of {terms} word 1-2 grams (in at least 2 answers) of answer and question")
        } else {
            "[answer, question, answer*question] sentence embeddings".to_string()
        },
        "blank_list_answers": {"in_sample": listed.len(), "coded_in_sample": listed_coded, "coded": code_blanks},
        "epochs": settings.epochs, "learning_rate": settings.learning_rate, "l2": settings.l2,
        "thresholds": format!("per code, best F1 on 3-fold out-of-fold probabilities, raised to at least {} (the floor chosen with the rule)", head.threshold_floor),
        "rule": format!(
            "{}; chosen for the best mean of micro- and macro-F1 on the same out-of-fold probabilities",
            head.rule.describe()
        ),
    });
    std::fs::write(args.out.join("head.json"), serde_json::to_string(&head)?)?;
    if args.codebook.is_none() {
        std::fs::write(args.out.join("codebook.toml"), codebook.to_toml())?;
    }
    eprintln!(
        "train: wrote {} (fine-tuning {:.1}s, embedding {:.1}s, training {:.1}s; rule: {})",
        args.out.join("head.json").display(),
        tune_seconds,
        embed_seconds,
        train_seconds,
        head.rule.describe()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn args(extra: &[&str]) -> TrainSentimentArgs {
        let argv = ["consult", "train-sentiment", "--tune"].iter().chain(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::TrainSentiment(a) => a,
            _ => unreachable!(),
        }
    }

    /// The recipe `--if-stale` compares: the default command is the one the shipped model was
    /// made with (a new option with its default must not force a retrain), and a setting away
    /// from its default is named.
    #[test]
    fn recipe_names_only_settings_away_from_their_defaults() {
        let cmd = |extra: &[&str]| tune_recipe(&args(extra)).unwrap()["command"].as_str().unwrap().to_string();
        assert_eq!(cmd(&[]), "consult train-sentiment --tune --tune-epochs 3 --label-smoothing 0 --review-weight 1");
        assert_eq!(
            cmd(&["--tune-frozen-layers", "1", "--seed", "2", "--dev-fold", "1", "--tune-learning-rate", "8e-5", "--tune-theme-weight", "0"]),
            "consult train-sentiment --tune --tune-epochs 3 --label-smoothing 0 --review-weight 1 --dev-fold 1 --seed 2 --tune-frozen-layers 1 --tune-learning-rate 0.00008"
        );
        assert!(cmd(&["--tune-theme-weight", "0.5"]).ends_with(" --tune-theme-weight 0.5"));
        assert!(cmd(&["--tune-word-weight", "0"]).ends_with(" --review-weight 1"));
        assert!(cmd(&["--tune-word-weight", "0.3"]).ends_with(" --tune-word-weight 0.3"));
        assert!(Cli::try_parse_from(["consult", "train-sentiment", "--tune", "--tune-word-weight", "1.5"]).is_err());
        assert!(cmd(&["--open-fft-weight", "0.3"]).ends_with(" --open-fft-weight 0.3"));
        assert!(cmd(&["--consultation-weight", "3"]).ends_with(" --review-weight 1"));
        assert!(cmd(&["--open-fft-weight", "0.3", "--consultation-weight", "6"]).ends_with(" --open-fft-weight 0.3 --consultation-weight 6"));
    }

    /// Only answers to the general FFT questions are put to the open questions, with their
    /// grade and their own key (so the same fold as the answer under its own question).
    #[test]
    fn open_fft_items_are_the_general_answers_again() {
        let item = |key: &str, question: &str, grade| Item {
            source: Source::Fft,
            key: key.into(),
            question: question.into(),
            text: format!("answer {key}"),
            grade,
            tone: None,
            weight: 1.0,
        };
        let fft = [
            item("a", "FFT Why?", 0),
            item("b", "What could we do better?", 0),
            item("c", "Please describe any things about the 111 service that you were particularly satisfied and/or dissatisfied with", 4),
            item("d", "What was good?", 4),
        ];
        let open = open_fft_items(&fft, 0.3);
        let got: Vec<(&str, &str, usize, f32)> = open.iter().map(|it| (it.key.as_str(), it.question.as_str(), it.grade, it.weight)).collect();
        assert_eq!(got, [("a", CONSULTATION_QUESTION, 0, 0.3), ("c", CONSULTATION_QUESTION, 4, 0.3)]);
        assert!(open.iter().all(|it| it.source == Source::FftOpen && it.text.starts_with("answer ")));
    }
}
