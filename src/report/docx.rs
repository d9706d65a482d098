//! `report.docx`: headings, summary sentences, captioned tables with their notes, quotes, the
//! methods note and the notes on symbols, in Word styles (Heading 1-3, Caption, Quote) so
//! they paste into a committee paper template and take its look (docx-rs).
//!
//! Core properties carry a fixed creation and modification date, so the same report gives
//! the same content.

use std::io::Cursor;

use anyhow::Result;
use docx_rs::{
    AlignmentType, Docx, LineSpacing, Paragraph, Run, RunFonts, Shading, Style, StyleType, Table, TableCell,
    TableRow, WidthType,
};

use super::{Report, NOT_A_VOTE};
use crate::aggregate::TableData;

/// A4 width less 2.54 cm margins, in twentieths of a point.
const TEXT_WIDTH: usize = 9026;
const FIXED_DATE: &str = "2000-01-01T00:00:00Z";

fn para(text: &str) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(text))
}

fn heading(text: &str, level: usize) -> Paragraph {
    para(text).style(&format!("Heading{level}")).keep_next(true)
}

fn styles(doc: Docx) -> Docx {
    let font = RunFonts::new().ascii("Arial").hi_ansi("Arial").cs("Arial");
    let space = |before: u32, after: u32| LineSpacing::new().before(before).after(after);
    doc.add_style(Style::new("Normal", StyleType::Paragraph).name("Normal").fonts(font.clone()).size(22))
        .add_style(
            Style::new("Heading1", StyleType::Paragraph)
                .name("heading 1")
                .based_on("Normal")
                .next("Normal")
                .bold()
                .size(32)
                .color("12436D")
                .line_spacing(space(240, 120))
                .outline_lvl(0),
        )
        .add_style(
            Style::new("Heading2", StyleType::Paragraph)
                .name("heading 2")
                .based_on("Normal")
                .next("Normal")
                .bold()
                .size(28)
                .color("12436D")
                .line_spacing(space(360, 120))
                .outline_lvl(1),
        )
        .add_style(
            Style::new("Heading3", StyleType::Paragraph).name("heading 3").based_on("Normal").next("Normal").bold().size(24).line_spacing(space(240, 80)).outline_lvl(2),
        )
        .add_style(Style::new("Caption", StyleType::Paragraph).name("caption").based_on("Normal").next("Normal").bold().size(20).line_spacing(space(200, 80)))
        .add_style(Style::new("TableNote", StyleType::Paragraph).name("Table note").based_on("Normal").italic().size(16).color("383F43").line_spacing(space(40, 0)))
        .add_style(Style::new("Quote", StyleType::Paragraph).name("Quote").based_on("Normal").italic().indent(Some(567), None, Some(567), None).line_spacing(space(60, 60)))
}

fn numeric_col(t: &TableData, i: usize) -> bool {
    t.rows.iter().any(|r| r.get(i).is_some_and(|c| !c.is_empty()))
        && t.rows.iter().all(|r| {
            r.get(i).is_some_and(|c| c.starts_with(|ch: char| ch.is_ascii_digit()) || c.is_empty() || c == "-" || c == "[c]")
        })
}

fn table(t: &TableData, number: usize) -> Vec<DocxPart> {
    let numeric: Vec<bool> = (0..t.header.len()).map(|i| numeric_col(t, i)).collect();
    let size = if t.header.len() > 6 { 14 } else { 18 };
    // Column widths: numbers and short codes get what they need not to wrap (their longest
    // cell, or the longest word of the header); label columns share the rest by length.
    let char_twips = size as f64 * 10.0 * if size < 18 { 0.58 } else { 0.7 };
    let longest = |i: usize| t.rows.iter().filter_map(|r| r.get(i)).map(|c| c.trim().chars().count()).max().unwrap_or(0);
    let word = |i: usize| t.header[i].split_whitespace().map(|w| w.chars().count()).max().unwrap_or(0);
    let fixed: Vec<Option<f64>> = (0..t.header.len())
        .map(|i| {
            (numeric[i] || longest(i) <= 12).then(|| (longest(i).max(word(i)).max(3) as f64) * char_twips + 320.0)
        })
        .collect();
    let used: f64 = fixed.iter().flatten().sum();
    let flex: Vec<f64> = (0..t.header.len()).map(|i| if fixed[i].is_some() { 0.0 } else { longest(i).clamp(8, 60) as f64 }).collect();
    let flex_sum: f64 = flex.iter().sum::<f64>().max(1.0);
    let room = (TEXT_WIDTH as f64 - used).max(1500.0);
    let grid: Vec<usize> = (0..t.header.len())
        .map(|i| fixed[i].unwrap_or(flex[i] / flex_sum * room) as usize)
        .collect();
    let cell = |text: &str, col: usize, bold: bool| {
        let mut run = Run::new().add_text(text.trim_start()).size(size);
        if bold {
            run = run.bold();
        }
        let mut p = Paragraph::new().add_run(run);
        if numeric[col] {
            p = p.align(AlignmentType::Right);
        } else if text.starts_with("  ") {
            p = p.indent(Some(227), None, None, None);
        }
        let c = TableCell::new().add_paragraph(p).width(grid[col], WidthType::Dxa);
        if bold {
            c.shading(Shading::new().fill("F3F2F1"))
        } else {
            c
        }
    };
    let mut rows = vec![TableRow::new(t.header.iter().enumerate().map(|(i, h)| cell(h, i, true)).collect()).cant_split()];
    for r in &t.rows {
        rows.push(TableRow::new(r.iter().enumerate().map(|(i, c)| cell(c, i, false)).collect()).cant_split());
    }
    let mut parts = vec![DocxPart::P(para(&format!("Table {number}: {}", t.title)).style("Caption").keep_next(true))];
    parts.push(DocxPart::T(Table::new(rows).set_grid(grid).width(TEXT_WIDTH, WidthType::Dxa)));
    for n in &t.notes {
        parts.push(DocxPart::P(para(n).style("TableNote")));
    }
    parts.push(DocxPart::P(Paragraph::new()));
    parts
}

#[allow(clippy::large_enum_variant)] // a report's few hundred parts: boxing each paragraph buys nothing
enum DocxPart {
    P(Paragraph),
    T(Table),
}

pub fn report_docx(r: &Report) -> Result<Vec<u8>> {
    let mut parts: Vec<DocxPart> = Vec::new();
    let mut n = 0;
    let mut add_table = |parts: &mut Vec<DocxPart>, t: &TableData| {
        n += 1;
        parts.extend(table(t, n));
    };
    parts.push(DocxPart::P(heading(&r.title, 1)));
    parts.push(DocxPart::P(para(&format!(
        "Input: {}. Rows read: {} ({} rejected). Codebook: {}. Model: {}.",
        r.input, r.rows_read, r.rows_rejected, r.codebook, r.model
    ))));
    parts.push(DocxPart::P(Paragraph::new().add_run(Run::new().add_text(NOT_A_VOTE).bold())));
    parts.push(DocxPart::P(heading("Response profile", 2)));
    for t in &r.profile {
        add_table(&mut parts, t);
    }
    if !r.closed.is_empty() {
        parts.push(DocxPart::P(heading("Closed questions", 2)));
        for (t, _) in &r.closed {
            add_table(&mut parts, t);
        }
    }
    for qr in &r.questions {
        let q = &qr.counts;
        parts.push(DocxPart::P(heading(&format!("{}: {}", q.key, q.question), 2)));
        parts.push(DocxPart::P(para(&format!(
            "Answered: {} substantive, {} blank ({} empty, {} non-substantive), {} rejected, of {} rows.",
            q.coded, q.blank, q.blank_empty, q.blank_non_substantive, q.rejected, q.rows
        ))));
        if !qr.summaries.is_empty() {
            parts.push(DocxPart::P(heading("Summary", 3)));
            for s in &qr.summaries {
                parts.push(DocxPart::P(para(&format!("•\t{s}")).indent(Some(284), Some(docx_rs::SpecialIndentType::Hanging(284)), None, None)));
            }
        }
        add_table(&mut parts, &qr.codes);
        add_table(&mut parts, &qr.tones);
        if qr.quotes.iter().any(|g| !g.quotes.is_empty()) {
            parts.push(DocxPart::P(heading("Quotes", 3)));
            for g in qr.quotes.iter().filter(|g| !g.quotes.is_empty()) {
                parts.push(DocxPart::P(
                    Paragraph::new().add_run(Run::new().add_text(super::code_label(&g.code, &g.label)).bold()).keep_next(true),
                ));
                for qt in &g.quotes {
                    let who = qt.credit().map(|a| format!(" ({a})")).unwrap_or_default();
                    parts.push(DocxPart::P(para(&format!("“{}”{who}", qt.text.replace('\n', " "))).style("Quote")));
                }
            }
        }
        for x in &qr.extra {
            add_table(&mut parts, x);
        }
    }
    parts.push(DocxPart::P(heading("Methods note", 2)));
    for p in &r.methods {
        parts.push(DocxPart::P(match p.split_once(". ") {
            Some((head, rest)) if head.len() < 40 => Paragraph::new()
                .add_run(Run::new().add_text(format!("{head}. ")).bold())
                .add_run(Run::new().add_text(rest)),
            _ => para(p),
        }));
    }
    if let Some(t) = &r.agreement {
        add_table(&mut parts, t);
    }
    parts.push(DocxPart::P(heading("Notes", 2)));
    for note in &r.notes {
        parts.push(DocxPart::P(para(&format!("•\t{note}")).indent(Some(284), Some(docx_rs::SpecialIndentType::Hanging(284)), None, None)));
    }

    let mut doc = styles(Docx::new()).created_at(FIXED_DATE).updated_at(FIXED_DATE);
    for p in parts {
        doc = match p {
            DocxPart::P(p) => doc.add_paragraph(p),
            DocxPart::T(t) => doc.add_table(t),
        };
    }
    let mut buf = Cursor::new(Vec::new());
    doc.build().pack(&mut buf)?;
    Ok(buf.into_inner())
}
