//! Text normalisation between reading and classifying: tidying an answer, deciding whether
//! it is blank or non-substantive, and splitting it into sentences for sentence-level scoring.

use unicode_segmentation::UnicodeSegmentation;

/// Answers that say nothing, matched after [`fold`] (case, punctuation and spacing ignored).
pub const NON_SUBSTANTIVE: &[&str] = &[
    "n a", "na", "none", "no", "no comment", "no comments", "nothing", "not applicable", "nil",
    "nothing to add", "no further comments", "nothing further", "not sure", "dont know",
    "don t know", "no thanks", "no thank you", "nope", "x", "n/a",
];

/// Identical answers (after [`fold`]) given by at least this many respondents to one
/// question form a campaign (template) group...
pub const CAMPAIGN_MIN_SIZE: usize = 3;
/// ...when they have at least this many words (short common answers are not campaigns).
pub const CAMPAIGN_MIN_WORDS: usize = 12;

/// Why an answer is not classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Blank {
    /// Empty or only white space.
    Empty,
    /// Says nothing: "N/A", "-", "no comment", "nothing", punctuation only, ...
    NonSubstantive,
}

impl Blank {
    pub fn as_str(self) -> &'static str {
        match self {
            Blank::Empty => "empty",
            Blank::NonSubstantive => "non-substantive",
        }
    }
}

/// Tidies an answer for the model: trims, turns line breaks and runs of white space into
/// single spaces. The verbatim text is kept separately for output.
pub fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lower-cases and replaces every run of non-alphanumeric characters with one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(ch.to_lowercase());
        } else {
            gap = true;
        }
    }
    out
}

/// `Some(reason)` when the answer is not to be classified.
pub fn blank(text: &str) -> Option<Blank> {
    if text.trim().is_empty() {
        return Some(Blank::Empty);
    }
    let f = fold(text);
    if f.is_empty() || NON_SUBSTANTIVE.contains(&f.as_str()) {
        return Some(Blank::NonSubstantive);
    }
    None
}

/// Splits tidied text into sentences (Unicode sentence boundaries), dropping fragments with
/// fewer than three letters. Returns the whole text as one sentence when it has only one.
pub fn sentences(text: &str) -> Vec<String> {
    let parts: Vec<String> = text
        .split_sentence_bounds()
        .map(|s| s.trim().to_string())
        .filter(|s| s.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .collect();
    if parts.is_empty() {
        vec![text.trim().to_string()]
    } else {
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_non_substantive_answers_are_recognised() {
        for t in ["", "   ", "\r\n"] {
            assert_eq!(blank(t), Some(Blank::Empty), "{t:?}");
        }
        for t in ["N/A", "n/a.", "-", "No comment", "NOTHING!", "none", "No.", "?", ".", "Not applicable", "nil", "👍"] {
            assert_eq!(blank(t), Some(Blank::NonSubstantive), "{t:?}");
        }
        for t in ["No more potholes please", "Nothing about buses in the plan", "More trees"] {
            assert_eq!(blank(t), None, "{t:?}");
        }
    }

    #[test]
    fn sentences_split_and_keep_short_text_whole() {
        let s = sentences("Fix the potholes. Also more buses please! Ok.");
        assert_eq!(s, vec!["Fix the potholes.", "Also more buses please!"]);
        assert_eq!(sentences("ok"), vec!["ok"]);
    }
}
