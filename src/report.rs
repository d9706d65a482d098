//! Renderers: `coded_responses.csv`, `summary.md`, `tables/*.csv`, `run.json`.
//! They take the aggregate and the coded responses; they know nothing of models.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use crate::aggregate::{QuestionCounts, TableData};
use crate::analyse::{CodedResponse, Question, Status};

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

pub fn coded_responses_csv(
    responses: &[CodedResponse],
    questions: &[Question],
    by_headers: &[String],
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
            r.text.clone(),
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

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ").replace("  ", "&nbsp;&nbsp;")
}

pub fn table_md(t: &TableData) -> String {
    let mut s = format!("**{}**\n\n", t.title);
    s += &format!("| {} |\n", t.header.iter().map(|h| md_cell(h)).collect::<Vec<_>>().join(" | "));
    // Right-align the columns whose every cell is a number, a percentage or a count (or
    // a suppressed count, `[c]`).
    let numeric = |i: usize| {
        t.rows.iter().any(|r| r.get(i).is_some_and(|c| !c.is_empty()))
            && t.rows.iter().all(|r| {
                r.get(i).is_some_and(|c| {
                    c.starts_with(|ch: char| ch.is_ascii_digit()) || c.is_empty() || c == "-" || c == "[c]"
                })
            })
    };
    s += "|";
    for i in 0..t.header.len() {
        s += if numeric(i) { "---:|" } else { "---|" };
    }
    s += "\n";
    for r in &t.rows {
        s += &format!("| {} |\n", r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | "));
    }
    s += "\n";
    for n in &t.notes {
        s += &format!("_{n}_\n\n");
    }
    s
}

pub struct SummaryInput<'a> {
    pub input: &'a str,
    pub rows_read: usize,
    pub rows_rejected: usize,
    pub codebook: String,
    pub model: String,
    pub accounting: &'a TableData,
    /// Closed questions (agree-disagree scales and the like), tabulated.
    pub closed: Vec<TableData>,
    /// Per question: its counts, codes table, sentiment table, and further tables (the codes
    /// table with each campaign counted once, cross-tabs by each `--by`).
    pub per_question: Vec<(&'a QuestionCounts, TableData, TableData, Vec<TableData>)>,
}

pub fn summary_md(s: &SummaryInput) -> String {
    let mut out = String::new();
    out += "# Consultation analysis summary\n\n";
    out += &format!("- Input: `{}`\n", s.input);
    out += &format!("- Rows read: {} ({} rejected; see rejected rows in `coded_responses.csv`)\n", s.rows_read, s.rows_rejected);
    out += &format!("- Codebook: {}\n", s.codebook);
    out += &format!("- Model: {}\n\n", s.model);
    out += "A consultation is not a vote or a representative survey: these tables show the range of \
            views raised by those who chose to respond, not the views of the population.\n\n";
    out += "## Answers per question\n\n";
    out += &table_md(s.accounting);
    if !s.closed.is_empty() {
        out += "## Closed questions\n\n";
        for t in &s.closed {
            out += &table_md(t);
        }
    }
    for (q, codes, tones, crosstabs) in &s.per_question {
        out += &format!("## {}: {}\n\n", q.key, q.question);
        out += &format!(
            "Answered: {} substantive, {} blank ({} empty, {} non-substantive), {} rejected, of {} rows.\n\n",
            q.coded, q.blank, q.blank_empty, q.blank_non_substantive, q.rejected, q.rows
        );
        if !q.campaigns.is_empty() {
            let sizes: Vec<String> = q.campaigns.iter().map(|(id, n)| format!("{id}: {n} identical answers")).collect();
            out += &format!(
                "Campaign (template) responses: {} group(s) ({}). Tables are shown with all answers, then with each campaign counted once.\n\n",
                q.campaigns.len(),
                sizes.join("; ")
            );
        }
        out += &table_md(codes);
        out += &table_md(tones);
        for x in crosstabs {
            out += &table_md(x);
        }
    }
    out
}
