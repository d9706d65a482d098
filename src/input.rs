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
}

#[derive(Debug, Clone)]
pub struct Row {
    /// Line in the file where the record starts (1-based; the header is line 1).
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

impl Table {
    pub fn rows_read(&self) -> usize {
        self.rows.len() + self.rejected.len()
    }

    pub fn read(path: &Path) -> Result<Table> {
        Self::read_sheet(path, None)
    }

    /// Reads a CSV/TSV export, or a workbook's named sheet (first sheet when `sheet` is None).
    pub fn read_sheet(path: &Path, sheet: Option<&str>) -> Result<Table> {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if matches!(ext.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods") {
            if !path.is_file() {
                bail!(InputError(format!("{}: cannot read the file: no such file", path.display())));
            }
            return Self::from_workbook(path, sheet);
        }
        let bytes = std::fs::read(path).map_err(|e| {
            InputError(format!("{}: cannot read the file: {e}", path.display()))
        })?;
        Self::from_bytes(path, &bytes)
    }

    fn from_workbook(path: &Path, sheet: Option<&str>) -> Result<Table> {
        use calamine::{open_workbook_auto, Data, Reader};
        let mut wb = open_workbook_auto(path).map_err(|e| {
            InputError(format!(
                "{}: cannot open the workbook ({e}); if it is password-protected or damaged, open it in Excel and save an unprotected copy",
                path.display()
            ))
        })?;
        let names = wb.sheet_names();
        let name = match sheet {
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
            .map_err(|e| InputError(format!("{}: sheet {name:?}: cannot read ({e})", path.display())))?;
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
        let mut rows_iter = range.rows().enumerate();
        let headers: Vec<String> = match rows_iter.next() {
            Some((_, r)) => r.iter().map(|c| cell(c).trim().to_string()).collect(),
            None => bail!(InputError(format!("{}: sheet {name:?} is empty", path.display()))),
        };
        if headers.iter().all(|h| h.is_empty()) {
            bail!(InputError(format!("{}: sheet {name:?}, row {}: the header row is empty", path.display(), first_row + 1)));
        }
        let rows = rows_iter
            .map(|(i, r)| Row { line: first_row + i as u64 + 1, fields: r.iter().map(cell).collect() })
            .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()))
            .collect();
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            rows,
            rejected: vec![],
            delimiter: b',',
            format: format!("{} sheet {name:?}", path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()),
        })
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        let (decoded, encoding) = decode(bytes);
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
        let mut records = rdr.byte_records();
        let header = match records.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => bail!(InputError(format!("{}: row 1: cannot read the header: {e}", path.display()))),
            None => bail!(InputError(format!("{}: no header row", path.display()))),
        };
        let mut headers = Vec::with_capacity(header.len());
        for (i, h) in header.iter().enumerate() {
            let h = std::str::from_utf8(h).map_err(|_| {
                InputError(format!(
                    "{}: row 1, column {}: the header is not UTF-8; save the file as \"CSV UTF-8\"",
                    path.display(),
                    i + 1
                ))
            })?;
            headers.push(h.trim().to_string());
        }
        if headers.iter().all(|h| h.is_empty()) {
            bail!(InputError(format!("{}: row 1: the header row is empty", path.display())));
        }
        // Physical line of a byte offset (the csv crate's line count skips newlines inside
        // quoted fields, so it is computed here from the bytes).
        let mut newline_at: Vec<u64> = Vec::new();
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
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
        loop {
            let rec = match records.next() {
                None => break,
                Some(Ok(r)) => r,
                Some(Err(e)) => {
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
                    Ok(s) => fields.push(s.to_string()),
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
        Ok(Table { path: path.to_path_buf(), headers, rows, rejected, delimiter, format })
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
                || h.contains("response id") || h.contains("reference") || h == "respondentid" || h == "responseid";
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
];

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
        let text = self.detect_text_columns(&exclude);
        (0..self.headers.len())
            .map(|c| {
                if Some(c) == id {
                    Role::Id
                } else if personal.contains(&c) {
                    Role::PersonalData
                } else if text.contains(&c) {
                    Role::OpenText
                } else {
                    let distinct: std::collections::HashSet<&str> =
                        self.values(c).map(str::trim).filter(|v| !v.is_empty()).collect();
                    let h = self.headers[c].to_lowercase();
                    let question = h.ends_with('?') || h.contains("agree") || h.contains("to what extent")
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

/// Turns the file's bytes into UTF-8 bytes: a UTF-8 BOM is dropped; UTF-16 with a BOM is
/// decoded; bytes that are not UTF-8 and hold no valid multi-byte UTF-8 sequence at all are
/// read as Windows-1252 (Excel's "CSV" on Windows). Otherwise the bytes are kept as they are,
/// and a record with invalid UTF-8 is rejected on its own.
pub fn decode(bytes: &[u8]) -> (std::borrow::Cow<'_, [u8]>, &'static str) {
    use std::borrow::Cow;
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        if enc == encoding_rs::UTF_8 {
            return (Cow::Borrowed(&bytes[bom_len..]), "utf-8");
        }
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        let name = if enc == encoding_rs::UTF_16LE { "utf-16le" } else { "utf-16be" };
        return (Cow::Owned(text.into_owned().into_bytes()), name);
    }
    if std::str::from_utf8(bytes).is_ok() {
        return (Cow::Borrowed(bytes), "utf-8");
    }
    let lossy = String::from_utf8_lossy(bytes);
    let has_utf8_multibyte = lossy.chars().any(|c| !c.is_ascii() && c != char::REPLACEMENT_CHARACTER);
    if has_utf8_multibyte {
        return (Cow::Borrowed(bytes), "utf-8 (with invalid bytes)");
    }
    let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
    (Cow::Owned(text.into_owned().into_bytes()), "windows-1252")
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
