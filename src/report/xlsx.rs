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

/// Which table gets a chart: (categories column, values column, first and last body row).
fn chart_range(t: &TableData) -> Option<(u16, u16, usize, usize)> {
    let pct_col = t.header.iter().position(|h| h == "% of base")? as u16;
    let label_col = if t.header[0] == "Code" { 1 } else { 0 };
    let rows: Vec<usize> =
        (0..t.rows.len()).filter(|&i| t.rows[i].get(pct_col as usize).is_some_and(|c| c.ends_with('%'))).collect();
    let (first, last) = (*rows.first()?, *rows.last()?);
    // Only a contiguous run of percentages can be one series.
    (rows.len() == last - first + 1).then_some((label_col, pct_col, first, last))
}

fn write_table(ws: &mut Worksheet, sheet: &str, t: &TableData, number: usize) -> Result<()> {
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
            match cell(v) {
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
        ws.set_column_width(c as u16, ((*w).clamp(6, 70) + 2) as f64)?;
    }
    let mut row = hr + 2 + t.rows.len() as u32;
    for n in &t.notes {
        ws.write_string_with_format(row, 0, n, &note)?;
        row += 1;
    }
    ws.set_freeze_panes(hr + 1, 0)?;
    ws.set_repeat_rows(hr, hr)?;
    print_setup(ws);
    if let Some((cat, val, first, last)) = chart_range(t) {
        let (r0, r1) = (hr + 1 + first as u32, hr + 1 + last as u32);
        let mut chart = Chart::new(ChartType::Bar);
        chart
            .add_series()
            .set_categories((sheet, r0, cat, r1, cat))
            .set_values((sheet, r0, val, r1, val))
            .set_name(t.header[val as usize].as_str());
        chart.title().set_name(&t.title);
        chart.legend().set_hidden();
        chart.y_axis().set_reverse();
        chart.x_axis().set_num_format("0%");
        chart.set_width(720).set_height((120 + 22 * (last - first + 1)) as u32);
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
    for t in &tables {
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
        for (i, t) in tables.iter().enumerate() {
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
    for (i, t) in tables.iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(&names[i + 1])?;
        write_table(ws, &names[i + 1], t, i + 1)?;
    }
    Ok(wb.save_to_buffer()?)
}
