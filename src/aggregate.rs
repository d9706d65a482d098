//! Aggregation: counts, bases and tables from coded responses. Pure functions; the tables
//! are plain rows of strings that every renderer (Markdown, CSV) shares.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analyse::{CodedResponse, Question, Status};
use crate::codebook::Codebook;
use crate::sentiment::Tone;

#[derive(Debug, Clone, Serialize)]
pub struct QuestionCounts {
    pub key: String,
    pub question: String,
    pub rows: usize,
    pub coded: usize,
    pub blank: usize,
    pub blank_empty: usize,
    pub blank_non_substantive: usize,
    pub rejected: usize,
    /// Respondents given each code (assignable codes and outcomes), by code id.
    #[serde(skip)]
    pub code_counts: BTreeMap<String, usize>,
    /// Per code: respondents by tone (positive, neutral, negative, mixed).
    #[serde(skip)]
    pub tone_by_code: BTreeMap<String, [usize; 4]>,
    #[serde(skip)]
    pub tone_all: [usize; 4],
    /// Campaign groups among the answers: id and size.
    pub campaigns: Vec<(String, usize)>,
}

/// A rendered table: a title, a header row, body rows and notes under it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableData {
    /// File stem for the CSV copy, e.g. `q1_codes`.
    pub name: String,
    pub title: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

pub fn count(questions: &[Question], responses: &[CodedResponse]) -> Vec<QuestionCounts> {
    questions
        .iter()
        .enumerate()
        .map(|(qi, q)| {
            let mut c = QuestionCounts {
                key: q.key.clone(),
                question: q.header.clone(),
                rows: 0,
                coded: 0,
                blank: 0,
                blank_empty: 0,
                blank_non_substantive: 0,
                rejected: 0,
                code_counts: BTreeMap::new(),
                tone_by_code: BTreeMap::new(),
                tone_all: [0; 4],
                campaigns: Vec::new(),
            };
            for r in responses.iter().filter(|r| r.question == qi) {
                c.rows += 1;
                match r.status {
                    Status::Coded => c.coded += 1,
                    Status::Blank => {
                        c.blank += 1;
                        if r.reason == "empty" {
                            c.blank_empty += 1
                        } else {
                            c.blank_non_substantive += 1
                        }
                    }
                    Status::Rejected => c.rejected += 1,
                }
                if r.status != Status::Coded {
                    continue;
                }
                if let Some(id) = &r.campaign {
                    match c.campaigns.iter_mut().find(|(g, _)| g == id) {
                        Some(g) => g.1 += 1,
                        None => c.campaigns.push((id.clone(), 1)),
                    }
                }
                let tone = r.sentiment.map(|t| t.index());
                if let Some(t) = tone {
                    c.tone_all[t] += 1;
                }
                // Each respondent counts once per code and once per outcome.
                let mut ids: Vec<&str> = r.codes.iter().map(|a| a.code.as_str()).collect();
                for o in &r.outcomes {
                    if !ids.contains(&o.as_str()) {
                        ids.push(o);
                    }
                }
                for id in ids {
                    *c.code_counts.entry(id.to_string()).or_default() += 1;
                    // A code's tone is the tone of the part of the answer about it (aspect
                    // sentiment); an outcome's is the whole answer's.
                    let aspect = r.codes.iter().position(|a| a.code == id).and_then(|i| r.code_tones.get(i));
                    if let Some(t) = aspect.map(|t| t.index()).or(tone) {
                        c.tone_by_code.entry(id.to_string()).or_insert([0; 4])[t] += 1;
                    }
                }
            }
            c
        })
        .collect()
}

pub fn pct(n: usize, base: usize) -> String {
    if base == 0 {
        "-".to_string()
    } else {
        format!("{:.1}%", 100.0 * n as f64 / base as f64)
    }
}

pub const MULTI_CODE_NOTE: &str =
    "An answer can carry several codes, so percentages can sum to more than 100%.";

fn base_note(q: &QuestionCounts) -> String {
    format!(
        "Base: all who answered {} with a substantive answer (n={}); blank and non-substantive answers (n={}) are excluded.",
        q.key, q.coded, q.blank
    )
}

/// Row accounting: rows read and, per question, coded / blank / rejected.
pub fn accounting_table(rows_read: usize, counts: &[QuestionCounts]) -> TableData {
    TableData {
        name: "accounting".into(),
        title: format!("Rows read: {rows_read}. Answers by question"),
        header: ["Question", "Rows", "Coded", "Blank (empty)", "Blank (non-substantive)", "Rejected"]
            .map(String::from)
            .to_vec(),
        rows: counts
            .iter()
            .map(|q| {
                vec![
                    format!("{}: {}", q.key, q.question),
                    q.rows.to_string(),
                    q.coded.to_string(),
                    q.blank_empty.to_string(),
                    q.blank_non_substantive.to_string(),
                    q.rejected.to_string(),
                ]
            })
            .collect(),
        notes: vec!["Every row read is coded, blank or rejected for each question: Rows = Coded + Blank + Rejected.".into()],
    }
}

/// Outcomes with their sub-outcomes beneath, then stand-alone codes: count and % of base.
pub fn codes_table(q: &QuestionCounts, codebook: &Codebook) -> TableData {
    let mut rows = Vec::new();
    let n = |id: &str| q.code_counts.get(id).copied().unwrap_or(0);
    for top in codebook.top_level() {
        let kids = codebook.children(&top.id);
        if kids.is_empty() {
            continue;
        }
        rows.push(vec![top.id.clone(), top.label.clone(), n(&top.id).to_string(), pct(n(&top.id), q.coded)]);
        for k in kids {
            rows.push(vec![k.id.clone(), format!("  {}", k.label), n(&k.id).to_string(), pct(n(&k.id), q.coded)]);
        }
    }
    for top in codebook.top_level() {
        if codebook.has_children(&top.id) {
            continue;
        }
        rows.push(vec![top.id.clone(), top.label.clone(), n(&top.id).to_string(), pct(n(&top.id), q.coded)]);
    }
    TableData {
        name: format!("{}_codes", q.key.to_lowercase()),
        title: format!("{}: {} - outcomes and sub-outcomes raised", q.key, q.question),
        header: ["Code", "Outcome / sub-outcome", "Respondents", "% of base"].map(String::from).to_vec(),
        rows,
        notes: vec![base_note(q), MULTI_CODE_NOTE.into()],
    }
}

/// Sentiment of the answers given each code: counts and row %.
pub fn sentiment_table(q: &QuestionCounts, codebook: &Codebook) -> TableData {
    let mut rows = Vec::new();
    let mut push = |id: &str, label: &str, t: [usize; 4]| {
        let total: usize = t.iter().sum();
        let mut row = vec![id.to_string(), label.to_string(), total.to_string()];
        for tone in Tone::ALL {
            let v = t[tone.index()];
            row.push(format!("{} ({})", v, pct(v, total)));
        }
        rows.push(row);
    };
    push("all", "All substantive answers", q.tone_all);
    for c in &codebook.codes {
        if codebook.has_children(&c.id) {
            continue;
        }
        if let Some(t) = q.tone_by_code.get(&c.id) {
            push(&c.id, &c.label, *t);
        }
    }
    let mut header: Vec<String> = ["Code", "Sub-outcome / code", "Respondents"].map(String::from).to_vec();
    header.extend(Tone::ALL.iter().map(|t| capitalise(t.as_str())));
    TableData {
        name: format!("{}_sentiment", q.key.to_lowercase()),
        title: format!("{}: sentiment by sub-outcome", q.key),
        header,
        rows,
        notes: vec![
            format!("Base: answers to {} given each code; percentages are of that row's respondents.", q.key),
            "Each code's sentiment is that of the sentence (or whole answer) where the code was found, so one answer can be positive about one code and negative about another.".into(),
            "Codes with no answers are omitted.".into(),
        ],
    }
}

/// Agree-disagree and similar scales, in the order a report lists them.
const SCALES: &[&[&str]] = &[
    &["strongly agree", "tend to agree", "agree", "neither agree nor disagree", "tend to disagree", "disagree", "strongly disagree", "don't know", "dont know", "not sure"],
    &["very satisfied", "satisfied", "fairly satisfied", "neither satisfied nor dissatisfied", "fairly dissatisfied", "dissatisfied", "very dissatisfied", "don't know"],
    &["very important", "important", "fairly important", "not very important", "not important", "not at all important", "don't know"],
    &["yes", "no", "don't know", "not sure"],
];

/// A closed question: count and % of those who answered per option, not answered, and the
/// base. Options follow a known scale's order when they all belong to one, else most chosen first.
pub fn closed_table(key: &str, header: &str, values: &[&str]) -> TableData {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let mut not_answered = 0;
    for v in values {
        let v = v.trim();
        if v.is_empty() {
            not_answered += 1;
        } else if let Some(e) = counts.iter_mut().find(|(o, _)| o == v) {
            e.1 += 1;
        } else {
            counts.push((v.to_string(), 1));
        }
    }
    let base: usize = counts.iter().map(|(_, n)| n).sum();
    let rank = |o: &str| -> Option<usize> {
        let l = o.to_lowercase().replace('\u{2019}', "'");
        SCALES.iter().find_map(|s| s.iter().position(|x| *x == l))
    };
    let scale = SCALES.iter().find(|s| {
        counts.iter().all(|(o, _)| s.contains(&o.to_lowercase().replace('\u{2019}', "'").as_str()))
    });
    match scale {
        Some(_) => counts.sort_by_key(|(o, _)| rank(o)),
        None => counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0))),
    }
    let mut rows: Vec<Vec<String>> =
        counts.iter().map(|(o, n)| vec![o.clone(), n.to_string(), pct(*n, base)]).collect();
    rows.push(vec!["Not answered".into(), not_answered.to_string(), String::new()]);
    TableData {
        name: key.to_lowercase(),
        title: format!("{key}: {header}"),
        header: ["Response", "Respondents", "% of base"].map(String::from).to_vec(),
        rows,
        notes: vec![format!(
            "Base: all who answered {key} (n={base}); {not_answered} of {} respondents did not answer.",
            values.len()
        )],
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
