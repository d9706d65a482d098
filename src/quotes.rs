//! Representative quotes per sub-outcome, chosen by maximal marginal relevance (MMR) over
//! the answers' sentence embeddings, redacted ([`crate::pii`]) and attributed only by
//! respondent type.
//!
//! For one question and one code, the candidates are the substantive answers given that
//! code. Relevance is an answer's cosine similarity to the centroid of all of them (how
//! typical it is of what was said under the code); each next quote maximises
//! `LAMBDA * relevance - (1 - LAMBDA) * max similarity to the quotes already chosen`, so the
//! quotes are typical and not three ways of saying the same thing. Answers of 6 to 80 words
//! are preferred (a one-liner says little; a page will not be read in a committee paper);
//! others are used only when there are no such answers. Identical answers (a campaign) give
//! at most one quote.
//!
//! Praise and criticism both shown: each quote carries the tone read for the part of its
//! answer about the code (aspect sentiment). When the code's answers include positive and
//! negative ones but the typical choice would leave one side out, the last places go to the
//! most typical answers of the missing side, so that a report writer can say what people
//! liked and what they objected to. The first quote is always the most typical answer.
//!
//! Disclosure control: with a respondent-type column, an answer whose respondent type has
//! fewer than `threshold` substantive answers to the question is never quoted (a quote
//! attributed to "A county councillor" when three councillors responded points at one of
//! them); with `threshold` 0 every answer may be.

use std::collections::{BTreeMap, HashMap};

use crate::analyse::{CodedResponse, Status};
use crate::model::dot;
use crate::pii::{Personal, Redactor};
use crate::sentiment::Tone;

/// Weight of relevance against novelty in MMR.
pub const LAMBDA: f32 = 0.7;
/// `--quotes` default.
pub const DEFAULT_QUOTES: usize = 3;
const MIN_WORDS: usize = 6;
const MAX_WORDS: usize = 80;

/// What rendering needs to know of a respondent beyond their answers, by line.
#[derive(Debug, Clone, Default)]
pub struct Respondent {
    /// Value of the respondent-type column ("A resident"), when the export has one.
    pub kind: Option<String>,
    /// The respondent's own personal data, for redaction.
    pub personal: Personal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub code: String,
    /// The answer, redacted.
    pub text: String,
    /// The respondent type, when the export has one ("A resident").
    pub attribution: Option<String>,
    /// Line in the export (kept for tracing; not shown in the report).
    pub line: u64,
    /// The tone read for the part of the answer about the code.
    pub tone: Option<Tone>,
}

impl Quote {
    /// What follows the quote in brackets: the respondent type and the tone ("A resident;
    /// negative"), either alone, or nothing.
    pub fn credit(&self) -> Option<String> {
        match (&self.attribution, self.tone) {
            (Some(a), Some(t)) => Some(format!("{a}; {}", t.as_str())),
            (Some(a), None) => Some(a.clone()),
            (None, Some(t)) => Some(t.as_str().to_string()),
            (None, None) => None,
        }
    }
}

/// Indices of up to `n` items chosen by MMR from unit-length `vectors`.
pub fn mmr(vectors: &[&[f32]], n: usize, lambda: f32) -> Vec<usize> {
    mmr_covering(vectors, &vec![None; vectors.len()], n, lambda)
}

/// [`mmr`], but when items of both sides (`Some(0)`, `Some(1)`: praise and criticism) are
/// there, a side that the choice so far has left out takes the last places: once the places
/// left are no more than the sides missing, only items of a missing side are chosen. The first
/// item is chosen freely.
pub fn mmr_covering(vectors: &[&[f32]], sides: &[Option<u8>], n: usize, lambda: f32) -> Vec<usize> {
    if vectors.is_empty() || n == 0 {
        return Vec::new();
    }
    let dim = vectors[0].len();
    let mut centroid = vec![0f32; dim];
    for v in vectors {
        for (c, x) in centroid.iter_mut().zip(v.iter()) {
            *c += x;
        }
    }
    let norm = dot(&centroid, &centroid).sqrt().max(f32::EPSILON);
    centroid.iter_mut().for_each(|c| *c /= norm);
    let relevance: Vec<f32> = vectors.iter().map(|v| dot(v, &centroid)).collect();
    let mut chosen: Vec<usize> = Vec::new();
    let n = n.min(vectors.len());
    while chosen.len() < n {
        let missing: Vec<u8> =
            (0..2).filter(|s| sides.contains(&Some(*s)) && !chosen.iter().any(|&j| sides[j] == Some(*s))).collect();
        let restrict = !chosen.is_empty() && !missing.is_empty() && n - chosen.len() <= missing.len();
        let mut best: Option<(usize, f32)> = None;
        for i in 0..vectors.len() {
            if chosen.contains(&i) || (restrict && !sides[i].is_some_and(|s| missing.contains(&s))) {
                continue;
            }
            let redundancy = chosen.iter().map(|&j| dot(vectors[i], vectors[j])).fold(f32::MIN, f32::max);
            let redundancy = if chosen.is_empty() { 0.0 } else { redundancy };
            let score = lambda * relevance[i] - (1.0 - lambda) * redundancy;
            // Ties go to the earlier answer, so the choice is deterministic. A tie is to within
            // rounding: with two answers, the centroid is as near one as the other, and which
            // comes out ahead by the last bit depends on the order of a sum.
            if best.is_none_or(|(_, s)| score > s + 1e-6) {
                best = Some((i, score));
            }
        }
        match best {
            Some((i, _)) => chosen.push(i),
            None => break,
        }
    }
    chosen
}

/// Respondents per type among `responses`' substantive answers ("" for not stated).
pub fn type_sizes<'a>(
    responses: impl IntoIterator<Item = &'a CodedResponse>,
    who: &HashMap<u64, Respondent>,
) -> BTreeMap<String, usize> {
    let mut sizes = BTreeMap::new();
    for r in responses.into_iter().filter(|r| r.status == Status::Coded) {
        let kind = who.get(&r.line).and_then(|w| w.kind.clone()).unwrap_or_default();
        *sizes.entry(kind).or_default() += 1;
    }
    sizes
}

/// Up to `n` quotes for `code` from one question's `responses`.
/// `sizes`: [`type_sizes`] of the question; `has_type`: whether the export has a
/// respondent-type column.
#[allow(clippy::too_many_arguments)]
pub fn select<'a>(
    responses: impl IntoIterator<Item = &'a CodedResponse>,
    code: &str,
    n: usize,
    threshold: usize,
    who: &HashMap<u64, Respondent>,
    sizes: &BTreeMap<String, usize>,
    has_type: bool,
    redactor: &Redactor,
) -> Vec<Quote> {
    let mut seen_text = std::collections::HashSet::new();
    let eligible: Vec<&CodedResponse> = responses
        .into_iter()
        .filter(|r| r.status == Status::Coded && r.vector.is_some() && r.codes.iter().any(|a| a.code == code))
        .filter(|r| {
            if !has_type || threshold == 0 {
                return true;
            }
            let kind = who.get(&r.line).and_then(|w| w.kind.clone()).unwrap_or_default();
            sizes.get(&kind).copied().unwrap_or(0) >= threshold
        })
        .filter(|r| seen_text.insert(crate::normalise::fold(&r.text)))
        .collect();
    let words = |r: &CodedResponse| r.text.split_whitespace().count();
    let preferred: Vec<&CodedResponse> =
        eligible.iter().copied().filter(|r| (MIN_WORDS..=MAX_WORDS).contains(&words(r))).collect();
    let pool = if preferred.is_empty() { eligible } else { preferred };
    let vectors: Vec<&[f32]> = pool.iter().map(|r| r.vector.as_deref().unwrap()).collect();
    let tone = |r: &CodedResponse| r.codes.iter().position(|a| a.code == code).and_then(|i| r.code_tones.get(i).copied());
    let sides: Vec<Option<u8>> = pool
        .iter()
        .map(|r| match tone(r) {
            Some(Tone::Positive) => Some(0),
            Some(Tone::Negative) => Some(1),
            _ => None,
        })
        .collect();
    mmr_covering(&vectors, &sides, n, LAMBDA)
        .into_iter()
        .map(|i| {
            let r = pool[i];
            let w = who.get(&r.line);
            let personal: &[(String, String)] = w.map(|w| w.personal.as_slice()).unwrap_or(&[]);
            let text = redactor.redact(&crate::normalise::tidy(&r.text), personal);
            let attribution = if has_type {
                Some(w.and_then(|w| w.kind.clone()).filter(|k| !k.is_empty()).unwrap_or_else(|| "Respondent".into()))
            } else {
                None
            };
            Quote { code: code.to_string(), text, attribution, line: r.line, tone: tone(r) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmr_takes_the_central_answer_first_then_a_different_one() {
        let s = (0.5f32).sqrt();
        // Two near-identical typical answers, one central-ish different one, one outlier.
        let a = [1.0, 0.0, 0.0];
        let b = [0.999, 0.0447, 0.0];
        let c = [s, s, 0.0];
        let d = [0.0, 0.0, 1.0];
        let v: Vec<&[f32]> = vec![&a, &b, &c, &d];
        let got = mmr(&v, 2, LAMBDA);
        assert_eq!(got[0], 1, "the most central answer first");
        assert_eq!(got[1], 2, "then the typical answer least like it, not its near-copy");
    }

    #[test]
    fn praise_and_criticism_both_get_a_place_when_both_were_said() {
        let s = (0.5f32).sqrt();
        // Three typical neutral answers, an atypical complaint and an atypical praise.
        let a = [1.0, 0.0, 0.0];
        let b = [s, s, 0.0];
        let c = [s, 0.0, s];
        let neg = [0.0, 1.0, 0.0];
        let pos = [0.0, 0.0, 1.0];
        let v: Vec<&[f32]> = vec![&a, &b, &c, &neg, &pos];
        let plain = mmr(&v, 3, LAMBDA);
        assert!(!plain.contains(&3) && !plain.contains(&4), "typical answers only: {plain:?}");
        let sides = [None, None, None, Some(1), Some(0)];
        let got = mmr_covering(&v, &sides, 3, LAMBDA);
        assert_eq!(got[0], plain[0], "the most typical answer still comes first");
        assert_eq!(got.iter().filter(|&&i| i >= 3).count(), 2, "{got:?}");
        // Two places: the typical answer, then one side (the more typical of the two).
        assert_eq!(mmr_covering(&v, &sides, 2, LAMBDA).len(), 2);
        assert!(mmr_covering(&v, &sides, 2, LAMBDA)[1] >= 3);
        // Only one side said: it needs no place of its own beyond what MMR gives it.
        let one = [None, None, None, Some(1), None];
        let got = mmr_covering(&v, &one, 3, LAMBDA);
        assert!(got.contains(&3), "{got:?}");
        // One place: the most typical answer, whatever its tone.
        assert_eq!(mmr_covering(&v, &sides, 1, LAMBDA), plain[..1]);
    }
}
