//! Reading a survey export: the one place that builds CSV readers.
//!
//! The file is read as bytes (a UTF-8 BOM is dropped), the delimiter is detected from the
//! header line, and every record is kept with the line it starts on. A record that cannot be
//! used (wrong number of fields, a field that is not UTF-8) is kept aside as rejected, with
//! its line and the reason, so every row read ends up coded, blank or rejected.

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
        let bytes = std::fs::read(path).map_err(|e| {
            InputError(format!("{}: cannot read the file: {e}", path.display()))
        })?;
        Self::from_bytes(path, &bytes)
    }

    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Table> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(InputError(format!(
                "{}: the file is empty; export the survey responses again (CSV with a header row)",
                path.display()
            ))
            .into());
        }
        if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
            return Err(InputError(format!(
                "{}: the file is UTF-16 (\"Unicode text\"); save it from Excel as \"CSV UTF-8\"",
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
        Ok(Table { path: path.to_path_buf(), headers, rows, rejected, delimiter })
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
