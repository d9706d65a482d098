//! `report.html`: one self-contained file (styles inline, charts as inline SVG, no scripts,
//! fonts or images fetched) that reads on screen and prints on A4.

use super::{chart, Chart, Report, NOT_A_VOTE};
use crate::aggregate::TableData;

/// HTML-escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

const CSS: &str = r#"
body{font-family:Arial,"Helvetica Neue",Helvetica,sans-serif;color:#0b0c0c;max-width:60rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4;font-size:16px}
h1{font-size:1.9rem;margin:0 0 .5rem}
h2{font-size:1.45rem;margin:2.2rem 0 .6rem;border-top:3px solid #12436d;padding-top:.6rem}
h3{font-size:1.15rem;margin:1.4rem 0 .4rem}
.meta{color:#383f43;font-size:.95rem;padding-left:1.2rem}
.lead{font-weight:bold;border-left:5px solid #12436d;padding:.4rem .8rem;background:#f3f2f1}
table{border-collapse:collapse;margin:.4rem 0 .3rem;font-size:.88rem;width:auto;max-width:100%}
caption{text-align:left;font-weight:bold;font-size:.98rem;padding:.3rem 0}
th,td{border-bottom:1px solid #b1b4b6;padding:.25rem .55rem;vertical-align:top;text-align:left}
thead th{border-bottom:2px solid #0b0c0c;background:#f3f2f1}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.sub{padding-left:1.6rem}
tr.base td{font-style:italic;background:#fafafa}
.tnotes{font-size:.82rem;color:#383f43;margin:0 0 1.2rem}
.tnotes p{margin:.15rem 0}
figure{margin:.6rem 0 1.2rem}
figcaption{font-weight:bold;font-size:.98rem;margin-bottom:.3rem}
figure svg{max-width:100%;height:auto;display:block}
figure .tnotes{margin-top:.2rem}
blockquote{margin:.4rem 0 .7rem;padding:.3rem .9rem;border-left:4px solid #b1b4b6;background:#f8f8f8}
blockquote footer{font-size:.85rem;color:#383f43;margin-top:.2rem}
ul.summary li{margin:.2rem 0}
nav ol{columns:2;font-size:.92rem}
.scroll{overflow-x:auto}
@media print{
 body{max-width:none;margin:0;font-size:10.5pt}
 @page{size:A4;margin:16mm 14mm}
 h2{break-before:auto;break-after:avoid}
 h3,caption,figcaption{break-after:avoid}
 table,figure,blockquote{break-inside:avoid}
 .scroll{overflow:visible}
 nav{display:none}
 a{color:inherit;text-decoration:none}
}
"#;

fn is_numeric_col(t: &TableData, i: usize) -> bool {
    t.rows.iter().any(|r| r.get(i).is_some_and(|c| !c.is_empty()))
        && t.rows.iter().all(|r| {
            r.get(i).is_some_and(|c| c.starts_with(|ch: char| ch.is_ascii_digit()) || c.is_empty() || c == "-" || c == "[c]")
        })
}

/// A table with its caption (numbered) and its notes beneath.
pub fn table_html(t: &TableData, number: usize) -> String {
    let numeric: Vec<bool> = (0..t.header.len()).map(|i| is_numeric_col(t, i)).collect();
    let mut s = format!("<div class=\"scroll\" id=\"t-{}\"><table>\n<caption>Table {number}: {}</caption>\n<thead><tr>", esc(&t.name), esc(&t.title));
    for (i, h) in t.header.iter().enumerate() {
        let cls = if numeric[i] { " class=\"n\"" } else { "" };
        s += &format!("<th scope=\"col\"{cls}>{}</th>", esc(h));
    }
    s += "</tr></thead>\n<tbody>\n";
    for r in &t.rows {
        let base = r.get(1).is_some_and(|c| c.starts_with("Base ("));
        s += if base { "<tr class=\"base\">" } else { "<tr>" };
        for (i, c) in r.iter().enumerate() {
            let mut classes = Vec::new();
            if numeric.get(i).copied().unwrap_or(false) {
                classes.push("n");
            }
            if c.starts_with("  ") {
                classes.push("sub");
            }
            let cls = if classes.is_empty() { String::new() } else { format!(" class=\"{}\"", classes.join(" ")) };
            s += &format!("<td{cls}>{}</td>", esc(c.trim_start()));
        }
        s += "</tr>\n";
    }
    s += "</tbody></table></div>\n";
    if !t.notes.is_empty() {
        s += "<div class=\"tnotes\">";
        for n in &t.notes {
            s += &format!("<p>{}</p>", esc(n));
        }
        s += "</div>\n";
    }
    s
}

fn figure_html(c: &Chart, number: usize) -> String {
    let Some(svg) = chart::svg(c) else { return String::new() };
    let desc: Vec<String> = c
        .bars
        .iter()
        .map(|b| format!("{}: {} of {}", b.label, b.n, b.base))
        .collect();
    format!(
        "<figure role=\"img\" aria-label=\"{}\">\n<figcaption>Figure {number}: {}</figcaption>\n{svg}\n<div class=\"tnotes\"><p>{}</p></div>\n</figure>\n",
        esc(&format!("{}. {}", c.title, desc.join("; "))),
        esc(&c.title),
        esc(&c.base_note)
    )
}

pub fn report_html(r: &Report) -> String {
    let mut t_no = 0;
    let mut f_no = 0;
    let mut table = |t: &TableData| {
        t_no += 1;
        table_html(t, t_no)
    };
    let mut figure = |c: &Chart| {
        if c.bars.is_empty() {
            return String::new();
        }
        f_no += 1;
        figure_html(c, f_no)
    };
    let mut b = String::new();
    b += &format!("<h1>{}</h1>\n", esc(&r.title));
    b += "<ul class=\"meta\">";
    b += &format!("<li>Input: {}</li>", esc(&r.input));
    b += &format!("<li>Rows read: {} ({} rejected)</li>", r.rows_read, r.rows_rejected);
    b += &format!("<li>Codebook: {}</li>", esc(&r.codebook));
    b += &format!("<li>Model: {}</li>", esc(&r.model));
    b += "</ul>\n";
    b += &format!("<p class=\"lead\">{} See the <a href=\"#methods\">methods note</a>.</p>\n", esc(NOT_A_VOTE));
    b += "<nav><h2 id=\"contents\">Contents</h2><ol>";
    b += "<li><a href=\"#profile\">Response profile</a></li>";
    if !r.closed.is_empty() {
        b += "<li><a href=\"#closed\">Closed questions</a></li>";
    }
    for q in &r.questions {
        b += &format!("<li><a href=\"#{}\">{}: {}</a></li>", esc(&q.counts.key.to_lowercase()), esc(&q.counts.key), esc(&q.counts.question));
    }
    b += "<li><a href=\"#methods\">Methods note</a></li><li><a href=\"#notes\">Notes</a></li></ol></nav>\n";

    b += "<h2 id=\"profile\">Response profile</h2>\n";
    for t in &r.profile {
        b += &table(t);
    }
    if !r.closed.is_empty() {
        b += "<h2 id=\"closed\">Closed questions</h2>\n";
        for (t, c) in &r.closed {
            b += &figure(c);
            b += &table(t);
        }
    }
    for qr in &r.questions {
        let q = &qr.counts;
        b += &format!("<h2 id=\"{}\">{}: {}</h2>\n", esc(&q.key.to_lowercase()), esc(&q.key), esc(&q.question));
        b += &format!(
            "<p>Answered: {} substantive, {} blank ({} empty, {} non-substantive), {} rejected, of {} rows.</p>\n",
            q.coded, q.blank, q.blank_empty, q.blank_non_substantive, q.rejected, q.rows
        );
        if !q.campaigns.is_empty() {
            let sizes: Vec<String> = q.campaigns.iter().map(|(id, n)| format!("{id}: {n} identical answers")).collect();
            b += &format!(
                "<p>Campaign (template) responses: {} group(s) ({}). Tables are shown with all answers, then with each campaign counted once.</p>\n",
                q.campaigns.len(),
                esc(&sizes.join("; "))
            );
        }
        if !qr.summaries.is_empty() {
            b += "<h3>Summary</h3>\n<ul class=\"summary\">";
            for s in &qr.summaries {
                b += &format!("<li>{}</li>", esc(s));
            }
            b += "</ul>\n";
        }
        b += &figure(&qr.chart);
        b += &table(&qr.codes);
        b += &table(&qr.tones);
        if qr.quotes.iter().any(|g| !g.quotes.is_empty()) {
            b += "<h3>Quotes</h3>\n";
            for g in qr.quotes.iter().filter(|g| !g.quotes.is_empty()) {
                b += &format!("<h4>{}</h4>\n", esc(&super::code_label(&g.code, &g.label)));
                for qt in &g.quotes {
                    b += &format!("<blockquote><p>“{}”</p>", esc(&qt.text).replace('\n', "<br>"));
                    if let Some(a) = qt.credit() {
                        b += &format!("<footer>— {}</footer>", esc(&a));
                    }
                    b += "</blockquote>\n";
                }
            }
        }
        for x in &qr.extra {
            b += &table(x);
        }
    }
    b += "<h2 id=\"methods\">Methods note</h2>\n";
    for p in &r.methods {
        match p.split_once(". ") {
            Some((head, rest)) if head.len() < 40 => b += &format!("<p><strong>{}.</strong> {}</p>\n", esc(head), esc(rest)),
            _ => b += &format!("<p>{}</p>\n", esc(p)),
        }
    }
    if let Some(t) = &r.agreement {
        b += &table(t);
    }
    b += "<h2 id=\"notes\">Notes</h2>\n<ul>";
    for n in &r.notes {
        b += &format!("<li>{}</li>", esc(n));
    }
    b += "</ul>\n";
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{b}</main>\n</body>\n</html>\n",
        esc(&r.title)
    )
}
