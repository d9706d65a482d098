//! Renderers: `coded_responses.csv`, `tables/*.csv`, and from one [`Report`] (plain data:
//! tables, chart series, summary sentences, quotes, the methods note) `summary.md`
//! ([`md`]), `report.html` ([`html`], with SVG charts from [`chart`]), `tables.xlsx`
//! ([`xlsx`]) and `report.docx` ([`docx`]). They know nothing of models.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use std::collections::HashMap;

use serde::Deserialize;

use crate::aggregate::{pct, QuestionCounts, TableData};
use crate::analyse::{CodedResponse, Question, Status};
use crate::codebook::Codebook;
use crate::pii::Redactor;
use crate::quotes::{Quote, Respondent};
use crate::sentiment::Tone;

pub mod chart;
pub mod docx;
pub mod html;
pub mod md;
pub mod xlsx;

pub use md::{summary_md, table_md};

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp~");
    {
        let mut f = fs::File::create(&tmp).with_context(|| format!("{}: cannot write", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all().ok();
    }
    fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

fn scores(list: &[crate::classify::Assigned]) -> String {
    list.iter().map(|a| format!("{}={:.3}", a.code, a.score)).collect::<Vec<_>>().join(";")
}

/// `redact`: with `--redact-text`, the redactor and each line's respondent (own personal data).
pub fn coded_responses_csv(
    responses: &[CodedResponse],
    questions: &[Question],
    by_headers: &[String],
    redact: Option<(&Redactor, &HashMap<u64, Respondent>)>,
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "id", "line", "question", "question_text", "text", "status", "reason", "codes", "outcomes",
        "code_scores", "nearest", "sentiment", "sentiment_score", "code_sentiments", "campaign",
    ]
    .map(String::from)
    .to_vec();
    header.extend(by_headers.iter().cloned());
    w.write_record(&header)?;
    for r in responses {
        let q = &questions[r.question];
        let coded = r.status == Status::Coded;
        let mut rec = vec![
            r.id.clone(),
            r.line.to_string(),
            q.key.clone(),
            q.header.clone(),
            match redact {
                Some((red, who)) => {
                    red.redact(&r.text, who.get(&r.line).map(|w| w.personal.as_slice()).unwrap_or(&[]))
                }
                None => r.text.clone(),
            },
            r.status.as_str().to_string(),
            r.reason.clone(),
            r.codes.iter().map(|a| a.code.as_str()).collect::<Vec<_>>().join(";"),
            r.outcomes.join(";"),
            if coded { scores(&r.codes) } else { String::new() },
            scores(&r.nearest),
            r.sentiment.map(|t| t.as_str().to_string()).unwrap_or_default(),
            if coded { format!("{:.3}", r.sentiment_score) } else { String::new() },
            r.codes.iter().zip(&r.code_tones).map(|(a, t)| format!("{}={}", a.code, t.as_str())).collect::<Vec<_>>().join(";"),
            r.campaign.clone().unwrap_or_default(),
        ];
        rec.extend(r.attributes.iter().cloned());
        w.write_record(&rec)?;
    }
    Ok(w.into_inner()?)
}

pub fn table_csv(t: &TableData) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.header)?;
    for r in &t.rows {
        w.write_record(r)?;
    }
    Ok(w.into_inner()?)
}


/// Quantity bands for summary sentences: `models/report.toml`, or `--bands FILE`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Bands {
    pub bands: Vec<Band>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Band {
    /// Share of the base (0 to 1) from which this band applies.
    pub from: f64,
    pub label: String,
}

pub const DEFAULT_REPORT_TOML: &str = include_str!("../../models/report.toml");

impl Bands {
    pub fn default_bands() -> Bands {
        Bands::parse(DEFAULT_REPORT_TOML, "models/report.toml").expect("models/report.toml is valid")
    }

    pub fn load(path: &Path) -> Result<Bands> {
        let s = fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Bands::parse(&s, &path.display().to_string())
    }

    pub fn parse(text: &str, source: &str) -> Result<Bands> {
        let b: Bands = toml::from_str(text).map_err(|e| {
            crate::input::InputError(format!("{source}: invalid report settings: {e}"))
        })?;
        let bad = |why: String| -> Result<Bands> {
            Err(crate::input::InputError(format!("{source}: [[bands]]: {why}")).into())
        };
        if b.bands.first().is_none_or(|f| f.from != 0.0) {
            return bad("the first band must have from = 0".into());
        }
        for w in b.bands.windows(2) {
            if w[1].from <= w[0].from || w[1].from > 1.0 {
                return bad(format!("band {:?} must start above the one before it and at most 1", w[1].label));
            }
        }
        if b.bands.iter().any(|x| x.label.trim().is_empty()) {
            return bad("every band needs a label".into());
        }
        Ok(b)
    }

    /// The band's words for `n` of `base`.
    pub fn label(&self, n: usize, base: usize) -> &str {
        let share = if base == 0 { 0.0 } else { n as f64 / base as f64 };
        let mut label = self.bands[0].label.as_str();
        for b in &self.bands {
            if share >= b.from {
                label = &b.label;
            }
        }
        label
    }

    /// "a few: under 10%; some: 10% to under 25%; ...; most: 50% or more".
    pub fn describe(&self) -> String {
        let p = |x: f64| format!("{}%", (x * 1000.0).round() / 10.0);
        let mut parts = Vec::new();
        for (i, b) in self.bands.iter().enumerate() {
            let next = self.bands.get(i + 1).map(|n| n.from);
            parts.push(match (i, next) {
                (0, Some(n)) => format!("\"{}\": under {}", b.label, p(n)),
                (0, None) => format!("\"{}\": any share", b.label),
                (_, Some(n)) => format!("\"{}\": {} to under {}", b.label, p(b.from), p(n)),
                (_, None) => format!("\"{}\": {} or more", b.label, p(b.from)),
            });
        }
        parts.join("; ")
    }
}

/// One bar of a chart: label, count, its base.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub n: usize,
    pub base: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub bars: Vec<Bar>,
    /// E.g. "Base: all who answered Q1 with a substantive answer (n=99)".
    pub base_note: String,
}

/// Quotes for one sub-outcome.
#[derive(Debug, Clone)]
pub struct QuoteGroup {
    pub code: String,
    pub label: String,
    pub quotes: Vec<Quote>,
}

/// Everything rendered about one open question.
#[derive(Debug, Clone)]
pub struct QuestionReport {
    pub counts: QuestionCounts,
    /// One sentence per sub-outcome raised, with its quantity band.
    pub summaries: Vec<String>,
    pub chart: Chart,
    pub codes: TableData,
    pub tones: TableData,
    /// The codes table with each campaign counted once, cross-tabs by each `--by`.
    pub extra: Vec<TableData>,
    pub quotes: Vec<QuoteGroup>,
}

/// The whole report as plain data; every format renders this.
#[derive(Debug, Clone)]
pub struct Report {
    pub title: String,
    pub input: String,
    pub rows_read: usize,
    pub rows_rejected: usize,
    pub codebook: String,
    pub model: String,
    /// Row accounting, respondent type, channel, campaign groups.
    pub profile: Vec<TableData>,
    pub closed: Vec<(TableData, Chart)>,
    pub questions: Vec<QuestionReport>,
    /// Methods note, one paragraph per entry.
    pub methods: Vec<String>,
    /// Agreement with a hand-coded sample of these answers, by code (`analyse --check`), shown
    /// after the methods note.
    pub agreement: Option<TableData>,
    /// Symbols and conventions, one per entry.
    pub notes: Vec<String>,
}

impl Report {
    /// Every table in report order with its chart, if it has one (for `tables.xlsx`).
    pub fn tables(&self) -> Vec<(&TableData, Option<&Chart>)> {
        let mut v: Vec<(&TableData, Option<&Chart>)> = self.profile.iter().map(|t| (t, None)).collect();
        v.extend(self.closed.iter().map(|(t, c)| (t, Some(c))));
        for q in &self.questions {
            v.push((&q.codes, Some(&q.chart)));
            v.push((&q.tones, None));
            v.extend(q.extra.iter().map(|t| (t, None)));
        }
        v.extend(self.agreement.iter().map(|t| (t, None)));
        v
    }
}

/// "Not a vote": the opening sentence of every format.
pub const NOT_A_VOTE: &str = "A consultation is not a vote or a representative survey: these tables show the range of \
     views raised by those who chose to respond, not the views of the population.";

/// Chart of a question's sub-outcomes (and stand-alone codes) raised, in codebook order.
pub fn codes_chart(q: &QuestionCounts, codebook: &Codebook) -> Chart {
    let bars = codebook
        .codes
        .iter()
        .filter(|c| !codebook.has_children(&c.id))
        .filter_map(|c| {
            let n = q.code_counts.get(&c.id).copied().unwrap_or(0);
            (n > 0).then(|| Bar { label: code_label(&c.id, &c.label), n, base: q.coded })
        })
        .collect();
    Chart {
        title: format!("{}: sub-outcomes raised, % of respondents", q.key),
        bars,
        base_note: format!("Base: all who answered {} with a substantive answer (n={}).", q.key, q.coded),
    }
}

/// Chart of a closed question's options (rows with a percentage).
pub fn closed_chart(t: &TableData) -> Chart {
    let base = t.notes.first().and_then(|n| {
        let i = n.find("(n=")? + 3;
        n[i..].split(')').next()?.parse::<usize>().ok()
    });
    let base = base.unwrap_or(0);
    let bars = t
        .rows
        .iter()
        .filter(|r| r.get(2).is_some_and(|p| p.ends_with('%')))
        .map(|r| Bar { label: r[0].clone(), n: r[1].parse().unwrap_or(0), base })
        .collect();
    Chart {
        title: format!("{} (% of those who answered)", t.title),
        bars,
        base_note: t.notes.first().cloned().unwrap_or_default(),
    }
}

/// "5.2 Parks and open spaces" for a numbered code, just the label for a named one ("finance").
pub fn code_label(id: &str, label: &str) -> String {
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        format!("{id} {label}")
    } else {
        label.to_string()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// One sentence per code raised: "Some respondents (12 of 99, 12.1%) raised 5.2 Parks ...;
/// their comments on it were mostly negative."
pub fn summary_sentences(q: &QuestionCounts, codebook: &Codebook, bands: &Bands) -> Vec<String> {
    let mut out = Vec::new();
    for c in codebook.codes.iter().filter(|c| !codebook.has_children(&c.id)) {
        let n = q.code_counts.get(&c.id).copied().unwrap_or(0);
        if n == 0 {
            continue;
        }
        let who = if n == 1 {
            "One respondent".to_string()
        } else {
            format!("{} respondents", capitalise(bands.label(n, q.coded)))
        };
        let mut s = format!("{who} ({n} of {}, {}) raised {}", q.coded, pct(n, q.coded), code_label(&c.id, &c.label));
        if let Some(t) = q.tone_by_code.get(&c.id) {
            let total: usize = t.iter().sum();
            let (best, m) = Tone::ALL.iter().map(|x| (*x, t[x.index()])).max_by_key(|(_, m)| *m).unwrap();
            if total >= 2 && 2 * m > total {
                s += &format!("; comments on it were mostly {}", best.as_str());
            } else if total >= 2 {
                s += "; comments on it were varied in tone";
            }
        }
        s.push('.');
        out.push(s);
    }
    out
}

/// Response profile: counts and % of rows read by each value of `values` (one per row).
pub fn profile_table(name: &str, title: &str, heading: &str, values: &[String], rows_read: usize) -> TableData {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for v in values {
        let v = if v.trim().is_empty() { "Not answered".to_string() } else { v.trim().to_string() };
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some(e) => e.1 += 1,
            None => counts.push((v, 1)),
        }
    }
    counts.sort_by(|a, b| (a.0 == "Not answered").cmp(&(b.0 == "Not answered")).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    let mut rows: Vec<Vec<String>> =
        counts.iter().map(|(v, n)| vec![v.clone(), n.to_string(), pct(*n, values.len())]).collect();
    rows.push(vec!["Total".into(), values.len().to_string(), pct(values.len(), values.len())]);
    TableData {
        name: name.into(),
        title: title.into(),
        header: vec![heading.into(), "Respondents".into(), "% of respondents".into()],
        rows,
        notes: vec![format!(
            "Base: all respondents whose rows could be read (n={}; {} rows read).",
            values.len(),
            rows_read
        )],
    }
}

/// Campaign (template) groups across questions, or None when there are none.
pub fn campaigns_table(counts: &[QuestionCounts]) -> Option<TableData> {
    let rows: Vec<Vec<String>> = counts
        .iter()
        .flat_map(|q| {
            q.campaigns.iter().map(move |(id, n)| vec![id.clone(), format!("{}: {}", q.key, q.question), n.to_string()])
        })
        .collect();
    (!rows.is_empty()).then(|| TableData {
        name: "campaigns".into(),
        title: "Campaign (template) responses: groups of identical answers".into(),
        header: vec!["Group".into(), "Question".into(), "Identical answers".into()],
        rows,
        notes: vec![
            "Identical substantive answers from several respondents are grouped; each question's codes table is also shown with each group counted once.".into(),
        ],
    })
}

/// The methods note, as paragraphs.
#[allow(clippy::too_many_arguments)]
pub fn methods_note(
    model: &str,
    method: &str,
    codebook: &Codebook,
    tone: String,
    agreement: Option<String>,
    threshold: usize,
    quotes: usize,
    bands: &Bands,
    has_type: bool,
) -> Vec<String> {
    let mut m = vec![
        format!(
            "How answers were coded. Each substantive answer to an open question was turned into a sentence \
             embedding with the {model} language model and {method}. Codebook: {} (version {}, sha256 {}). \
             An answer can carry several codes (multi-coding), so percentages within a question can sum to more \
             than 100%. Each code's sentiment (positive, neutral, negative, mixed) is that of the sentence where \
             the code was found. Every answer's codes, scores and sentiment are in coded_responses.csv, for \
             officers to check and correct.",
            codebook.name,
            codebook.version,
            &codebook.sha256[..12.min(codebook.sha256.len())]
        ),
        tone,
        match agreement {
            Some(a) => format!("Agreement with people. {a}"),
            None => "Agreement with people. The codes of this run were not checked against a sample of these \
                     answers coded by hand: before publication, draw one with `consult sample`, code it by hand and \
                     run again with --check FILE (or compare with `consult evaluate`: per-code precision, recall, F1 \
                     and kappa)."
                .into(),
        },
        "Bases. Percentages are of respondents who gave a substantive answer to that question (the base shown \
         under each table). Blank and non-substantive answers (\"N/A\", \"no comment\") are counted apart and \
         excluded. Closed-question percentages are of those who answered the question."
            .into(),
    ];
    m.push(if threshold > 0 {
        format!(
            "Disclosure control. In cross-tabulations, counts from 1 to {} are suppressed and shown as [c], and \
             further cells are suppressed where a [c] could otherwise be worked out from a row total \
             (secondary suppression). Quotes are redacted (email addresses, phone numbers, postcodes, National \
             Insurance numbers, and the respondent's own name and contact details){}.",
            threshold - 1,
            if has_type {
                format!(", attributed only by respondent type, and never taken from a respondent type with fewer than {threshold} answers to the question")
            } else {
                String::new()
            }
        )
    } else {
        "Disclosure control. Suppression was switched off for this run (--suppress 0): small cells are shown \
         as counted, and the tables are not safe to publish as they are."
            .into()
    });
    m.push(format!(
        "Quotes. For each sub-outcome up to {quotes} answers are quoted: those most typical of the answers given \
         that code and different from each other (maximal marginal relevance over the sentence embeddings); \
         where the answers that may be quoted include both praise and criticism of it, at least one of each. Each quote shows the \
         tone read for the part of the answer about the code. They illustrate the range of views; they are not a \
         count of them."
    ));
    m.push(format!(
        "Summary wording. Each summary sentence describes how many respondents raised a sub-outcome, as a share \
         of the question's base: {}.",
        bands.describe()
    ));
    m.push(format!("Not a vote. {NOT_A_VOTE}"));
    m
}

/// Symbols and conventions used in the tables.
pub fn notes_section(threshold: usize) -> Vec<String> {
    let mut n = Vec::new();
    if threshold > 0 {
        n.push(format!(
            "[c] confidential: a count below {threshold}, or a cell suppressed so that another [c] cannot be worked out from a total."
        ));
    }
    n.extend([
        "0 a true zero: nobody in that group raised it.".to_string(),
        "- no percentage: the base is zero.".to_string(),
        "[email], [phone], [postcode], [NI number], [name], [personal data] in a quote: personal data removed.".to_string(),
        "Percentages are rounded to one decimal place, so they may not add up exactly.".to_string(),
    ]);
    n
}
