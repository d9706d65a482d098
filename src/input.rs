//! Reading a survey export: the one place that builds CSV readers and opens workbooks.
//!
//! CSV/TSV: the file is read as bytes and decoded (UTF-8 with or without BOM; UTF-16 with a
//! BOM, as Excel's "Unicode text"; Windows-1252 when the bytes hold no UTF-8 at all), the
//! delimiter is detected from the header line, and every record is kept with the line it
//! starts on. A record that cannot be used (wrong number of fields, a field that is not
//! UTF-8) is kept aside as rejected, with its line and the reason, so every row read ends up
//! coded, blank or rejected. XLSX, XLSM, XLS and ODS are read through calamine (first sheet,
//! or a named one); row numbers are the sheet's.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// An export as read: headers, usable rows, rejected rows.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
    pub rejected: Vec<Rejected>,
    pub delimiter: u8,
    /// How the file was read, e.g. `csv utf-8`, `csv windows-1252`, `xlsx sheet "Responses"`.
    pub format: String,
    /// The survey platform whose export layout was recognised.
    pub platform: Platform,
    /// Rows at the top taken as headers (not counted as rows read).
    pub header_rows: usize,
    /// Cells (headers included) whose Excel mojibake ("â€™", "Â£") was repaired.
    pub repaired_cells: usize,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// Line in the file where the record starts (1-based; the first header row is line 1).
    pub line: u64,
    pub fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
    /// First field of the record as far as it could be read, for tracing.
    pub first_field: String,
}

/// An input error: the message names the file, and the row and column where they apply.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// How to read an export: which workbook sheet, and how many header rows (detected if None).
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub sheet: Option<String>,
    pub header_rows: Option<usize>,
}

/// Survey platforms whose export layouts are recognised (see [`shape_headers`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Platform {
    /// One header row, no platform recognised.
    Generic,
    SurveyMonkey,
    Qualtrics,
    MicrosoftForms,
    GoogleForms,
    CitizenSpace,
    SmartSurvey,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Generic => "generic",
            Platform::SurveyMonkey => "SurveyMonkey",
            Platform::Qualtrics => "Qualtrics",
            Platform::MicrosoftForms => "Microsoft Forms",
            Platform::GoogleForms => "Google Forms",
            Platform::CitizenSpace => "Citizen Space",
            Platform::SmartSurvey => "SmartSurvey",
        }
    }
}

/// SurveyMonkey's sub-answer labels that stand for the question itself.
const MONKEY_SINGLE: &[&str] = &["response", "open-ended response", "open ended response"];

/// The most header rows an export can have (`--header-rows` is checked against it).
pub const MAX_HEADER_ROWS: usize = 10;

/// Decides how many of the first rows are headers and what the columns are called.
///
/// - Qualtrics: three rows, the third holding `{"ImportId":...}` JSON: the second row
///   (question text) names the columns, falling back to the first (internal id) where empty.
/// - SurveyMonkey: two rows, the first (questions) blank over its sub-columns and the second
///   holding "Response", "Open-Ended Response" or option labels: the question is filled
///   forward and combined as "Question - Sub-answer"; "Response" sub-answers collapse to the
///   question.
/// - Otherwise one row.
///
/// `forced` (`--header-rows N`) overrides the count: N rows are combined the SurveyMonkey way
/// (the Qualtrics way when the last row is ImportId JSON). Duplicate names get " (2)", " (3)".
pub fn shape_headers(head: &[Vec<String>], forced: Option<usize>) -> (usize, Vec<String>) {
    let is_import_id = |c: &str| c.trim_start().starts_with("{\"ImportId\"");
    let qualtrics_row = |r: &Vec<String>| {
        let filled: Vec<&String> = r.iter().filter(|c| !c.trim().is_empty()).collect();
        !filled.is_empty() && filled.iter().filter(|c| is_import_id(c)).count() * 2 >= filled.len()
    };
    let n = match forced {
        Some(n) => n.clamp(1, head.len().max(1)),
        None if head.len() >= 3 && qualtrics_row(&head[2]) => 3,
        None if head.len() >= 2 && monkey_shape(&head[0], &head[1]) => 2,
        None => 1,
    };
    let width = head.iter().take(n).map(Vec::len).max().unwrap_or(0);
    let cell = |r: usize, c: usize| head.get(r).and_then(|row| row.get(c)).map_or("", |s| s.trim());
    let names: Vec<String> = if n == 1 {
        (0..width).map(|c| cell(0, c).to_string()).collect()
    } else if qualtrics_row(&head[n - 1]) {
        // The row just above the ImportId row holds the question text.
        (0..width)
            .map(|c| {
                (0..n - 1).rev().map(|r| cell(r, c)).find(|s| !s.is_empty()).unwrap_or("").to_string()
            })
            .collect()
    } else {
        // Fill each upper row forward over its blank cells, then join the non-empty parts.
        let mut filled: Vec<Vec<String>> = Vec::new();
        for r in 0..n - 1 {
            let mut last = String::new();
            let row: Vec<String> = (0..width)
                .map(|c| {
                    let v = cell(r, c);
                    // Only fill over a sub-column: a blank above a blank stays blank.
                    if !v.is_empty() {
                        last = v.to_string();
                        last.clone()
                    } else if (r + 1..n).any(|below| !cell(below, c).is_empty()) {
                        last.clone()
                    } else {
                        String::new()
                    }
                })
                .collect();
            filled.push(row);
        }
        (0..width)
            .map(|c| {
                let mut parts: Vec<&str> = filled.iter().map(|row| row[c].as_str()).filter(|s| !s.is_empty()).collect();
                parts.dedup();
                let sub = cell(n - 1, c);
                // SurveyMonkey's "Response" under a question adds nothing to the question's name.
                let bare_response = MONKEY_SINGLE.contains(&sub.to_lowercase().as_str()) && !parts.is_empty();
                if !sub.is_empty() && !bare_response && parts.last() != Some(&sub) {
                    parts.push(sub);
                }
                parts.join(" - ")
            })
            .collect()
    };
    (n, distinct_names(names))
}

/// SurveyMonkey's two-row shape: the question row is blank over some sub-columns that the
/// second row names, and the second row holds "Response"/"Open-Ended Response" or is blank
/// under the respondent metadata.
fn monkey_shape(top: &[String], sub: &[String]) -> bool {
    let blank_over_sub = (1..top.len()).any(|c| top[c].trim().is_empty() && sub.get(c).is_some_and(|s| !s.trim().is_empty()));
    let has_response = sub.iter().any(|s| MONKEY_SINGLE.contains(&s.trim().to_lowercase().as_str()));
    let blank_under_meta = top.first().is_some_and(|t| !t.trim().is_empty()) && sub.first().is_some_and(|s| s.trim().is_empty());
    has_response && (blank_over_sub || blank_under_meta)
}

/// Keeps duplicate column names apart: the second "Comments" becomes "Comments (2)".
fn distinct_names(names: Vec<String>) -> Vec<String> {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let taken: std::collections::HashSet<String> = names.iter().cloned().collect();
    names
        .into_iter()
        .map(|h| {
            if h.is_empty() {
                return h;
            }
            let n = seen.entry(h.clone()).or_insert(0);
            *n += 1;
            if *n == 1 {
                return h;
            }
            let mut k = *n;
            while taken.contains(&format!("{h} ({k})")) {
                k += 1;
            }
            format!("{h} ({k})")
        })
        .collect()
}

/// Names the platform from the header names (and, for Citizen Space, the response ids).
pub fn detect_platform(headers: &[String], header_rows: usize, first_ids: &[&str]) -> Platform {
    let lower: Vec<String> = headers.iter().map(|h| h.to_lowercase()).collect();
    let has = |n: &str| lower.iter().any(|h| h == n);
    if header_rows >= 3 || (has("responseid") && has("startdate")) || (has("response id") && has("recorded date") && has("distribution channel")) {
        return Platform::Qualtrics;
    }
    if header_rows == 2 || (has("respondent id") && has("collector id")) {
        return Platform::SurveyMonkey;
    }
    if lower.first().is_some_and(|h| h == "id") && has("start time") && has("completion time") {
        return Platform::MicrosoftForms;
    }
    if lower.first().is_some_and(|h| h == "timestamp") {
        return Platform::GoogleForms;
    }
    if has("userno") || (has("userid") && has("started") && has("ended")) {
        return Platform::SmartSurvey;
    }
    let cs_ids = !first_ids.is_empty()
        && first_ids.iter().all(|v| {
            let v = v.trim();
            (v.starts_with("ANON-") || v.starts_with("BHLF-")) && v.len() == 19
        });
    let tag_cols = lower.iter().any(|h| h.contains("analyst") || h.ends_with(" tags") || h == "tags");
    if lower.first().is_some_and(|h| h == "response id") && (cs_ids || tag_cols) {
        return Platform::CitizenSpace;
    }
    Platform::Generic
}

impl Table {
    /// A long export (one answer a row, its question in column `question`, its text in column
    /// `answer`) laid out as a survey export: the two columns give way to one column per
    /// question, named by the question and in order of first appearance, each row's answer
    /// under its question and the other questions' cells empty. Every row stays a row, with its
    /// line; a row with no question is rejected, and the reason names the column. Also gives
    /// the question columns, and each row's question (its index among them) by line.
    pub fn long_to_wide(mut self, question: usize, answer: usize) -> (Table, Vec<usize>, std::collections::HashMap<u64, usize>) {
        let mut asked: Vec<String> = Vec::new();
        let mut rows = Vec::with_capacity(self.rows.len());
        for r in std::mem::take(&mut self.rows) {
            let q = r.fields[question].trim().to_string();
            if q.is_empty() {
                self.rejected.push(Rejected {
                    line: r.line,
                    reason: format!("no question in column {} ({}) for its answer", question + 1, self.headers[question]),
                    first_field: r.fields.first().cloned().unwrap_or_default(),
                });
                continue;
            }
            let k = asked.iter().position(|a| *a == q).unwrap_or_else(|| {
                asked.push(q);
                asked.len() - 1
            });
            rows.push((r, k));
        }
        let keep: Vec<usize> = (0..self.headers.len()).filter(|&c| c != question && c != answer).collect();
        let asked_in = rows.iter().map(|(r, k)| (r.line, *k)).collect();
        self.rows = rows
            .into_iter()
            .map(|(r, k)| {
                let mut fields: Vec<String> = keep.iter().map(|&c| r.fields[c].clone()).collect();
                fields.extend((0..asked.len()).map(|j| if j == k { r.fields[answer].clone() } else { String::new() }));
                Row { line: r.line, fields }
            })
            .collect();
        self.rejected.sort_by_key(|r| r.line);
        let columns = (keep.len()..keep.len() + asked.len()).collect();
        self.headers = keep.iter().map(|&c| self.headers[c].clone()).chain(asked).collect();
        (self, columns, asked_in)
    }

    pub fn rows_read(&self) -> usize {
        self.rows.len() + self.rejected.len()
    }

    /// The table, or an error naming the file, line and reason of its first rejected row: for
    /// inputs whose every row counts (a coded sample, a gold file, label files), where a row
    /// quietly left out would change what is learnt or measured.
    pub fn read_whole(path: &Path) -> Result<Table> {
        let t = Table::read(path)?;
        if let Some(r) = t.rejected.first() {
            let more = match t.rejected.len() {
                1 => String::new(),
                n => format!(" ({} more rows rejected)", n - 1),
            };
            bail!("{}: line {}: {}{more}; mend or remove the row and run again", path.display(), r.line, r.reason);
        }
        Ok(t)
    }

    pub fn read(path: &Path) -> Result<Table> {
        Self::open(path, &ReadOptions::default())
    }

    /// Reads a CSV/TSV export, or a workbook's named sheet (first sheet when `sheet` is None).
    pub fn read_sheet(path: &Path, sheet: Option<&str>) -> Result<Table> {
        Self::open(path, &ReadOptions { sheet: sheet.map(String::from), header_rows: None })
    }

    pub fn open(path: &Path, opts: &ReadOptions) -> Result<Table> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if !path.exists() {
            bail!(InputError(format!(
                "{}: cannot read the file: no such file; check the path (and the folder you run consult from)",
                path.display()
            )));
        }
        if matches!(ext.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods") {
            return Self::from_workbook(path, opts);
        }
        let bytes = std::fs::read(path).map_err(|e| {
            InputError(format!("{}: cannot read the file: {e}", path.display()))
        })?;
        Self::from_bytes_with(path, &bytes, opts.header_rows)
    }

    fn from_workbook(path: &Path, opts: &ReadOptions) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| InputError(format!("{}: cannot read the file: {e}", path.display())))?;
        Self::from_workbook_bytes(path, &bytes, opts)
    }

    /// Reads a workbook held in memory; the format is taken from `path`'s extension
    /// (xlsx/xlsm, xlsb, xls, ods; any other: tried in turn).
    pub fn from_workbook_bytes(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<Table> {
        use calamine::{open_workbook_from_rs, Data, Reader, Sheets};
        let rs = std::io::Cursor::new(bytes);
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let opened: std::result::Result<Sheets<_>, calamine::Error> = match ext.as_str() {
            "xls" => open_workbook_from_rs(rs).map(Sheets::Xls).map_err(calamine::Error::Xls),
            "xlsx" | "xlsm" => open_workbook_from_rs(rs).map(Sheets::Xlsx).map_err(calamine::Error::Xlsx),
            "xlsb" => open_workbook_from_rs(rs).map(Sheets::Xlsb).map_err(calamine::Error::Xlsb),
            "ods" => open_workbook_from_rs(rs).map(Sheets::Ods).map_err(calamine::Error::Ods),
            _ => calamine::open_workbook_auto_from_rs(rs),
        };
        let mut wb = opened.map_err(|e| {
            let msg = e.to_string();
            if msg.to_lowercase().contains("password") {
                InputError(format!(
                    "{}: the workbook is password-protected; open it in Excel, remove the password (File > Info > Protect Workbook > Encrypt with Password) and save a copy",
                    path.display()
                ))
            } else {
                InputError(format!(
                    "{}: cannot open the workbook ({msg}); it may be damaged or not really a workbook: open it in Excel and save it again, or export CSV UTF-8",
                    path.display()
                ))
            }
        })?;
        let names = wb.sheet_names();
        let name = match opts.sheet.as_deref() {
            Some(s) => names.iter().find(|n| n.as_str() == s).cloned().ok_or_else(|| {
                InputError(format!("{}: no sheet {s:?}; sheets: {}", path.display(), names.join(", ")))
            })?,
            None => names
                .first()
                .cloned()
                .ok_or_else(|| InputError(format!("{}: the workbook has no sheets", path.display())))?,
        };
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| InputError(format!("{}: sheet {name:?}: cannot read ({e}); open it in Excel and save it again", path.display())))?;
        let cell = |d: &Data| -> String {
            match d {
                Data::DateTime(dt) => dt
                    .as_datetime()
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| d.to_string()),
                _ => d.to_string(),
            }
        };
        // Sheet row numbers: the range may start below row 1.
        let first_row = range.start().map_or(0, |(r, _)| r as u64);
        let mut repaired = 0;
        let mut all: Vec<(u64, Vec<String>)> = range
            .rows()
            .enumerate()
            .map(|(i, r)| (first_row + i as u64 + 1, r.iter().map(|c| repair(cell(c), &mut repaired)).collect()))
            .collect();
        if all.is_empty() {
            bail!(InputError(format!("{}: sheet {name:?} is empty; choose the sheet with the responses (--sheet NAME)", path.display())));
        }
        let head: Vec<Vec<String>> = all.iter().take(3).map(|(_, r)| r.clone()).collect();
        let (n, headers) = shape_headers(&head, opts.header_rows);
        if headers.iter().all(|h| h.is_empty()) {
            bail!(InputError(format!(
                "{}: sheet {name:?}, row {}: the header row is empty; the first row must name the columns",
                path.display(),
                first_row + 1
            )));
        }
        let data = all.split_off(n.min(all.len()));
        let rows: Vec<Row> = data
            .into_iter()
            .map(|(line, fields)| Row { line, fields })
            .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()))
            .collect();
        let platform = platform_of(&headers, n, &rows);
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            rows,
            rejected: vec![],
            delimiter: b',',
            format: format!("{} sheet {name:?}", path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()),
            platform,
            header_rows: n,
            repaired_cells: repaired,
        })
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        Self::from_bytes_with(path, bytes, None)
    }

    /// Reads CSV/TSV bytes; `header_rows` None detects the header shape.
    pub fn from_bytes_with(path: &Path, bytes: &[u8], header_rows: Option<usize>) -> Result<Table> {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(InputError(format!(
                "{}: the file is empty; export the survey responses again (CSV with a header row)",
                path.display()
            ))
            .into());
        }
        let (decoded, encoding) = decode(bytes).map_err(|why| InputError(format!("{}: {why}", path.display())))?;
        let bytes: &[u8] = decoded.as_ref();
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(InputError(format!(
                "{}: the file is empty; export the survey responses again (CSV with a header row)",
                path.display()
            ))
            .into());
        }
        let delimiter = detect_delimiter(bytes);
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        // The first few records, to find the header shape; the rest are read as they come.
        let mut records = rdr.byte_records();
        let mut first: Vec<Result<csv::ByteRecord, csv::Error>> = Vec::new();
        for _ in 0..header_rows.unwrap_or(3).max(3) {
            match records.next() {
                Some(r) => first.push(r),
                None => break,
            }
        }
        let mut head: Vec<Vec<String>> = Vec::new();
        for r in &first {
            match r {
                Ok(rec) => head.push(rec.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()),
                Err(_) => break,
            }
        }
        if head.is_empty() {
            match first.into_iter().next() {
                Some(Err(e)) => bail!(InputError(format!("{}: row 1: cannot read the header: {e}; save the file again as CSV UTF-8", path.display()))),
                _ => bail!(InputError(format!("{}: no header row; the first row must name the columns", path.display()))),
            }
        }
        let (n, headers) = shape_headers(&head, header_rows);
        if let Some(forced) = header_rows {
            if forced > head.len() {
                bail!(InputError(format!(
                    "{}: --header-rows {forced}, but the file has only {} rows",
                    path.display(),
                    head.len()
                )));
            }
        }
        for (r, row) in first.iter().take(n).enumerate() {
            if let Ok(rec) = row {
                if let Some(i) = rec.iter().position(|f| std::str::from_utf8(f).is_err()) {
                    bail!(InputError(format!(
                        "{}: row {}, column {}: the header is not UTF-8; save the file as \"CSV UTF-8\"",
                        path.display(),
                        r + 1,
                        i + 1
                    )));
                }
            }
        }
        let mut repaired = 0;
        let headers: Vec<String> = headers.into_iter().map(|h| repair(h, &mut repaired)).collect();
        if headers.iter().all(|h| h.is_empty()) {
            bail!(InputError(format!(
                "{}: row 1: the header row is empty; the first row must name the columns",
                path.display()
            )));
        }
        // Physical line of a byte offset (the csv crate's line count skips newlines inside
        // quoted fields, so it is computed here from the bytes).
        // Line breaks: LF, CRLF, and a bare CR (old Mac files; the csv crate ends records there too).
        let mut newline_at: Vec<u64> = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' || (*b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                newline_at.push(i as u64);
            }
        }
        // A record's position can point at the previous record's line terminator: skip it.
        let line_of = |pos: Option<&csv::Position>| -> u64 {
            pos.map_or(0, |p| {
                let mut start = p.byte() as usize;
                while start < bytes.len() && (bytes[start] == b'\r' || bytes[start] == b'\n') {
                    start += 1;
                }
                newline_at.partition_point(|&n| n < start as u64) as u64 + 1
            })
        };
        let mut rows = Vec::new();
        let mut rejected = Vec::new();
        for next in first.into_iter().skip(n).chain(records) {
            let rec = match next {
                Ok(r) => r,
                Err(e) => {
                    let line = line_of(e.position());
                    rejected.push(Rejected { line, reason: format!("unreadable record: {e}"), first_field: String::new() });
                    continue;
                }
            };
            let line = line_of(rec.position());
            let first_field = rec.get(0).map(|f| String::from_utf8_lossy(f).into_owned()).unwrap_or_default();
            if rec.len() != headers.len() {
                rejected.push(Rejected {
                    line,
                    reason: format!("has {} fields where the header has {}", rec.len(), headers.len()),
                    first_field,
                });
                continue;
            }
            let mut fields = Vec::with_capacity(rec.len());
            let mut bad = None;
            for (i, f) in rec.iter().enumerate() {
                match std::str::from_utf8(f) {
                    Ok(s) => fields.push(repair(s.to_string(), &mut repaired)),
                    Err(_) => {
                        bad = Some(i);
                        break;
                    }
                }
            }
            if let Some(i) = bad {
                rejected.push(Rejected {
                    line,
                    reason: format!("column {} ({:?}) is not valid UTF-8", i + 1, headers[i]),
                    first_field,
                });
                continue;
            }
            rows.push(Row { line, fields });
        }
        let format = format!("{} {encoding}", if delimiter == b'\t' { "tsv" } else { "csv" });
        let platform = platform_of(&headers, n, &rows);
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            rows,
            rejected,
            delimiter,
            format,
            platform,
            header_rows: n,
            repaired_cells: repaired,
        })
    }

    /// Resolves a column named by exact header, case-insensitive header, unique prefix, or
    /// 1-based position; an unknown name gets the closest headers suggested.
    pub fn column(&self, name: &str) -> Result<usize> {
        let n = name.trim();
        if let Some(i) = self.headers.iter().position(|h| h == n) {
            return Ok(i);
        }
        let lower = n.to_lowercase();
        let ci: Vec<usize> = (0..self.headers.len()).filter(|&i| self.headers[i].to_lowercase() == lower).collect();
        if ci.len() == 1 {
            return Ok(ci[0]);
        }
        let prefix: Vec<usize> = (0..self.headers.len())
            .filter(|&i| self.headers[i].to_lowercase().starts_with(&lower))
            .collect();
        if prefix.len() == 1 {
            return Ok(prefix[0]);
        }
        if let Ok(pos) = n.parse::<usize>() {
            if pos >= 1 && pos <= self.headers.len() {
                return Ok(pos - 1);
            }
        }
        let mut near: Vec<&str> = self
            .headers
            .iter()
            .filter(|h| {
                let h = h.to_lowercase();
                h.contains(&lower) || lower.split_whitespace().any(|w| w.len() > 3 && h.contains(w))
            })
            .map(|h| h.as_str())
            .take(5)
            .collect();
        let what = if prefix.len() > 1 { "matches several columns" } else { "is not a column" };
        if near.is_empty() {
            near = self.headers.iter().map(|h| h.as_str()).take(8).collect();
        }
        bail!(InputError(format!(
            "{}: row 1: {name:?} {what}; closest: {}",
            self.path.display(),
            near.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ")
        )))
    }

    pub fn values(&self, col: usize) -> impl Iterator<Item = &str> {
        self.rows.iter().map(move |r| r.fields[col].as_str())
    }

    /// Columns that look like open free-text questions: most non-empty answers have several
    /// words, they are long on average, and mostly distinct.
    pub fn detect_text_columns(&self, exclude: &[usize]) -> Vec<usize> {
        (0..self.headers.len())
            .filter(|c| !exclude.contains(c))
            .filter(|&c| {
                let vals: Vec<&str> = self.values(c).map(str::trim).filter(|v| !v.is_empty()).collect();
                if vals.len() < 3 {
                    return false;
                }
                let mean_len = vals.iter().map(|v| v.chars().count()).sum::<usize>() as f64 / vals.len() as f64;
                let multiword = vals.iter().filter(|v| v.split_whitespace().count() >= 3).count() as f64 / vals.len() as f64;
                let distinct = vals.iter().collect::<std::collections::HashSet<_>>().len() as f64 / vals.len() as f64;
                mean_len >= 25.0 && multiword >= 0.5 && distinct >= 0.5
            })
            .collect()
    }

    /// The respondent id column: a header that names an id, with unique non-empty values.
    pub fn detect_id_column(&self) -> Option<usize> {
        (0..self.headers.len()).find(|&c| {
            let h = self.headers[c].to_lowercase();
            let named = h == "id" || h.ends_with(" id") || h.starts_with("id ") || h.contains("respondent id")
                || h.contains("response id") || h.contains("reference") || h == "respondentid" || h == "responseid"
                || h == "userid";
            if !named {
                return false;
            }
            let vals: Vec<&str> = self.values(c).map(str::trim).collect();
            vals.iter().all(|v| !v.is_empty()) && vals.iter().collect::<std::collections::HashSet<_>>().len() == vals.len()
        })
    }
}

/// What a column holds, as `consult inspect` and `analyse` judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Id,
    OpenText,
    ClosedQuestion,
    Attribute,
    PersonalData,
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Id => "id",
            Role::OpenText => "open text",
            Role::ClosedQuestion => "closed question",
            Role::Attribute => "respondent attribute",
            Role::PersonalData => "personal data",
            Role::Other => "other",
        }
    }
}

const PERSONAL_HEADERS: &[&str] = &[
    "name", "first name", "last name", "surname", "full name", "email", "e-mail", "email address",
    "phone", "telephone", "phone number", "mobile", "address", "postcode", "post code",
    "ip address", "ipaddress", "recipientemail", "recipientfirstname", "recipientlastname",
];

/// Survey platforms' own columns (times, progress, channels), folded: not answers.
const METADATA_HEADERS: &[&str] = &[
    "timestamp", "start date", "end date", "start time", "completion time", "last modified time",
    "started", "ended", "recorded date", "submitted", "submitted on", "date submitted",
    "response type", "progress", "duration in seconds", "finished", "distribution channel",
    "user language", "collector id", "userno", "unique id", "tracking link", "status",
    "startdate", "enddate", "recordeddate", "distributionchannel", "userlanguage",
];

/// Analysts' own columns (Citizen Space tags and notes) and platforms' metadata columns
/// (times, progress): not respondents' answers.
fn analyst_column(header: &str, values: &[&str]) -> bool {
    let h = crate::normalise::fold(header);
    if h.contains("analyst") || h == "tags" || h.ends_with(" tags") || h.starts_with("tags ")
        || METADATA_HEADERS.contains(&h.as_str())
    {
        return true;
    }
    // Date-times: digits and separators, words only AM/PM or a time zone.
    let filled: Vec<&&str> = values.iter().filter(|v| !v.trim().is_empty()).collect();
    let date_like = |v: &str| {
        v.chars().filter(|c| c.is_ascii_digit()).count() >= 4
            && (v.contains(':') || v.contains('/') || v.contains('-'))
            && v.split(|c: char| !c.is_alphabetic())
                .filter(|w| !w.is_empty())
                .all(|w| ["am", "pm", "gmt", "bst", "utc", "t", "z"].contains(&w.to_lowercase().as_str()))
    };
    !filled.is_empty() && filled.iter().all(|v| date_like(v))
}

fn looks_personal(header: &str, values: &[&str]) -> bool {
    let h = crate::normalise::fold(header);
    if PERSONAL_HEADERS.iter().any(|p| h == *p || h.starts_with(&format!("{p} ")) || h.ends_with(&format!(" {p}")))
        || h.contains("email") || h.contains("telephone") || h.contains("postcode")
    {
        return true;
    }
    let filled: Vec<&&str> = values.iter().filter(|v| !v.trim().is_empty()).collect();
    !filled.is_empty() && filled.iter().filter(|v| v.contains('@') && !v.contains(' ')).count() * 2 > filled.len()
}

impl Table {
    /// The role of every column, in order.
    pub fn roles(&self) -> Vec<Role> {
        let id = self.detect_id_column();
        let personal: Vec<usize> = (0..self.headers.len())
            .filter(|&c| Some(c) != id && looks_personal(&self.headers[c], &self.values(c).collect::<Vec<_>>()))
            .collect();
        let mut exclude = personal.clone();
        exclude.extend(id);
        let analyst: Vec<usize> = (0..self.headers.len())
            .filter(|&c| Some(c) != id && analyst_column(&self.headers[c], &self.values(c).collect::<Vec<_>>()))
            .collect();
        exclude.extend(&analyst);
        let text = self.detect_text_columns(&exclude);
        (0..self.headers.len())
            .map(|c| {
                if Some(c) == id {
                    Role::Id
                } else if personal.contains(&c) {
                    Role::PersonalData
                } else if analyst.contains(&c) {
                    Role::Other
                } else if text.contains(&c) {
                    Role::OpenText
                } else {
                    let distinct: std::collections::HashSet<&str> =
                        self.values(c).map(str::trim).filter(|v| !v.is_empty()).collect();
                    let h = self.headers[c].to_lowercase();
                    let question = h.contains('?') || h.contains("agree") || h.contains("to what extent")
                        || h.contains("how ") || h.contains("do you") || h.contains("would you");
                    if distinct.is_empty() || distinct.len() > 40 {
                        Role::Other
                    } else if question && distinct.len() <= 12 {
                        Role::ClosedQuestion
                    } else {
                        Role::Attribute
                    }
                }
            })
            .collect()
    }
}

/// A cell with its mojibake repaired (see [`crate::normalise::repair_mojibake`]), counted.
fn repair(s: String, count: &mut usize) -> String {
    match crate::normalise::repair_mojibake(&s) {
        Some(fixed) => {
            *count += 1;
            fixed
        }
        None => s,
    }
}

fn platform_of(headers: &[String], header_rows: usize, rows: &[Row]) -> Platform {
    let ids: Vec<&str> = rows.iter().take(20).filter_map(|r| r.fields.first().map(String::as_str)).collect();
    detect_platform(headers, header_rows, &ids)
}

/// Turns the file's bytes into UTF-8 bytes, naming the encoding:
/// - a BOM decides (UTF-8, UTF-16LE/BE);
/// - UTF-16 without a BOM is recognised by its zero bytes;
/// - valid UTF-8 is kept; so is mostly-UTF-8 text with a few invalid bytes (more valid
///   multi-byte characters than invalid sequences, or as many), whose bad records are rejected one by one;
/// - anything else goes to chardetng (Windows-1252 for Excel's "CSV" on Windows, or the
///   legacy encoding it recognises) and is decoded from that;
/// - other zero bytes mean a binary file: an error (the text encoding is unknown).
pub fn decode(bytes: &[u8]) -> std::result::Result<(std::borrow::Cow<'_, [u8]>, String), String> {
    use std::borrow::Cow;
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        if enc == encoding_rs::UTF_8 {
            return Ok((Cow::Borrowed(&bytes[bom_len..]), "utf-8".into()));
        }
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let name = if enc == encoding_rs::UTF_16LE { "utf-16le" } else { "utf-16be" };
        return Ok((Cow::Owned(text.into_owned().into_bytes()), name.into()));
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err("this is a workbook (XLSX/XLS), not a CSV file; give it its .xlsx or .xls name, or save it as CSV UTF-8".into());
    }
    let zeros = bytes.iter().filter(|&&b| b == 0).count();
    if zeros > 0 {
        let (mut even, mut odd) = (0usize, 0usize);
        for (i, &b) in bytes.iter().enumerate() {
            if b == 0 {
                if i % 2 == 0 { even += 1 } else { odd += 1 }
            }
        }
        let half = bytes.len() / 2;
        let enc = if odd * 10 >= half * 3 && even * 20 <= odd { Some(encoding_rs::UTF_16LE) }
            else if even * 10 >= half * 3 && odd * 20 <= even { Some(encoding_rs::UTF_16BE) }
            else { None };
        return match enc {
            Some(enc) => {
                let (text, _) = enc.decode_without_bom_handling(bytes);
                let name = if enc == encoding_rs::UTF_16LE { "utf-16le" } else { "utf-16be" };
                Ok((Cow::Owned(text.into_owned().into_bytes()), name.into()))
            }
            None => Err("the text encoding is not recognised (the file holds zero bytes, as binary files do); export the responses as CSV UTF-8".into()),
        };
    }
    if std::str::from_utf8(bytes).is_ok() {
        return Ok((Cow::Borrowed(bytes), "utf-8".into()));
    }
    let (mut valid, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        valid += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += usize::from(!chunk.invalid().is_empty());
    }
    if valid >= invalid {
        return Ok((Cow::Borrowed(bytes), "utf-8 (with invalid bytes)".into()));
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(bytes, true);
    let enc = det.guess(None, false);
    let (text, _, _) = enc.decode(bytes);
    Ok((Cow::Owned(text.into_owned().into_bytes()), enc.name().to_lowercase()))
}

/// The most frequent of `,` `;` tab `|` on the header line, outside quotes (`,` on a tie).
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = cands.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap();
    if counts[best] == 0 { b',' } else { cands[best] }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(s: &str) -> Table {
        Table::from_bytes(Path::new("t.csv"), s.as_bytes()).unwrap()
    }

    #[test]
    fn bom_multiline_and_ragged_rows_are_accounted_for() {
        let t = table("\u{feff}id,comment\r\n1,\"two\r\nlines\"\r\n2,a,b\r\n3,plain\r\n");
        assert_eq!(t.headers, vec!["id", "comment"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].fields[1], "two\r\nlines");
        assert_eq!(t.rows[1].line, 5);
        assert_eq!(t.rejected.len(), 1);
        assert_eq!(t.rejected[0].line, 4);
        assert_eq!(t.rejected[0].reason, "has 3 fields where the header has 2");
        assert_eq!(t.rows_read(), 3);
    }

    #[test]
    fn utf16_and_windows_1252_exports_are_decoded() {
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "id\tcomment\r\n1\tCaf\u{e9} £5 😡\r\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let t = Table::from_bytes(Path::new("u.txt"), &utf16).unwrap();
        assert_eq!(t.format, "tsv utf-16le");
        assert_eq!(t.rows[0].fields[1], "Caf\u{e9} £5 😡");

        let cp1252 = b"id,comment\r\n1,It\x92s \xA35 a caf\xE9\r\n";
        let t = Table::from_bytes(Path::new("w.csv"), cp1252).unwrap();
        assert_eq!(t.format, "csv windows-1252");
        assert_eq!(t.rows[0].fields[1], "It\u{2019}s £5 a caf\u{e9}");

        // Mostly UTF-8 with one bad record: that record alone is rejected.
        let mixed = b"id,comment\n1,caf\xC3\xA9\n2,bad \xFF byte\n";
        let t = Table::from_bytes(Path::new("m.csv"), mixed).unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rejected[0].line, 3);
        assert!(t.rejected[0].reason.contains("not valid UTF-8"), "{}", t.rejected[0].reason);
    }

    /// Found by proptest (tests/ingest.rs): records ended by a bare CR all got line 1.
    #[test]
    fn bare_cr_line_endings_give_each_record_its_own_line() {
        let t = table("id,comment\r1,a\r2,\"b\rc\"\r3,d\r");
        assert_eq!(t.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 3, 5]);
        let t = Table::from_bytes(Path::new("p.csv"), &[1, 1, 13, 1]).unwrap();
        assert_eq!((t.rows.len(), t.rows[0].line), (1, 2));
    }

    #[test]
    fn semicolon_delimiter_is_detected() {
        let t = table("id;text\n1;hello, world\n");
        assert_eq!(t.delimiter, b';');
        assert_eq!(t.rows[0].fields[1], "hello, world");
    }

    #[test]
    fn columns_resolve_by_name_prefix_and_position_with_suggestions() {
        let t = table("Response ID,Do you have any comments on the plan?,District\n1,x,y\n");
        assert_eq!(t.column("District").unwrap(), 2);
        assert_eq!(t.column("do you have").unwrap(), 1);
        assert_eq!(t.column("1").unwrap(), 0);
        let e = t.column("comments").unwrap_err().to_string();
        assert!(e.contains("t.csv: row 1: \"comments\" is not a column; closest: \"Do you have any comments on the plan?\""), "{e}");
    }

    #[test]
    fn empty_file_is_an_error_naming_the_file() {
        let e = Table::from_bytes(Path::new("e.csv"), b"").unwrap_err().to_string();
        assert!(e.starts_with("e.csv: the file is empty"), "{e}");
    }
}
