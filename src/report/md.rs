//! `summary.md`: the report as Markdown (tables as pipe tables).

use super::{Report, NOT_A_VOTE};
use crate::aggregate::TableData;

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

pub fn summary_md(r: &Report) -> String {
    let mut out = String::new();
    out += &format!("# {}\n\n", r.title);
    out += &format!("- Input: `{}`\n", r.input);
    out += &format!("- Rows read: {} ({} rejected; see rejected rows in `coded_responses.csv`)\n", r.rows_read, r.rows_rejected);
    out += &format!("- Codebook: {}\n", r.codebook);
    out += &format!("- Model: {}\n\n", r.model);
    out += NOT_A_VOTE;
    out += " See the methods note at the end.\n\n";
    out += "## Response profile\n\n";
    for t in &r.profile {
        out += &table_md(t);
    }
    if !r.closed.is_empty() {
        out += "## Closed questions\n\n";
        for (t, _) in &r.closed {
            out += &table_md(t);
        }
    }
    for qr in &r.questions {
        let q = &qr.counts;
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
        if !qr.summaries.is_empty() {
            out += "### Summary\n\n";
            for s in &qr.summaries {
                out += &format!("- {s}\n");
            }
            out += "\n";
        }
        out += &table_md(&qr.codes);
        out += &table_md(&qr.tones);
        if qr.quotes.iter().any(|g| !g.quotes.is_empty()) {
            out += "### Quotes\n\n";
            for g in qr.quotes.iter().filter(|g| !g.quotes.is_empty()) {
                out += &format!("**{}**\n\n", super::code_label(&g.code, &g.label));
                for qt in &g.quotes {
                    let text = qt.text.replace('\n', " ");
                    match qt.credit() {
                        Some(a) => out += &format!("> \"{text}\" ({a})\n\n"),
                        None => out += &format!("> \"{text}\"\n\n"),
                    }
                }
            }
        }
        for x in &qr.extra {
            out += &table_md(x);
        }
    }
    out += "## Methods note\n\n";
    for p in &r.methods {
        out += &format!("{p}\n\n");
    }
    if let Some(t) = &r.agreement {
        out += &table_md(t);
    }
    out += "## Notes\n\n";
    for n in &r.notes {
        out += &format!("- {n}\n");
    }
    out
}
