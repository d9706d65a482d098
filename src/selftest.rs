//! A codebook's self-test (`consult codebook --check FILE --self-test`): each of its own
//! example statements is coded, as an answer would be, by the zero-shot classifier built from
//! the codebook less that statement. An example coded first as another code teaches the
//! classifier the other code's meaning, and two examples of one code that say nearly the same
//! thing count one point twice. No labelled data is needed: it checks the codebook text a
//! writer edits. With hand-coded statements beside the codebook, each is also coded by the
//! codebook and the other statements (less its own copies), and compared with its own codes:
//! how well answers like them are coded, without a separate test sample. The classifier is
//! built once; each statement is scored by it less that statement
//! ([`Classifier::assign_left_out`]), which gives what a rebuild would.

use std::collections::HashMap;

use anyhow::{anyhow, Result};
use rayon::prelude::*;

use crate::classify::{Assigned, Classifier, LeftOut, Settings};
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

/// Serves vectors embedded once, so that a classifier can be built (and, where leaving
/// statements out would take a code's last example, rebuilt) without running the model again.
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

    /// `text` (one of the embedded texts) as an answer is read: its pieces' vectors, the
    /// whole first (a long one as the mean of its segments).
    fn answer(&self, text: &str, settings: &Settings) -> Vec<Embedding> {
        let (p, long) = pieces(text, settings);
        let mut vs: Vec<Embedding> = p.iter().map(|t| self.vectors[t.as_str()].clone()).collect();
        if long {
            vs[0] = centroid(&vs[1..].iter().collect::<Vec<_>>());
        }
        vs
    }

    /// Codes `text` as an answer by the classifier `full` (built from `codebook`) less the
    /// copies of `text` in `left`: per code, their positions among its examples (ascending).
    /// The code scores come in `full.code_ids()` order.
    fn code_left_out(
        &self,
        full: &Classifier,
        codebook: &Codebook,
        text: &str,
        left: &[(&str, Vec<usize>)],
        settings: &Settings,
    ) -> Result<(Vec<Assigned>, Vec<f32>)> {
        let vs = self.answer(text, settings);
        let refs: Vec<&Embedding> = vs.iter().collect();
        let v = &self.vectors[text];
        let out: Vec<LeftOut> =
            left.iter().map(|(code, js)| LeftOut { code, examples: js.clone(), vectors: vec![v; js.len()] }).collect();
        if let Some(coded) = full.assign_left_out(&refs, &out) {
            return Ok(coded);
        }
        // A code would lose every example statement: build the classifier without them.
        let mut without = codebook.clone();
        for (code, js) in left {
            if let Some(c) = without.codes.iter_mut().find(|c| c.id == *code) {
                for &j in js.iter().rev() {
                    c.examples.remove(j);
                }
            }
        }
        Ok(Classifier::build(&without, self, settings.clone())?.assign(&refs))
    }

    /// Each hand-coded statement of `sample`, coded by its codebook less that statement and
    /// every other hand-coded statement with the same text (copies of one campaign answer
    /// would otherwise vouch for each other).
    fn leave_one_out(&self, (with, statements): Sample, settings: &Settings) -> Result<Vec<HandCoded>> {
        // Per text, per code: how many hand-coded statements with that text carry the code.
        let mut copies: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        for (text, codes) in statements {
            for c in codes {
                *copies.entry(text.as_str()).or_default().entry(c.as_str()).or_default() += 1;
            }
        }
        let full = Classifier::build(with, self, settings.clone())?;
        statements
            .par_iter()
            .map(|(text, own)| {
                // Added last, so a code's last copies of the text are the hand-coded ones.
                let left: Vec<(&str, Vec<usize>)> = copies[text.as_str()]
                    .iter()
                    .filter_map(|(&code, &n)| {
                        let c = with.get(code)?;
                        let mut js: Vec<usize> = c.examples.iter().enumerate().filter(|(_, e)| *e == text).map(|(j, _)| j).collect();
                        js.drain(..js.len().saturating_sub(n));
                        Some((code, js))
                    })
                    .collect();
                let (given, _) = self.code_left_out(&full, with, text, &left, settings)?;
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
    let full = Classifier::build(codebook, &embedded, settings.clone())?;
    let coded = cases
        .par_iter()
        .map(|&(ci, j)| {
            let text = &codes[ci].examples[j];
            let (given, best) = embedded.code_left_out(&full, codebook, text, &[(ids[ci], vec![j])], settings)?;
            let own_score = full.code_ids().iter().position(|&id| id == ids[ci]).map(|i| best[i]);
            Ok(Coded { code: ids[ci].to_string(), text: text.clone(), given, own_score })
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
/// that statement and its copies (what `analyse` reports as its agreement with people).
pub fn leave_one_out(sample: Sample, encoder: &dyn Encoder, settings: &Settings) -> Result<Vec<HandCoded>> {
    Embedded::of(sample.0, encoder, settings)?.leave_one_out(sample, settings)
}

/// How the codes given agree with the codes by hand, as `consult evaluate` scores them: at
/// code level, and at outcome level (each sub-outcome lifted to its outcome; codes outside the
/// outcomes at code level only, [`crate::evaluate::to_outcomes`]; none when no code is in an
/// outcome).
pub fn agreement(hand: &[HandCoded], codebook: &Codebook) -> (crate::evaluate::Report, Option<crate::evaluate::Report>) {
    let pairs: Vec<crate::evaluate::Pair> =
        hand.iter().map(|h| (h.given.iter().map(|a| a.code.clone()).collect(), h.codes.iter().cloned().collect())).collect();
    let codes: std::collections::BTreeSet<String> = pairs.iter().flat_map(|(_, g)| g.iter().cloned()).collect();
    crate::evaluate::levels(&pairs, &codes, codebook, None)
}
