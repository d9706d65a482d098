//! `tables.xlsx`: a Contents sheet, then one sheet per table (title, header frozen, fitted
//! column widths, notes beneath), counts and percentages as numbers, and a native Excel bar
//! chart beside each codes table and closed question (rust_xlsxwriter).
//!
//! Document properties carry a fixed creation date, so the same report gives the same
//! bytes.

use anyhow::Result;
use rust_xlsxwriter::{
    Chart, ChartType, DocProperties, ExcelDateTime, Format, FormatAlign, Url, Workbook, Worksheet,
};

use super::Report;
use crate::aggregate::TableData;

/// Excel's limit on a sheet name, and characters it forbids.
fn sheet_name(name: &str, taken: &[String]) -> String {
    let clean: String = name.chars().map(|c| if "[]:*?/\\".contains(c) { '_' } else { c }).collect();
    let mut base: String = clean.chars().take(31).collect();
    if base.is_empty() {
        base = "table".into();
    }
    let mut s = base.clone();
    let mut i = 2;
    while taken.iter().any(|t| t.eq_ignore_ascii_case(&s)) {
        let suffix = format!("_{i}");
        s = format!("{}{suffix}", base.chars().take(31 - suffix.len()).collect::<String>());
        i += 1;
    }
    s
}

enum Cell<'a> {
    Number(f64),
    Percent(f64),
    Text(&'a str),
}

fn cell(s: &str) -> Cell<'_> {
    if let Some(p) = s.strip_suffix('%') {
        if let Ok(x) = p.parse::<f64>() {
            return Cell::Percent(x / 100.0);
        }
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        if let Ok(x) = s.parse::<f64>() {
            return Cell::Number(x);
        }
    }
    Cell::Text(s)
}

fn write_table(ws: &mut Worksheet, sheet: &str, t: &TableData, chart: Option<&super::Chart>, number: usize) -> Result<()> {
    let title = Format::new().set_bold().set_font_size(12);
    let head = Format::new().set_bold().set_text_wrap().set_background_color("F3F2F1").set_border_bottom(
        rust_xlsxwriter::FormatBorder::Medium,
    );
    let head_num = head.clone().set_align(FormatAlign::Right);
    let pct = Format::new().set_num_format("0.0%");
    let right = Format::new().set_align(FormatAlign::Right);
    let note = Format::new().set_italic().set_font_color("383F43");
    ws.write_string_with_format(0, 0, format!("Table {number}: {}", t.title), &title)?;
    let numeric: Vec<bool> = (0..t.header.len())
        .map(|i| {
            t.rows.iter().all(|r| r.get(i).is_some_and(|c| !matches!(cell(c), Cell::Text(x) if !x.is_empty() && x != "-" && x != "[c]" && !x.starts_with(|ch: char| ch.is_ascii_digit()))))
        })
        .collect();
    let hr = 2u32;
    for (c, h) in t.header.iter().enumerate() {
        let f = if numeric[c] { &head_num } else { &head };
        ws.write_string_with_format(hr, c as u16, h, f)?;
    }
    let mut widths: Vec<usize> = t.header.iter().map(|h| h.chars().count().min(18)).collect();
    for (i, r) in t.rows.iter().enumerate() {
        let row = hr + 1 + i as u32;
        for (c, v) in r.iter().enumerate() {
            let col = c as u16;
            match if numeric[c] { cell(v) } else { Cell::Text(v) } {
                Cell::Number(x) => {
                    ws.write_number(row, col, x)?;
                }
                Cell::Percent(x) => {
                    ws.write_number_with_format(row, col, x, &pct)?;
                }
                Cell::Text(s) if numeric[c] => {
                    ws.write_string_with_format(row, col, s, &right)?;
                }
                Cell::Text(s) => {
                    ws.write_string(row, col, s)?;
                }
            }
            if let Some(w) = widths.get_mut(c) {
                *w = (*w).max(v.chars().count());
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, ((*w).clamp(6, 90) + 2) as f64)?;
    }
    let mut row = hr + 2 + t.rows.len() as u32;
    for n in &t.notes {
        ws.write_string_with_format(row, 0, n, &note)?;
        row += 1;
    }
    ws.set_freeze_panes(hr + 1, 0)?;
    ws.set_repeat_rows(hr, hr)?;
    print_setup(ws);
    if let Some(c) = chart.filter(|c| !c.bars.is_empty()) {
        // The chart's data (bars only: sub-outcomes raised, or a closed question's options)
        // in a block to the right of the table, which the native chart plots.
        let col = t.header.len() as u16 + 1;
        let head = Format::new().set_bold();
        ws.write_string_with_format(hr, col, "Chart data", &head)?;
        ws.write_string_with_format(hr, col + 1, "% of base", &head)?;
        for (i, b) in c.bars.iter().enumerate() {
            let row = hr + 1 + i as u32;
            ws.write_string(row, col, &b.label)?;
            let share = if b.base == 0 { 0.0 } else { b.n as f64 / b.base as f64 };
            ws.write_number_with_format(row, col + 1, share, &pct)?;
        }
        let longest = c.bars.iter().map(|b| b.label.chars().count()).max().unwrap_or(10);
        ws.set_column_width(col, (longest.clamp(10, 60) + 2) as f64)?;
        ws.set_column_width(col + 1, 11)?;
        let (r0, r1) = (hr + 1, hr + c.bars.len() as u32);
        let mut chart = Chart::new(ChartType::Bar);
        chart
            .add_series()
            .set_categories((sheet, r0, col, r1, col))
            .set_values((sheet, r0, col + 1, r1, col + 1))
            .set_name("% of base");
        chart.title().set_name(&c.title);
        chart.legend().set_hidden();
        chart.y_axis().set_reverse().set_label_interval(1);
        chart.x_axis().set_num_format("0%");
        chart.set_width(760).set_height((110 + 24 * c.bars.len()) as u32);
        ws.insert_chart(row + 1, 0, &chart)?;
    }
    Ok(())
}

/// A4 landscape, one page wide, so a printed or PDF'd sheet keeps its columns together.
fn print_setup(ws: &mut Worksheet) {
    ws.set_paper_size(9).set_landscape().set_print_fit_to_pages(1, 0);
}

pub fn tables_xlsx(r: &Report) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let created = ExcelDateTime::from_ymd(2000, 1, 1)?;
    wb.set_properties(
        &DocProperties::new().set_title(&r.title).set_author("consult").set_creation_datetime(&created),
    );
    let tables = r.tables();
    let mut names: Vec<String> = vec!["Contents".into()];
    for (t, _) in &tables {
        let n = sheet_name(&t.name, &names);
        names.push(n);
    }
    {
        let bold = Format::new().set_bold().set_font_size(14);
        let ws = wb.add_worksheet();
        ws.set_name("Contents")?;
        ws.write_string_with_format(0, 0, &r.title, &bold)?;
        ws.write_string(1, 0, format!("Input: {}; rows read: {}", r.input, r.rows_read))?;
        ws.write_string(2, 0, super::NOT_A_VOTE)?;
        let head = Format::new().set_bold();
        ws.write_string_with_format(4, 0, "Sheet", &head)?;
        ws.write_string_with_format(4, 1, "Table", &head)?;
        for (i, (t, _)) in tables.iter().enumerate() {
            let name = &names[i + 1];
            ws.write_url_with_text(5 + i as u32, 0, Url::new(format!("internal:'{name}'!A1")), name)?;
            ws.write_string(5 + i as u32, 1, format!("Table {}: {}", i + 1, t.title))?;
        }
        let mut row = 6 + tables.len() as u32;
        ws.write_string_with_format(row, 0, "Notes", &head)?;
        for n in &r.notes {
            row += 1;
            ws.write_string(row, 0, n)?;
        }
        ws.set_column_width(0, 34)?;
        ws.set_column_width(1, 110)?;
        print_setup(ws);
    }
    for (i, (t, c)) in tables.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(&names[i + 1])?;
        write_table(ws, &names[i + 1], t, *c, i + 1)?;
    }
    Ok(wb.save_to_buffer()?)
}
