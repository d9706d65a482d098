//! Redaction of personal data in free text, before any answer is quoted or (with
//! `--redact-text`) written out.
//!
//! What is removed, each replaced by a bracketed tag a reader recognises:
//! - e-mail addresses -> `[email]`;
//! - UK phone numbers in the usual written forms (`0116 496 0732`, `01164960732`,
//!   `(0116) 496-0732`, `07700 900123`, `+44 7700 900123`, `+44 (0)116 496 0732`,
//!   `0044 20 7946 0958`) -> `[phone]`;
//! - UK postcodes (`LE3 8RA`, `le38ra`, `SW1A 1AA`), checked against the list of postcode
//!   areas so that ordinary text such as "Q1 2nd" is left alone -> `[postcode]`;
//! - National Insurance numbers (`QQ 12 34 56 C`, `AB123456C`) -> `[NI number]`;
//! - the respondent's own personal data from the export's personal-data columns
//!   ([`crate::input::Role::PersonalData`]): each word of a name column (`Jo`, `Bloggs`)
//!   -> `[name]`, and any other personal value (an address line, say) as a whole -> `[personal data]`.
//!
//! Patterns are regular expressions (the `regex` crate), compiled once per [`Redactor`].
//! Names of other people mentioned in an answer are not found: that would need a
//! named-entity model, and a quote is read by an officer before it is published.

use regex::{Regex, RegexBuilder};

/// UK postcode areas (the letters before the first digit).
const POSTCODE_AREAS: &[&str] = &[
    "AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "CA", "CB", "CF", "CH", "CM", "CO",
    "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E", "EC", "EH", "EN", "EX",
    "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV",
    "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N",
    "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S",
    "SA", "SE", "SG", "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN",
    "TQ", "TR", "TS", "TW", "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
];

pub const EMAIL: &str = "[email]";
pub const PHONE: &str = "[phone]";
pub const POSTCODE: &str = "[postcode]";
pub const NI_NUMBER: &str = "[NI number]";
pub const NAME: &str = "[name]";
pub const PERSONAL: &str = "[personal data]";

/// One respondent's own personal data: (column header, value) for each personal-data column.
pub type Personal = Vec<(String, String)>;

pub struct Redactor {
    email: Regex,
    phone: Regex,
    postcode: Regex,
    ni: Regex,
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

fn ci(pattern: &str) -> Regex {
    RegexBuilder::new(pattern).case_insensitive(true).build().expect("valid redaction pattern")
}

/// Replaces every match of `re` for which `keep(text, start, end)` holds with `tag`.
fn replace_checked(text: &str, re: &Regex, tag: &str, keep: impl Fn(&str, usize, usize) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        if !keep(text, m.start(), m.end()) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(tag);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// True when the match is not glued to further letters or digits on either side.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(|c| c.is_alphanumeric() || c == '+')
        && !after.is_some_and(|c| c.is_alphanumeric() || c == '@')
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor {
            email: ci(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}"),
            // National forms start with 0 and have 10 or 11 digits; international ones +44 or
            // 0044, an optional (0), then 9 or 10 digits. Spaces, dashes, dots and a bracketed
            // area code may separate the digits.
            phone: ci(r"(?:(?:\+|00)\s?44\s?(?:\(0\)\s?)?\(?|\(?0)(?:\d[\s\-.)]{0,2}){8,9}\d"),
            postcode: ci(r"\b([a-z]{1,2})\d[a-z\d]?\s*\d[abd-hjlnp-uw-z]{2}\b"),
            // Any two letters (HMRC's own example prefix QQ is not a valid one), six digits in
            // pairs or not, and a suffix A to D.
            ni: ci(r"\b[a-z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[a-d]\b"),
        }
    }

    /// `text` with the patterns above and this respondent's own `personal` data replaced.
    pub fn redact(&self, text: &str, personal: &[(String, String)]) -> String {
        let mut s = text.to_string();
        s = self.email.replace_all(&s, EMAIL).into_owned();
        s = replace_checked(&s, &self.phone, PHONE, |t, a, b| {
            // A bracketed area code "(0116)" starts at the bracket; "+44" at the plus.
            standalone(t, a, b) && !t[..a].ends_with(|c: char| c.is_ascii_digit())
        });
        s = replace_checked(&s, &self.ni, NI_NUMBER, standalone);
        s = replace_checked(&s, &self.postcode, POSTCODE, |t, a, b| {
            let m = &t[a..b];
            let area: String = m.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_uppercase();
            POSTCODE_AREAS.contains(&area.as_str()) && standalone(t, a, b)
        });
        // Then the respondent's own values (a name inside an email address is gone by now).
        for (header, value) in personal {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let h = header.to_lowercase();
            if h.contains("name") && !value.contains('@') {
                for word in value.split(|c: char| c.is_whitespace() || ",.;:()/&\"".contains(c)) {
                    let word = word.trim_matches(|c| c == '\'' || c == '-');
                    // Skip one-letter initials, and words of the tags themselves.
                    let tag_word = ["name", "email", "phone", "postcode", "ni", "number", "personal", "data"]
                        .contains(&word.to_lowercase().as_str());
                    if word.chars().count() < 2 || tag_word {
                        continue;
                    }
                    let re = ci(&format!(r"\b{}\b", regex::escape(word)));
                    s = re.replace_all(&s, NAME).into_owned();
                }
            } else if value.chars().count() >= 4 {
                let tag = if value.contains('@') { EMAIL } else { PERSONAL };
                let re = ci(&regex::escape(value));
                s = re.replace_all(&s, tag).into_owned();
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_tagged() {
        let r = Redactor::new();
        let personal = vec![("Full name".to_string(), "Jo Bloggs".to_string())];
        let got = r.redact(
            "I'm Jo (jo.bloggs1984@example.com, 0116 496 0732, +44 (0)7700 900123), LE3 8RA, NI QQ 12 34 56 C. Bloggs family.",
            &personal,
        );
        assert_eq!(
            got,
            "I'm [name] ([email], [phone], [phone]), [postcode], NI [NI number]. [name] family."
        );
    }

    #[test]
    fn ordinary_numbers_and_codes_are_left() {
        let r = Redactor::new();
        for s in [
            "The plan for 2022-2026 costs £12,000,000 and sub-outcome 8.5 matters.",
            "In Q1 2nd quarter, the A6 and M1 junction 21a were busy.",
            "Call 999 in an emergency; bus 48 runs every 15 minutes.",
        ] {
            assert_eq!(r.redact(s, &[]), s);
        }
    }
}
