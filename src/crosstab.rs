//! Cross-tabulations of one question's outcomes and sub-outcomes by a respondent attribute
//! (a `--by` column), with disclosure control. Pure functions: coded responses in,
//! [`TableData`] out.
//!
//! Why: a committee paper asks "who raised what" (residents against organisations, one
//! district against another), but a cross-tab of small groups can reveal what an
//! identifiable respondent said. Following the Analysis Function guidance, cells are
//! suppressed and shown as `[c]`:
//!
//! - **Primary suppression.** A cell with 0 < count < N is suppressed. A column whose base
//!   (respondents in it who answered the question) is below N has every cell suppressed,
//!   zeros included, since a 0 in a group of three is as telling as a 3; the base itself is
//!   shown, as it says nothing about who raised what. A true zero elsewhere is shown as `0`,
//!   and so is a row nobody raised at all (its Total of 0, published anyway, says as much).
//! - **Secondary suppression, by row only.** Every coded respondent falls in exactly one
//!   column ("Not answered" holds the blanks), so a row's cells sum to its Total, and the
//!   Total is published unsuppressed in `{q}_codes.csv` anyway. A row's `[c]` cells could be
//!   worked out from it when
//!   (a) there is exactly one `[c]` (by subtraction), or
//!   (b) the hidden sum (Total minus the shown cells) leaves them no room: zeros are shown, so
//!   a `[c]` in a column whose base is at least N is read as 1 to N-1 (a small column's as 0 to
//!   its base); if the hidden sum equals the least (or the most) those bounds allow, every
//!   `[c]` is pinned. With a Total of 1, say, a lone `[c]` in a large column next to the small
//!   columns' `[c]`s is that one respondent.
//!   Either way the smallest non-zero shown cell in the row is suppressed too; if every other
//!   shown cell is zero, a zero cell is suppressed instead (the only complement left; it
//!   protects the `[c]` against the Total in both tables); with nothing left to hide (a single
//!   column) the row's Total is suppressed. This repeats until no row is exposed; rows are
//!   independent, so each step only ever adds to one row.
//! - **No secondary suppression by column.** Answers carry several codes, so the rows of a
//!   column do not sum to its base, and an outcome row counts respondents with *any* of its
//!   sub-outcomes, so sub-outcome rows do not sum to it either: the union only bounds a
//!   sub-outcome by its outcome (never exactly, since a shown outcome cell is at least N).
//!   An outcome with a single sub-outcome has two identical rows, suppressed identically.
//!
//! Cells are column percentages, "n (p%)" of the column's base, as in
//! [`aggregate::codes_table`](crate::aggregate::codes_table), whose row order and labels
//! these tables share.

use std::collections::BTreeMap;

use crate::aggregate::{pct, TableData, MULTI_CODE_NOTE};
use crate::analyse::{CodedResponse, Status};
use crate::codebook::Codebook;

/// `--suppress` default: the Analysis Function's usual threshold.
pub const DEFAULT_THRESHOLD: usize = 10;
/// Column heading for respondents who left the attribute blank.
pub const NOT_ANSWERED: &str = "Not answered";
/// How a suppressed cell is shown.
pub const SUPPRESSED: &str = "[c]";

/// File-name slug of a `--by` header: lower case, runs of non-alphanumerics as one `_`,
/// trimmed, at most 30 characters. "Are you responding as..." -> `are_you_responding_as`.
pub fn slug(header: &str) -> String {
    let mut s = String::new();
    for ch in header.trim().chars().flat_map(char::to_lowercase) {
        if ch.is_alphanumeric() {
            s.push(ch);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s: String = s.trim_matches('_').chars().take(30).collect();
    let s = s.trim_end_matches('_').to_string();
    if s.is_empty() {
        "attribute".into()
    } else {
        s
    }
}

/// Slugs of several `--by` headers, made distinct (`district`, `district_2`, ...).
pub fn slugs(headers: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in headers {
        let base = slug(h);
        let mut s = base.clone();
        let mut i = 2;
        while out.contains(&s) {
            s = format!("{base}_{i}");
            i += 1;
        }
        out.push(s);
    }
    out
}

/// Which cells to show as `[c]`: `cells[row][col]` suppressed, and per row whether the
/// Total is. `threshold` 0 suppresses nothing. See the module doc for the rules.
pub fn suppress(cells: &[Vec<usize>], bases: &[usize], threshold: usize) -> (Vec<Vec<bool>>, Vec<bool>) {
    let mut hidden: Vec<Vec<bool>> = cells.iter().map(|r| vec![false; r.len()]).collect();
    let mut total_hidden = vec![false; cells.len()];
    if threshold == 0 {
        return (hidden, total_hidden);
    }
    for (r, row) in cells.iter().enumerate() {
        if row.iter().all(|&n| n == 0) {
            continue; // nobody raised it: the Total of 0 says so whatever is hidden
        }
        for (c, &n) in row.iter().enumerate() {
            hidden[r][c] = (n > 0 && n < threshold) || bases[c] < threshold;
        }
    }
    let small = |c: usize| bases[c] < threshold;
    loop {
        let mut changed = false;
        for (r, row) in cells.iter().enumerate() {
            let cols: Vec<usize> = (0..row.len()).filter(|&c| hidden[r][c]).collect();
            let sum: usize = cols.iter().map(|&c| row[c]).sum();
            let least = cols.iter().filter(|&&c| !small(c)).count();
            let most: usize =
                cols.iter().map(|&c| if small(c) { bases[c] } else { bases[c].min(threshold - 1) }).sum();
            let exposed = cols.len() == 1 || (!cols.is_empty() && (sum == least || sum == most));
            if total_hidden[r] || !exposed {
                continue;
            }
            let shown = |c: &usize| !hidden[r][*c];
            let complement = (0..row.len())
                .filter(shown)
                .filter(|&c| row[c] > 0)
                .min_by_key(|&c| row[c])
                .or_else(|| (0..row.len()).find(shown));
            match complement {
                Some(c) => hidden[r][c] = true,
                None => total_hidden[r] = true,
            }
            changed = true;
        }
        if !changed {
            return (hidden, total_hidden);
        }
    }
}

fn cell(n: usize, base: usize, hidden: bool) -> String {
    if hidden {
        SUPPRESSED.into()
    } else if n == 0 {
        "0".into()
    } else {
        format!("{} ({})", n, pct(n, base))
    }
}

/// Cross-tab of one question by one `--by` attribute. `responses`: that question's
/// responses (only `coded` ones are counted); `by`: index into their `attributes`;
/// `by_header` and `by_slug` name the attribute in the title and the file name.
pub fn crosstab<'a>(
    key: &str,
    responses: impl IntoIterator<Item = &'a CodedResponse>,
    by: usize,
    by_header: &str,
    by_slug: &str,
    codebook: &Codebook,
    threshold: usize,
) -> TableData {
    // Rows in the order of `aggregate::codes_table`: outcomes with their sub-outcomes
    // beneath, then stand-alone codes.
    let mut rows: Vec<(String, String)> = Vec::new();
    for top in codebook.top_level() {
        let kids = codebook.children(&top.id);
        if kids.is_empty() {
            continue;
        }
        rows.push((top.id.clone(), top.label.clone()));
        rows.extend(kids.into_iter().map(|k| (k.id.clone(), format!("  {}", k.label))));
    }
    for top in codebook.top_level() {
        if !codebook.has_children(&top.id) {
            rows.push((top.id.clone(), top.label.clone()));
        }
    }
    let row_of: BTreeMap<&str, usize> = rows.iter().enumerate().map(|(i, (id, _))| (id.as_str(), i)).collect();

    // Per attribute value: its base and respondents per code (once per code and outcome).
    let mut by_value: BTreeMap<String, (usize, Vec<usize>)> = BTreeMap::new();
    for r in responses.into_iter().filter(|r| r.status == Status::Coded) {
        let v = r.attributes.get(by).map(|s| s.trim()).unwrap_or("");
        let v = if v.is_empty() { NOT_ANSWERED } else { v };
        let (base, counts) = by_value.entry(v.to_string()).or_insert_with(|| (0, vec![0; rows.len()]));
        *base += 1;
        let mut ids: Vec<&str> = r.codes.iter().map(|a| a.code.as_str()).collect();
        for o in &r.outcomes {
            if !ids.contains(&o.as_str()) {
                ids.push(o);
            }
        }
        for id in ids {
            if let Some(&i) = row_of.get(id) {
                counts[i] += 1;
            }
        }
    }
    let mut columns: Vec<(String, usize, Vec<usize>)> =
        by_value.into_iter().map(|(v, (base, counts))| (v, base, counts)).collect();
    columns.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let bases: Vec<usize> = columns.iter().map(|c| c.1).collect();
    let total_base: usize = bases.iter().sum();
    let cells: Vec<Vec<usize>> = (0..rows.len()).map(|i| columns.iter().map(|c| c.2[i]).collect()).collect();
    let (hidden, total_hidden) = suppress(&cells, &bases, threshold);

    let mut header: Vec<String> = vec!["Code".into(), "Outcome / sub-outcome".into()];
    header.extend(columns.iter().map(|c| c.0.clone()));
    header.push("Total".into());
    let mut body = Vec::with_capacity(rows.len() + 1);
    let mut base_row = vec![String::new(), format!("Base (answered {key})")];
    base_row.extend(bases.iter().map(|b| b.to_string()));
    base_row.push(total_base.to_string());
    body.push(base_row);
    for (i, (id, label)) in rows.iter().enumerate() {
        let mut row = vec![id.clone(), label.clone()];
        row.extend((0..columns.len()).map(|c| cell(cells[i][c], bases[c], hidden[i][c])));
        row.push(cell(cells[i].iter().sum(), total_base, total_hidden[i]));
        body.push(row);
    }

    let mut base_note = format!(
        "Base: all who answered {key} with a substantive answer (n={total_base}), by {by_header}; blank and \
         non-substantive answers are excluded. Percentages are of each column's base."
    );
    if columns.iter().any(|c| c.0 == NOT_ANSWERED) {
        base_note += &format!(" \"{NOT_ANSWERED}\": {by_header} left blank.");
    }
    let mut notes = vec![base_note, MULTI_CODE_NOTE.to_string()];
    if hidden.iter().flatten().any(|&h| h) || total_hidden.iter().any(|&h| h) {
        notes.push(format!(
            "{SUPPRESSED} = suppressed to protect confidentiality: fewer than {threshold} respondents, or suppressed \
             so that another {SUPPRESSED} cannot be worked out from the total."
        ));
    }
    TableData {
        name: format!("{}_by_{}", key.to_lowercase(), by_slug),
        title: format!("{key} by {by_header}: outcomes and sub-outcomes, column %"),
        header,
        rows: body,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Assigned;

    const BOOK: &str = r#"
name = "test"
fallback = "other"
[[codes]]
id = "1"
label = "Green"
description = "d"
[[codes]]
id = "1.1"
label = "Parks"
description = "d"
parent = "1"
[[codes]]
id = "1.2"
label = "Bins"
description = "d"
parent = "1"
[[codes]]
id = "other"
label = "Other"
description = "d"
"#;

    fn book() -> Codebook {
        Codebook::parse(BOOK, "test".into()).unwrap()
    }

    fn resp(district: &str, codes: &[&str]) -> CodedResponse {
        let book = book();
        let mut outcomes: Vec<String> = Vec::new();
        for c in codes {
            let o = book.outcome_of(c).to_string();
            if !outcomes.contains(&o) {
                outcomes.push(o);
            }
        }
        CodedResponse {
            id: String::new(),
            line: 0,
            question: 0,
            text: String::new(),
            status: Status::Coded,
            reason: String::new(),
            codes: codes.iter().map(|c| Assigned::new(*c, 0.5)).collect(),
            outcomes,
            nearest: vec![],
            sentiment: None,
            sentiment_score: 0.0,
            code_tones: vec![],
            attributes: vec![district.to_string()],
            campaign: None,
            vector: None,
        }
    }

    /// `n` respondents in `district` coded `codes`.
    fn many(out: &mut Vec<CodedResponse>, n: usize, district: &str, codes: &[&str]) {
        out.extend((0..n).map(|_| resp(district, codes)));
    }

    fn table(rs: &[CodedResponse], threshold: usize) -> TableData {
        crosstab("Q1", rs, 0, "District", "district", &book(), threshold)
    }

    /// The body row of a code, as strings.
    fn row<'a>(t: &'a TableData, code: &str) -> Vec<&'a str> {
        t.rows.iter().find(|r| r[0] == code).unwrap().iter().map(String::as_str).collect()
    }

    #[test]
    fn cells_are_respondents_with_column_percentages_and_outcomes_count_once() {
        let mut rs = Vec::new();
        many(&mut rs, 12, "North", &["1.1", "1.2"]);
        many(&mut rs, 18, "North", &["other"]);
        many(&mut rs, 10, "South", &["1.1"]);
        many(&mut rs, 10, "South", &["1.2"]);
        let mut blank = resp("North", &[]);
        blank.status = Status::Blank;
        rs.push(blank);
        let t = table(&rs, 10);
        assert_eq!(t.name, "q1_by_district");
        assert_eq!(t.title, "Q1 by District: outcomes and sub-outcomes, column %");
        assert_eq!(t.header, vec!["Code", "Outcome / sub-outcome", "North", "South", "Total"]);
        assert_eq!(t.rows[0], vec!["", "Base (answered Q1)", "30", "20", "50"]);
        assert_eq!(row(&t, "1"), vec!["1", "Green", "12 (40.0%)", "20 (100.0%)", "32 (64.0%)"]);
        assert_eq!(row(&t, "1.1"), vec!["1.1", "  Parks", "12 (40.0%)", "10 (50.0%)", "22 (44.0%)"]);
        assert_eq!(row(&t, "1.2"), vec!["1.2", "  Bins", "12 (40.0%)", "10 (50.0%)", "22 (44.0%)"]);
        assert_eq!(row(&t, "other"), vec!["other", "Other", "18 (60.0%)", "0", "18 (36.0%)"]);
        assert_eq!(t.notes.len(), 2, "nothing suppressed, no [c] note: {:?}", t.notes);
        assert_eq!(t.notes[1], MULTI_CODE_NOTE);
    }

    #[test]
    fn small_cells_are_suppressed_with_a_complement_and_zeros_are_shown() {
        let mut rs = Vec::new();
        many(&mut rs, 20, "A", &["1.1"]);
        many(&mut rs, 3, "A", &["1.2"]);
        many(&mut rs, 7, "A", &["other"]);
        many(&mut rs, 12, "B", &["1.1"]);
        many(&mut rs, 11, "B", &["1.2"]);
        many(&mut rs, 12, "C", &["1.1"]);
        many(&mut rs, 10, "C", &["other"]);
        let t = table(&rs, 10);
        assert_eq!(t.header[2..], ["A", "B", "C", "Total"]);
        assert_eq!(t.rows[0][2..], ["30", "23", "22", "75"]);
        // 1.2: the 3 is suppressed; alone it could be worked out from the total (25), so the
        // smallest other non-zero cell (11) goes too; C's true zero stays.
        assert_eq!(row(&t, "1.2")[2..], ["[c]", "[c]", "0", "14 (18.7%)"]);
        // other: 7 is suppressed, and the only other non-zero cell (10) with it.
        assert_eq!(row(&t, "other")[2..], ["[c]", "0", "[c]", "17 (22.7%)"]);
        // 1.1: nothing small, nothing suppressed.
        assert_eq!(row(&t, "1.1")[2..], ["20 (66.7%)", "12 (52.2%)", "12 (54.5%)", "44 (58.7%)"]);
        assert!(t.notes[2].starts_with("[c] = suppressed to protect confidentiality: fewer than 10 respondents"));
        for r in &t.rows {
            assert_ne!(r.iter().filter(|c| *c == SUPPRESSED).count(), 1, "{r:?}");
        }
    }

    #[test]
    fn a_small_column_is_suppressed_in_full_but_its_base_is_shown() {
        let mut rs = Vec::new();
        many(&mut rs, 25, "Big", &["1.1"]);
        many(&mut rs, 15, "Mid", &["1.1"]);
        many(&mut rs, 15, "Mid", &["other"]);
        many(&mut rs, 4, "", &["1.1"]);
        let t = table(&rs, 10);
        assert_eq!(t.header[2..], ["Mid", "Big", NOT_ANSWERED, "Total"]);
        assert_eq!(t.rows[0][2..], ["30", "25", "4", "59"]);
        // Every row someone raised has one [c] from the small column, so it gets a
        // complement: the smallest non-zero cell, else a zero cell. A row nobody raised
        // shows its zeros.
        assert_eq!(row(&t, "1.1")[2..], ["[c]", "25 (100.0%)", "[c]", "44 (74.6%)"]);
        assert_eq!(row(&t, "other")[2..], ["[c]", "0", "[c]", "15 (25.4%)"]);
        assert_eq!(row(&t, "1.2")[2..], ["0", "0", "0", "0"]);
        assert_eq!(row(&t, "1")[2..], ["[c]", "25 (100.0%)", "[c]", "44 (74.6%)"]);
        assert!(t.notes[0].contains("\"Not answered\": District left blank."));
    }

    #[test]
    fn threshold_zero_disables_suppression() {
        let mut rs = Vec::new();
        many(&mut rs, 3, "A", &["1.1"]);
        many(&mut rs, 20, "B", &["1.1"]);
        many(&mut rs, 2, "", &["other"]);
        let t = table(&rs, 0);
        assert!(t.rows.iter().flatten().all(|c| c != SUPPRESSED));
        assert_eq!(row(&t, "1.1")[2..], ["20 (100.0%)", "3 (100.0%)", "0", "23 (92.0%)"]);
        assert_eq!(t.notes.len(), 2);
    }

    #[test]
    fn hidden_cells_that_the_total_would_pin_get_a_complement() {
        // Two [c]s of 1 with a Total of 17: each [c] is at least 1, so 17 - 15 = 2 would pin
        // both; the 15 goes too. The zero stays.
        let (hidden, _) = suppress(&[vec![15, 1, 1, 0]], &[30, 20, 20, 20], 10);
        assert_eq!(hidden, vec![vec![true, true, true, false]]);
        // The same at the top: two 9s can only be 9 and 9 when their sum is 18.
        let (hidden, _) = suppress(&[vec![12, 9, 9]], &[30, 20, 20], 10);
        assert_eq!(hidden, vec![vec![true, true, true]]);
        // A Total of 1: the small column's [c] could be 0, the large one's is then the 1, so a
        // zero in a large column is hidden with it.
        let (hidden, total) = suppress(&[vec![0, 1, 0]], &[20, 20, 5], 10);
        assert_eq!(hidden, vec![vec![true, true, true]]);
        assert_eq!(total, vec![false]);
        // Room to spare (3 + 4 = 7, each could be 1 to 6): nothing more.
        let (hidden, _) = suppress(&[vec![20, 3, 4]], &[30, 20, 20], 10);
        assert_eq!(hidden, vec![vec![false, true, true]]);
    }

    #[test]
    fn a_lone_column_hides_the_total_instead() {
        let (hidden, total) = suppress(&[vec![3], vec![12], vec![0]], &[15], 10);
        assert_eq!(hidden, vec![vec![true], vec![false], vec![false]]);
        assert_eq!(total, vec![true, false, false]);
        // A zero complement when every other cell is zero: [c] + [c] = 3, either could be 0.
        let (hidden, total) = suppress(&[vec![0, 3, 0]], &[20, 15, 12], 10);
        assert_eq!(hidden, vec![vec![true, true, false]]);
        assert_eq!(total, vec![false]);
    }

    #[test]
    fn slugs_are_short_lower_case_and_distinct() {
        assert_eq!(slug("Are you responding as..."), "are_you_responding_as");
        assert_eq!(slug("District"), "district");
        assert_eq!(slug("  Age band (years) "), "age_band_years");
        assert_eq!(slug("Which of these best describes your household's situation?"), "which_of_these_best_describes");
        assert_eq!(slug("Respondent type (individual/organisation)").len(), 30);
        assert_eq!(slug("???"), "attribute");
        assert_eq!(slugs(&["District".into(), "district".into()]), vec!["district", "district_2"]);
    }
}
