//! A codebook's self-test (`consult codebook --check FILE --self-test`): each of its own
//! example statements is coded, as an answer would be, by the zero-shot classifier built from
//! the codebook less that statement. An example coded first as another code teaches the
//! classifier the other code's meaning, and two examples of one code that say nearly the same
//! thing count one point twice. No labelled data is needed: it checks the codebook text a
//! writer edits. With hand-coded statements beside the codebook, each is also coded by the
//! codebook and the other statements, and compared with its own codes: how well answers like
//! them are coded, without a separate test sample.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use rayon::prelude::*;

use crate::classify::{Assigned, Classifier, Settings};
use crate::codebook::Codebook;
use crate::model::{centroid, dot, Embedding, Encoder, ModelInfo};

/// Two example statements of one code at least this similar (cosine of their MiniLM vectors)
/// are reported as close. Near-paraphrases score above it ("Narrow the gap in life expectancy
/// between the healthiest and the poorest areas." beside "Health inequalities are shocking.
/// Life expectancy in the poorest areas is years lower.": 0.83); the same topic from another
/// angle scores under it ("We need more affordable homes." beside "We need genuinely affordable
/// homes so young people can stay in the villages": 0.78).
pub const CLOSE: f32 = 0.80;

/// One example statement, coded without itself.
#[derive(Debug, Clone)]
pub struct Coded {
    /// The code whose example it is.
    pub code: String,
    pub text: String,
    /// The codes the classifier gave it, best first.
    pub given: Vec<Assigned>,
    /// Its own code's score (none for the fallback code, which is given or not).
    pub own_score: Option<f32>,
}

impl Coded {
    /// Whether its own code came first.
    pub fn first(&self) -> bool {
        self.given.first().is_some_and(|a| a.code == self.code)
    }

    /// Whether its own code was given at all.
    pub fn given_own(&self) -> bool {
        self.given.iter().any(|a| a.code == self.code)
    }
}

/// Two example statements of one code that say nearly the same thing.
#[derive(Debug, Clone)]
pub struct Close {
    pub code: String,
    pub a: String,
    pub b: String,
    pub cosine: f32,
}

/// A hand-coded statement, coded by the codebook and the other hand-coded statements.
#[derive(Debug, Clone)]
pub struct HandCoded {
    pub text: String,
    /// Its codes as coded by hand.
    pub codes: Vec<String>,
    /// The codes the classifier gave it, best first.
    pub given: Vec<Assigned>,
}

/// The self-test's findings: every example statement of every assignable code, coded
/// without itself (codebook order), the close pairs (most similar first), and the hand-coded
/// statements, each coded without itself.
pub struct Report {
    pub coded: Vec<Coded>,
    pub close: Vec<Close>,
    pub hand_coded: Vec<HandCoded>,
}

/// Serves vectors embedded once, so that the classifier can be rebuilt for each left-out
/// statement without running the model again.
struct Embedded {
    vectors: HashMap<String, Embedding>,
    info: ModelInfo,
}

impl Encoder for Embedded {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        texts.iter().map(|&t| self.vectors.get(t).cloned().ok_or_else(|| anyhow!("not embedded: {t:?}"))).collect()
    }
    fn info(&self) -> &ModelInfo {
        &self.info
    }
}

/// An example is scored as an answer is: whole (a long one as the mean of its segments), and
/// each of its sentences when it has several and the settings score sentences.
fn pieces(text: &str, settings: &Settings) -> (Vec<String>, bool) {
    crate::analyse::answer_pieces(text, settings.sentence_level)
}

impl Embedded {
    /// Every text a classifier built from `codebook` (or from it less some examples) reads:
    /// its assignable codes' descriptions, labels and examples' pieces, embedded once.
    fn of(codebook: &Codebook, encoder: &dyn Encoder, settings: &Settings) -> Result<Embedded> {
        let mut texts: Vec<String> = Vec::new();
        for c in codebook.assignable() {
            texts.extend([c.description.clone(), c.label.clone()]);
            for e in &c.examples {
                texts.extend(pieces(e, settings).0);
            }
        }
        texts.sort_unstable();
        texts.dedup();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors: HashMap<String, Embedding> = texts.iter().cloned().zip(encoder.embed(&refs)?).collect();
        Ok(Embedded { vectors, info: encoder.info().clone() })
    }

    /// Codes `text` (one of the embedded examples) as an answer with the classifier `without`
    /// (a codebook less that text) gives.
    fn code_as_answer(&self, without: &Codebook, text: &str, settings: &Settings) -> Result<(Classifier, Vec<Assigned>, Vec<f32>)> {
        let classifier = Classifier::build(without, self, settings.clone())?;
        let (p, long) = pieces(text, settings);
        let mut vs: Vec<&Embedding> = p.iter().map(|t| &self.vectors[t.as_str()]).collect();
        let whole = if long { centroid(&vs[1..]) } else { Vec::new() };
        if long {
            vs[0] = &whole;
        }
        let (given, best) = classifier.assign(&vs);
        Ok((classifier, given, best))
    }

    /// Each hand-coded statement of `sample`, coded by its codebook less that statement.
    fn leave_one_out(&self, (with, statements): Sample, settings: &Settings) -> Result<Vec<HandCoded>> {
        statements
            .par_iter()
            .map(|(text, own)| {
                let mut without = with.clone();
                for c in without.codes.iter_mut().filter(|c| own.contains(&c.id)) {
                    // Added last, so the last copy is this statement's.
                    if let Some(j) = c.examples.iter().rposition(|e| e == text) {
                        c.examples.remove(j);
                    }
                }
                let (_, given, _) = self.code_as_answer(&without, text, settings)?;
                Ok(HandCoded { text: text.clone(), codes: own.clone(), given })
            })
            .collect()
    }
}

/// A hand-coded sample: the codebook with the statements added, and the statements, each
/// with its codes (as [`Codebook::add_examples_read`] gives them).
pub type Sample<'a> = (&'a Codebook, &'a [(String, Vec<String>)]);

/// Runs the self-test of `codebook` (its own text, with no hand-coded statements added) with
/// the zero-shot `settings`. With `hand`, the codebook with hand-coded statements added and
/// those statements (each with its codes, as [`Codebook::add_examples_read`] gives them): each
/// statement is also coded by that codebook less itself, a leave-one-out estimate of how well
/// answers like them are coded.
pub fn run(
    codebook: &Codebook,
    hand: Option<Sample>,
    encoder: &dyn Encoder,
    settings: &Settings,
) -> Result<Report> {
    // The codebook with the statements added holds every text of the codebook alone.
    let embedded = Embedded::of(hand.map_or(codebook, |(with, _)| with), encoder, settings)?;
    let codes = codebook.assignable();
    let ids: Vec<&str> = codes.iter().map(|c| c.id.as_str()).collect();
    let cases: Vec<(usize, usize)> =
        codes.iter().enumerate().flat_map(|(ci, c)| (0..c.examples.len()).map(move |j| (ci, j))).collect();
    let coded = cases
        .par_iter()
        .map(|&(ci, j)| {
            let mut without = codebook.clone();
            let code = without.codes.iter_mut().find(|c| c.id == ids[ci]).expect("an assignable code");
            let text = code.examples.remove(j);
            let (classifier, given, best) = embedded.code_as_answer(&without, &text, settings)?;
            let own_score = classifier.code_ids().iter().position(|&id| id == ids[ci]).map(|i| best[i]);
            Ok(Coded { code: ids[ci].to_string(), text, given, own_score })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut close = Vec::new();
    for c in &codes {
        for (i, a) in c.examples.iter().enumerate() {
            for b in &c.examples[i + 1..] {
                let cosine = dot(&embedded.vectors[a], &embedded.vectors[b]);
                if cosine >= CLOSE {
                    close.push(Close { code: c.id.clone(), a: a.clone(), b: b.clone(), cosine });
                }
            }
        }
    }
    close.sort_by(|x, y| y.cosine.total_cmp(&x.cosine));
    let hand_coded = match hand {
        None => Vec::new(),
        Some(sample) => embedded.leave_one_out(sample, settings)?,
    };
    Ok(Report { coded, close, hand_coded })
}

/// Only the hand-coded part of [`run`]: each statement of `sample` coded by its codebook less
/// that statement (what `analyse --examples` reports as its agreement with people).
pub fn leave_one_out(sample: Sample, encoder: &dyn Encoder, settings: &Settings) -> Result<Vec<HandCoded>> {
    Embedded::of(sample.0, encoder, settings)?.leave_one_out(sample, settings)
}

/// How the codes given agree with the codes by hand, as `consult evaluate` scores them: at
/// code level, and at outcome level (each code lifted to its outcome).
pub fn agreement(hand: &[HandCoded], codebook: &Codebook) -> (crate::evaluate::Report, crate::evaluate::Report) {
    let pairs: Vec<crate::evaluate::Pair> =
        hand.iter().map(|h| (h.given.iter().map(|a| a.code.clone()).collect(), h.codes.iter().cloned().collect())).collect();
    let codes: std::collections::BTreeSet<String> = pairs.iter().flat_map(|(_, g)| g.iter().cloned()).collect();
    let (outcome_pairs, outcome_codes) = crate::evaluate::to_outcomes(&pairs, &codes, codebook);
    (crate::evaluate::score(&pairs, &codes), crate::evaluate::score(&outcome_pairs, &outcome_codes))
}
