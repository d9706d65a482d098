//! Text normalisation between reading and classifying: tidying an answer, deciding whether
//! it is blank or non-substantive, and splitting it into sentences for sentence-level scoring.

use unicode_segmentation::UnicodeSegmentation;

/// The default list of answers that say nothing (models/blank-answers.txt, embedded): one a
/// line, matched after [`fold`] (case, punctuation and spacing ignored). `--blank-list FILE`
/// replaces it.
pub const DEFAULT_BLANK_LIST: &str = include_str!("../models/blank-answers.txt");

/// Identical answers (after [`fold`]) given by at least this many respondents to one
/// question form a campaign (template) group...
pub const CAMPAIGN_MIN_SIZE: usize = 3;
/// ...when they have at least this many words (short common answers are not campaigns).
pub const CAMPAIGN_MIN_WORDS: usize = 12;
/// Near-duplicates join a campaign: two answers of at least [`CAMPAIGN_MIN_WORDS`] words
/// whose sentence embeddings (all-MiniLM-L6-v2, unit length) have a cosine at or above this
/// are the same template with small edits. Measured (`consult embed`, all-MiniLM-L6-v2): the
/// fixture's campaign text against copies with a word dropped or changed, a sentence added or
/// cut, a signature added, or case and punctuation lost: 0.984-0.9998; against answers on the
/// same subject in other words: 0.80-0.85; the most similar pair of distinct long answers in
/// fixtures/strategic-plan-consultation.csv: 0.73. 0.95 sits in the gap with room either side.
pub const NEAR_DUPLICATE_COSINE: f32 = 0.95;
/// Up to this many distinct long answers to a question, every pair is compared (about 12.5
/// million dot products at the limit, a few seconds). Above it, each answer is compared only
/// with answers that have an exact duplicate (a campaign's template is usually repeated word
/// for word too), which keeps the cost linear in the number of answers.
pub const NEAR_DUPLICATE_FULL_LIMIT: usize = 5000;

/// Distinct items in first-seen order, each with its index: texts are embedded or scored
/// once however often they are given.
pub struct Distinct<T> {
    pub items: Vec<T>,
    index: std::collections::HashMap<T, usize>,
}

impl<T: std::hash::Hash + Eq + Clone> Distinct<T> {
    pub fn new() -> Distinct<T> {
        Distinct { items: Vec::new(), index: std::collections::HashMap::new() }
    }

    /// The index of `item`, added if new.
    pub fn id(&mut self, item: T) -> usize {
        if let Some(&i) = self.index.get(&item) {
            return i;
        }
        self.items.push(item.clone());
        self.index.insert(item, self.items.len() - 1);
        self.items.len() - 1
    }

    /// The items, the index dropped.
    pub fn into_items(self) -> Vec<T> {
        self.items
    }
}

impl<T: std::hash::Hash + Eq + Clone> Default for Distinct<T> {
    fn default() -> Self {
        Distinct::new()
    }
}

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

/// A list of non-substantive answers, folded (see [`DEFAULT_BLANK_LIST`]).
#[derive(Debug, Clone)]
pub struct BlankList {
    entries: std::collections::HashSet<String>,
    /// Where the list came from: `built-in` or the file's path.
    pub source: String,
}

impl BlankList {
    /// One answer a line; `#` starts a comment line. Lines that fold to nothing ("-", ".",
    /// "?") need not be listed: an answer with no letters or digits is always blank.
    pub fn parse(text: &str, source: &str) -> BlankList {
        let entries = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .map(fold)
            .filter(|f| !f.is_empty())
            .collect();
        BlankList { entries, source: source.to_string() }
    }

    pub fn load(path: &std::path::Path) -> anyhow::Result<BlankList> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            crate::input::InputError(format!(
                "{}: cannot read the blank list ({e}); give a UTF-8 text file with one answer a line",
                path.display()
            ))
        })?;
        Ok(Self::parse(&text, &path.display().to_string()))
    }

    pub fn builtin() -> &'static BlankList {
        static B: std::sync::OnceLock<BlankList> = std::sync::OnceLock::new();
        B.get_or_init(|| BlankList::parse(DEFAULT_BLANK_LIST, "built-in"))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `Some(reason)` when the answer is not to be classified.
    pub fn check(&self, text: &str) -> Option<Blank> {
        if text.trim().is_empty() {
            return Some(Blank::Empty);
        }
        let f = fold(text);
        if f.is_empty() || self.entries.contains(&f) {
            return Some(Blank::NonSubstantive);
        }
        None
    }
}

/// `Some(reason)` when the answer is not to be classified, by the built-in list.
pub fn blank(text: &str) -> Option<Blank> {
    BlankList::builtin().check(text)
}

/// The Windows-1252 byte of each character Windows-1252 can encode (WHATWG mapping: the five
/// unassigned bytes stand for C1 controls, as Excel's mojibake keeps them).
fn cp1252_byte(c: char) -> Option<u8> {
    static MAP: std::sync::OnceLock<std::collections::HashMap<char, u8>> = std::sync::OnceLock::new();
    if c.is_ascii() {
        return Some(c as u8);
    }
    MAP.get_or_init(|| {
        (0x80u8..=0xFF)
            .filter_map(|b| {
                let buf = [b];
                let (s, _, _) = encoding_rs::WINDOWS_1252.decode(&buf);
                s.chars().next().map(|c| (c, b))
            })
            .collect()
    })
    .get(&c)
    .copied()
}

/// Repairs Excel mojibake: UTF-8 text that was read as Windows-1252 ("â€™" for "’", "Â£" for
/// "£", "Ã©" for "é", "ðŸ˜¡" for an emoji). `None` when there is nothing to repair.
///
/// Unambiguous cases only: the whole text re-encodes as Windows-1252 bytes that are valid
/// UTF-8; or, in text that does not, single sequences that start with "Â", "Ã", "Ä", "Å",
/// "â" or "ð" followed by the right number of continuation characters and decode as one
/// UTF-8 character (legitimate text almost never has these pairs). Repaired up to three times,
/// for text mangled twice.
pub fn repair_mojibake(text: &str) -> Option<String> {
    let mut cur = text.to_string();
    for _ in 0..3 {
        match repair_once(&cur) {
            Some(next) => cur = next,
            None => break,
        }
    }
    (cur != text).then_some(cur)
}

fn repair_once(text: &str) -> Option<String> {
    // Every mojibake sequence starts with a character from U+00C2 to U+00F4.
    if !text.chars().any(|c| ('\u{c2}'..='\u{f4}').contains(&c)) {
        return None;
    }
    let whole: Option<Vec<u8>> = text.chars().map(cp1252_byte).collect();
    if let Some(bytes) = whole {
        if let Ok(s) = String::from_utf8(bytes) {
            return (s != text).then_some(s);
        }
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        let want = match chars[i] {
            'Â' | 'Ã' | 'Ä' | 'Å' => 1,
            'â' => 2,
            'ð' => 3,
            _ => 0,
        };
        if want > 0 && i + want < chars.len() {
            let mut bytes = vec![cp1252_byte(chars[i]).unwrap_or(0)];
            bytes.extend(
                chars[i + 1..=i + want].iter().filter_map(|&c| cp1252_byte(c)).filter(|b| (0x80..=0xBF).contains(b)),
            );
            if bytes.len() == want + 1 {
                if let Ok(s) = std::str::from_utf8(&bytes) {
                    out.push_str(s);
                    changed = true;
                    i += want + 1;
                    continue;
                }
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    changed.then_some(out)
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
    fn mojibake_is_repaired_where_unambiguous() {
        let cases = [
            ("Itâ€™s Â£5 a week", "It’s £5 a week"),
            ("â€œFix the roadsâ€\u{9d} â€“ please", "“Fix the roads” – please"),
            ("Caf\u{c3}\u{a9} crÃ¨che", "Café crèche"),
            ("so angry ðŸ˜¡", "so angry 😡"),
            // Mixed with a character Windows-1252 cannot hold: repaired sequence by sequence.
            ("Zoë says itâ€™s fine 🚲", "Zoë says it’s fine 🚲"),
            // Twice mangled.
            ("itÃ¢â‚¬â„¢s", "it’s"),
        ];
        for (bad, good) in cases {
            assert_eq!(repair_mojibake(bad).as_deref(), Some(good), "{bad:?}");
        }
        for fine in ["café, Zoë, crèche", "It’s £5 – “quoted”", "Ålesund and Ängelholm", "plain ascii", "ÀÉÎ", "Â"] {
            assert_eq!(repair_mojibake(fine), None, "{fine:?}");
        }
    }

    #[test]
    fn blank_list_from_a_file_replaces_the_default_and_ignores_case_and_punctuation() {
        let list = BlankList::parse("# mine\nNo comment!\nSee attached.\n", "t");
        assert_eq!(list.len(), 2);
        assert_eq!(list.check("see ATTACHED"), Some(Blank::NonSubstantive));
        assert_eq!(list.check("No   comment"), Some(Blank::NonSubstantive));
        assert_eq!(list.check("n/a"), None, "not in this list");
        assert_eq!(list.check(" -- "), Some(Blank::NonSubstantive), "punctuation only");
        assert_eq!(list.check(""), Some(Blank::Empty));
        // The built-in list holds at least the defaults.
        for t in ["", "n/a", "na", "-", "none", "no", "no comment", "nothing", "not applicable", "nil", ".", "?"] {
            assert!(blank(t).is_some(), "{t:?}");
        }
    }

    #[test]
    fn sentences_split_and_keep_short_text_whole() {
        let s = sentences("Fix the potholes. Also more buses please! Ok.");
        assert_eq!(s, vec!["Fix the potholes.", "Also more buses please!"]);
        assert_eq!(sentences("ok"), vec!["ok"]);
    }
}
