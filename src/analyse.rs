//! `consult analyse`: read -> normalise -> embed -> classify + sentiment, as plain data.
//!
//! [`code_responses`] turns a [`Table`] and the chosen columns into one [`CodedResponse`] per
//! (row, question), and per rejected row and question, so accounting is exact by construction.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;

use crate::classify::{Assigned, Classifier};
use crate::codebook::Codebook;
use crate::heads::CodeHead;
use crate::input::Table;
use crate::model::{centroid, Embedding, Encoder};
use crate::normalise::{self, Blank};
use crate::sentiment::{self, Prediction, Tone};

#[derive(Debug, Clone, Serialize)]
pub struct Question {
    /// Short name, Q1, Q2, ... in column order.
    pub key: String,
    pub column: usize,
    pub header: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Coded,
    Blank,
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Coded => "coded",
            Status::Blank => "blank",
            Status::Rejected => "rejected",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CodedResponse {
    pub id: String,
    pub line: u64,
    pub question: usize,
    pub text: String,
    pub status: Status,
    /// Why blank or rejected.
    pub reason: String,
    pub codes: Vec<Assigned>,
    pub outcomes: Vec<String>,
    /// The three best-scoring codes, for auditing near misses.
    pub nearest: Vec<Assigned>,
    pub sentiment: Option<Tone>,
    pub sentiment_score: f32,
    /// Aspect sentiment: for each code in `codes`, the tone of the piece of the answer
    /// (sentence, or the whole answer) where that code scored best.
    pub code_tones: Vec<Tone>,
    /// Values of the `--by` attribute columns.
    pub attributes: Vec<String>,
    /// Campaign (template) group id, e.g. `Q1-C1`, when the answer is one of several identical ones.
    pub campaign: Option<String>,
    /// The whole answer's sentence embedding (unit length), for quotes and near-duplicate
    /// campaigns. Not written out.
    #[serde(skip)]
    pub vector: Option<Embedding>,
}

/// How answers are given codes: zero-shot similarity to the codebook, or trained heads.
pub enum Coder<'a> {
    ZeroShot(&'a Classifier),
    Trained { head: &'a CodeHead, fallback: String },
}

impl Coder<'_> {
    /// Whether answers on the blank list are coded (a head learnt from a sample that codes them).
    fn codes_blanks(&self) -> bool {
        matches!(self, Coder::Trained { head, .. } if head.code_blanks)
    }

    fn sentence_level(&self) -> bool {
        match self {
            Coder::ZeroShot(c) => c.settings().sentence_level,
            Coder::Trained { .. } => false,
        }
    }

    /// The codes (best first) and the three nearest codes with their scores. `scores`: the
    /// pieces' zero-shot scores ([`Classifier::score_many`]); trained heads read the whole
    /// answer's embedding, `pieces[0]`, and the words of `text` and `question_text`.
    fn code(
        &self,
        pieces: &[&Embedding],
        scores: &[&[f32]],
        question: &Embedding,
        text: &str,
        question_text: &str,
    ) -> (Vec<Assigned>, Vec<Assigned>) {
        match self {
            Coder::ZeroShot(c) => {
                let (codes, best) = c.assign_scored(scores);
                let mut nearest: Vec<Assigned> = c
                    .code_ids()
                    .into_iter()
                    .zip(best)
                    .map(|(c, s)| Assigned::new(c, s))
                    .collect();
                nearest.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.code.cmp(&b.code)));
                nearest.truncate(3);
                (codes, nearest)
            }
            Coder::Trained { head, fallback, .. } => {
                head.assign(&sentiment::features(pieces[0], question), &head.words(text, question_text), fallback)
            }
        }
    }
}

/// The most words in a piece the model reads whole. all-MiniLM-L6-v2 reads 256 word-piece
/// tokens (about 190 ordinary words); 120 words leaves room for long words and numbers. An
/// answer longer than this is read in segments (its sentences, long sentences cut into
/// windows of this many words), and its whole-answer vector is the mean of theirs, so no
/// part of it is cut off.
pub const SEGMENT_WORDS: usize = 120;

/// An answer's pieces for sentence-level scoring: its sentences, each cut into windows of at
/// most [`SEGMENT_WORDS`] words.
pub fn segments(tidy: &str) -> Vec<String> {
    let mut out = Vec::new();
    for s in normalise::sentences(tidy) {
        let words: Vec<&str> = s.split_whitespace().collect();
        if words.len() <= SEGMENT_WORDS {
            out.push(s);
        } else {
            out.extend(words.chunks(SEGMENT_WORDS).map(|w| w.join(" ")));
        }
    }
    out
}

/// An answer's texts as they are read: the whole first, then its segments when sentences are
/// scored or the answer is long (and it has more than one). `long`: the whole is read as the
/// mean of its segments, since the model would cut it off.
pub fn answer_pieces(tidy: &str, sentence_level: bool) -> (Vec<String>, bool) {
    let long = tidy.split_whitespace().nth(SEGMENT_WORDS).is_some();
    let mut pieces = vec![tidy.to_string()];
    if sentence_level || long {
        let segs = segments(tidy);
        if segs.len() > 1 {
            pieces.extend(segs);
        }
    }
    let long = long && pieces.len() > 1;
    (pieces, long)
}

#[derive(Debug, Default)]
pub struct Timings {
    pub embed_seconds: f64,
    pub texts_embedded: usize,
    /// Scoring sentiment (with the tuned model, a second pass of the network).
    pub sentiment_seconds: f64,
    /// Distinct (question, text) pairs scored for sentiment.
    pub sentiment_pairs: usize,
    /// Per question: whether its answers were also scored read with it, since the question
    /// is itself about a code (zero-shot `question_context`).
    pub context_questions: Vec<bool>,
}

/// Codes every answer. `id_col` None numbers respondents by their line. `head_encoder`:
/// trained heads' own (fine-tuned) encoder, when they have one; it reads each whole answer
/// and question for them (`encoder` reads everything else).
#[allow(clippy::too_many_arguments)]
pub fn code_responses(
    table: &Table,
    questions: &[Question],
    id_col: Option<usize>,
    by_cols: &[usize],
    codebook: &Codebook,
    coder: &Coder,
    sentiment: &sentiment::Model,
    encoder: &dyn Encoder,
    head_encoder: Option<&dyn Encoder>,
    blanks: &normalise::BlankList,
) -> Result<(Vec<CodedResponse>, Timings)> {
    // Normalise: decide blank or substantive; gather the distinct texts to embed.
    // Per (row, question): the indices of its texts (whole answer first), or why it is blank.
    // `long`: the answer is read from its segments, not whole.
    let mut pieces_of: Vec<Result<(Vec<usize>, bool), Blank>> = Vec::new();
    let mut distinct: normalise::Distinct<String> = normalise::Distinct::new();
    let question_idx: Vec<usize> = questions.iter().map(|q| distinct.id(q.header.clone())).collect();
    for row in &table.rows {
        for q in questions {
            let raw = &row.fields[q.column];
            // A head learnt from a sample that codes "Nothing" codes it too.
            let listed_but_coded = |why: &Blank| *why == Blank::NonSubstantive && coder.codes_blanks() && !normalise::fold(raw).is_empty();
            if let Some(why) = blanks.check(raw).filter(|w| !listed_but_coded(w)) {
                pieces_of.push(Err(why));
                continue;
            }
            let (pieces, long) = answer_pieces(&normalise::tidy(raw), coder.sentence_level());
            pieces_of.push(Ok((pieces.into_iter().map(|p| distinct.id(p)).collect(), long)));
        }
    }

    // The index is not needed past here; its keys are a second copy of every text.
    let texts: Vec<String> = distinct.into_items();

    // Embed every distinct text once, batched by length.
    let t0 = Instant::now();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut embs: Vec<Embedding> = encoder.embed(&refs)?;
    encoder.release();
    let mut timings = Timings { embed_seconds: t0.elapsed().as_secs_f64(), texts_embedded: texts.len(), ..Default::default() };

    // A long answer's whole is the mean of its segments (the model would cut it off).
    let long_wholes: Vec<(usize, Embedding)> = pieces_of
        .iter()
        .enumerate()
        .filter_map(|(k, p)| match p {
            Ok((ids, true)) => Some((k, centroid(&ids[1..].iter().map(|&i| &embs[i]).collect::<Vec<_>>()))),
            _ => None,
        })
        .collect();
    // Zero-shot scores of every distinct text and long answer, in blocks of matrix products
    // (one call for all: many small products would fragment the heap).
    let (text_scores, long_scores): (Vec<Vec<f32>>, Vec<Vec<f32>>) = match coder {
        Coder::ZeroShot(c) => {
            let all: Vec<&[f32]> = embs.iter().chain(long_wholes.iter().map(|(_, e)| e)).map(Vec::as_slice).collect();
            let mut s = c.score_many(&all);
            let long = s.split_off(embs.len());
            (s, long)
        }
        Coder::Trained { .. } => (Vec::new(), Vec::new()),
    };
    let long_at: HashMap<usize, usize> = long_wholes.iter().enumerate().map(|(j, (k, _))| (*k, j)).collect();
    // A question that is itself about a code lends its topic to its answers: each is also
    // scored as its whole-answer vector plus `question_blend` times the question's, one more
    // piece, so that "Allow them to be at the forefront of the decision making", answering a
    // question on young people's part in scrutinising policing, is read as about policing.
    timings.context_questions = match coder {
        Coder::ZeroShot(c) => questions.iter().zip(&question_idx).map(|(q, &i)| c.lends_context(&q.header, &text_scores[i])).collect(),
        Coder::Trained { .. } => vec![false; questions.len()],
    };
    let blended: Vec<(usize, Embedding)> = match coder {
        Coder::ZeroShot(c) if timings.context_questions.iter().any(|&b| b) => pieces_of
            .iter()
            .enumerate()
            .filter_map(|(k, p)| {
                let qi = k % questions.len();
                let (ids, _) = p.as_ref().ok()?;
                if !timings.context_questions[qi] {
                    return None;
                }
                let w = match long_at.get(&k) {
                    Some(&j) => &long_wholes[j].1,
                    None => &embs[ids[0]],
                };
                let (qv, l) = (&embs[question_idx[qi]], c.settings().question_blend);
                Some((k, crate::model::to_unit(w.iter().zip(qv).map(|(a, b)| a + l * b).collect())))
            })
            .collect(),
        _ => Vec::new(),
    };
    let blend_scores: Vec<Vec<f32>> = match coder {
        Coder::ZeroShot(c) if !blended.is_empty() => c.score_many(&blended.iter().map(|(_, e)| e.as_slice()).collect::<Vec<_>>()),
        _ => Vec::new(),
    };
    let blend_at: HashMap<usize, usize> = blended.iter().enumerate().map(|(j, (k, _))| (*k, j)).collect();
    // Heads with their own encoder: every whole answer and question read again with it.
    let head_embs: HashMap<usize, Embedding> = match (coder, head_encoder) {
        (Coder::Trained { .. }, Some(e)) => {
            let mut want: Vec<usize> = pieces_of
                .iter()
                .filter_map(|p| p.as_ref().ok().map(|(ids, _)| ids[0]))
                .chain(question_idx.iter().copied())
                .collect();
            want.sort_unstable();
            want.dedup();
            let t = Instant::now();
            let vs = e.embed(&want.iter().map(|&i| texts[i].as_str()).collect::<Vec<_>>())?;
            e.release();
            timings.embed_seconds += t.elapsed().as_secs_f64();
            timings.texts_embedded += want.len();
            want.into_iter().zip(vs).collect()
        }
        _ => HashMap::new(),
    };

    // Classify and score sentiment: every answer on its own, rows in parallel, kept in order.
    let order = codebook.order();
    let nq = questions.len();
    let code_row = |(ri, row): (usize, &crate::input::Row)| -> Vec<CodedResponse> {
        let id = match id_col {
            Some(c) => row.fields[c].trim().to_string(),
            None => format!("line-{}", row.line),
        };
        let attributes: Vec<String> = by_cols.iter().map(|&c| row.fields[c].trim().to_string()).collect();
        let mut out = Vec::with_capacity(nq);
        for (qi, q) in questions.iter().enumerate() {
            let raw = &row.fields[q.column];
            let mut r = CodedResponse {
                id: id.clone(),
                line: row.line,
                question: qi,
                text: raw.clone(),
                status: Status::Blank,
                reason: String::new(),
                codes: vec![],
                outcomes: vec![],
                nearest: vec![],
                sentiment: None,
                sentiment_score: 0.0,
                code_tones: vec![],
                attributes: attributes.clone(),
                campaign: None,
                vector: None,
            };
            match &pieces_of[ri * nq + qi] {
                Err(why) => r.reason = why.as_str().to_string(),
                Ok((ids, _)) => {
                    let long_j = long_at.get(&(ri * nq + qi)).copied();
                    let whole: Embedding = match long_j {
                        Some(j) => long_wholes[j].1.clone(),
                        None => embs[ids[0]].clone(),
                    };
                    let mut pieces: Vec<&Embedding> = vec![&whole];
                    pieces.extend(ids[1..].iter().map(|&i| &embs[i]));
                    let scores: Vec<&[f32]> = match coder {
                        Coder::ZeroShot(_) => {
                            let first = match long_j {
                                Some(j) => long_scores[j].as_slice(),
                                None => text_scores[ids[0]].as_slice(),
                            };
                            std::iter::once(first)
                                .chain(ids[1..].iter().map(|&i| text_scores[i].as_slice()))
                                .chain(blend_at.get(&(ri * nq + qi)).map(|&j| blend_scores[j].as_slice()))
                                .collect()
                        }
                        Coder::Trained { .. } => Vec::new(),
                    };
                    let (mut codes, nearest) = if head_embs.is_empty() {
                        coder.code(&pieces, &scores, &embs[question_idx[qi]], &texts[ids[0]], &texts[question_idx[qi]])
                    } else {
                        let own = [&head_embs[&ids[0]]];
                        coder.code(&own, &scores, &head_embs[&question_idx[qi]], &texts[ids[0]], &texts[question_idx[qi]])
                    };
                    // A code found in the answer read with its question was found in the whole answer.
                    for c in codes.iter_mut().filter(|c| c.piece >= ids.len()) {
                        c.piece = 0;
                    }
                    let mut outcomes: Vec<String> = Vec::new();
                    for c in &codes {
                        let o = codebook.outcome_of(&c.code).to_string();
                        if !outcomes.contains(&o) {
                            outcomes.push(o);
                        }
                    }
                    outcomes.sort_by_key(|o| order.get(o).copied().unwrap_or(usize::MAX));
                    r.status = Status::Coded;
                    r.codes = codes;
                    r.outcomes = outcomes;
                    r.nearest = nearest;
                    r.vector = Some(whole);
                }
            }
            out.push(r);
        }
        out
    };
    let mut out: Vec<CodedResponse> = Vec::with_capacity(pieces_of.len() + table.rejected.len() * nq);
    out.extend(table.rows.par_iter().enumerate().map(code_row).collect::<Vec<_>>().into_iter().flatten());
    // Each coded answer holds its own vector now; a model that reads the text itself does
    // not need the texts' embeddings, and at 100,000 answers they are a quarter of a gigabyte.
    drop((text_scores, long_scores, long_wholes, blend_scores, blended));
    if !sentiment.needs_embeddings() {
        embs = Vec::new();
    }

    // Sentiment of each coded answer (a long one: the mean over its segments) and, per code,
    // of the piece the code was found in: every distinct (question, text) pair once.
    let t1 = Instant::now();
    let mut slot: HashMap<(usize, usize), usize> = HashMap::new();
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    let mut need = |q: usize, t: usize| {
        *slot.entry((q, t)).or_insert_with(|| {
            pairs.push((q, t));
            pairs.len() - 1
        })
    };
    // Per coded response: the slots of its whole (one, or its segments) and of its codes' pieces.
    type Slots = (Vec<usize>, Vec<Option<usize>>);
    let jobs: Vec<Option<Slots>> = out
        .iter()
        .zip(&pieces_of)
        .map(|(r, p)| {
            let (ids, long) = p.as_ref().ok()?;
            let q = question_idx[r.question];
            let whole: Vec<usize> = if *long { ids[1..].iter().map(|&t| need(q, t)).collect() } else { vec![need(q, ids[0])] };
            // None: the code came from the whole answer and takes its tone.
            let per_code: Vec<Option<usize>> = r.codes.iter().map(|c| (c.piece > 0).then(|| need(q, ids[c.piece]))).collect();
            Some((whole, per_code))
        })
        .collect();
    let probs = sentiment.probs(&pairs, &refs, &embs)?;
    for (r, job) in out.iter_mut().zip(jobs) {
        let Some((whole, per_code)) = job else { continue };
        let p = Prediction::from_probs(sentiment::mean_probs(&whole.iter().map(|&k| probs[k]).collect::<Vec<_>>()));
        r.code_tones = per_code.iter().map(|k| k.map_or(p.tone, |k| sentiment::tone_of(&probs[k]))).collect();
        r.sentiment = Some(p.tone);
        r.sentiment_score = p.score;
    }
    timings.sentiment_seconds = t1.elapsed().as_secs_f64();
    timings.sentiment_pairs = pairs.len();
    for rej in &table.rejected {
        for qi in 0..questions.len() {
            out.push(CodedResponse {
                id: if rej.first_field.is_empty() { format!("line-{}", rej.line) } else { rej.first_field.clone() },
                line: rej.line,
                question: qi,
                text: String::new(),
                status: Status::Rejected,
                reason: format!("line {}: {}", rej.line, rej.reason),
                codes: vec![],
                outcomes: vec![],
                nearest: vec![],
                sentiment: None,
                sentiment_score: 0.0,
                code_tones: vec![],
                attributes: vec![String::new(); by_cols.len()],
                campaign: None,
                vector: None,
            });
        }
    }
    out.sort_by_key(|r| (r.line, r.question));
    mark_campaigns(&mut out, questions);
    Ok((out, timings))
}

/// Groups campaign (template) answers to a question under a campaign id, numbered in order
/// of first appearance. Substantive answers of at least [`normalise::CAMPAIGN_MIN_WORDS`]
/// words are first grouped by exact text (same [`normalise::fold`]); then the groups whose
/// texts' embeddings have a cosine of at least [`normalise::NEAR_DUPLICATE_COSINE`] are joined
/// (single link). A joined group of at least [`normalise::CAMPAIGN_MIN_SIZE`] respondents is a
/// campaign. Answers without an embedding join by exact text only.
pub fn mark_campaigns(responses: &mut [CodedResponse], questions: &[Question]) {
    for (qi, q) in questions.iter().enumerate() {
        // Exact groups by folded text; members in response order.
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, r) in responses.iter().enumerate() {
            if r.question != qi || r.status != Status::Coded {
                continue;
            }
            let key = normalise::fold(&r.text);
            if key.split(' ').count() < normalise::CAMPAIGN_MIN_WORDS {
                continue;
            }
            let g = *index.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[g].push(i);
        }
        // Near-duplicates: join exact groups whose representatives' embeddings are close.
        let reps: Vec<Option<&Embedding>> = groups.iter().map(|m| responses[m[0]].vector.as_ref()).collect();
        let mut parent: Vec<usize> = (0..groups.len()).collect();
        fn root(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        // Which groups each group is compared with: all of them up to the limit, else only
        // the groups repeated word for word.
        let full = groups.len() <= normalise::NEAR_DUPLICATE_FULL_LIMIT;
        let with_vec: Vec<usize> = (0..groups.len()).filter(|&g| reps[g].is_some()).collect();
        let anchors: Vec<usize> = with_vec.iter().copied().filter(|&g| full || groups[g].len() >= 2).collect();
        let vecs = |gs: &[usize]| -> Vec<&[f32]> { gs.iter().filter_map(|&g| reps[g].map(Vec::as_slice)).collect() };
        for (i, j) in crate::model::pairs_at_least(&vecs(&with_vec), &vecs(&anchors), normalise::NEAR_DUPLICATE_COSINE) {
            let (a, b) = (with_vec[i], anchors[j]);
            if (full && b <= a) || b == a {
                continue;
            }
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut joined: HashMap<usize, Vec<usize>> = HashMap::new();
        for (g, members) in groups.iter().enumerate() {
            joined.entry(root(&mut parent, g)).or_default().extend(members);
        }
        let mut big: Vec<Vec<usize>> = joined
            .into_values()
            .filter(|m| m.len() >= normalise::CAMPAIGN_MIN_SIZE)
            .map(|mut m| {
                m.sort_unstable();
                m
            })
            .collect();
        big.sort_by_key(|m| m[0]);
        for (n, members) in big.into_iter().enumerate() {
            for i in members {
                responses[i].campaign = Some(format!("{}-C{}", q.key, n + 1));
            }
        }
    }
}

/// The responses with each campaign group counted once (its first member kept).
/// The copies leave out the embedding, which counting does not need.
pub fn campaigns_once(responses: &[CodedResponse]) -> Vec<CodedResponse> {
    let mut seen = std::collections::HashSet::new();
    responses
        .iter()
        .filter(|r| r.campaign.as_ref().is_none_or(|c| seen.insert(c.clone())))
        .map(|r| {
            let vector = None;
            CodedResponse { vector, id: r.id.clone(), text: r.text.clone(), reason: r.reason.clone(),
                codes: r.codes.clone(), outcomes: r.outcomes.clone(), nearest: r.nearest.clone(),
                code_tones: r.code_tones.clone(), attributes: r.attributes.clone(), campaign: r.campaign.clone(),
                ..*r }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_are_cut_into_segments_without_losing_a_word() {
        let long: String = (0..300).map(|i| format!("Park{i}")).collect::<Vec<_>>().join(" ");
        let text = format!("Short first sentence here. {long}");
        let segs = segments(&text);
        assert_eq!(segs[0], "Short first sentence here.");
        assert_eq!(segs.len(), 1 + 3, "300 words -> windows of 120, 120, 60");
        assert!(segs.iter().all(|s| s.split_whitespace().count() <= SEGMENT_WORDS));
        let rejoined: Vec<&str> = segs[1..].iter().flat_map(|s| s.split_whitespace()).collect();
        assert_eq!(rejoined.join(" "), long);
    }

    #[test]
    fn an_answer_is_read_whole_and_by_sentence_and_a_long_one_from_its_segments() {
        let two = "Fix the roads. More buses please.";
        assert_eq!(answer_pieces(two, true), (vec![two.to_string(), "Fix the roads.".into(), "More buses please.".into()], false));
        assert_eq!(answer_pieces(two, false), (vec![two.to_string()], false));
        assert_eq!(answer_pieces("More buses please.", true), (vec!["More buses please.".to_string()], false));
        let long: String = (0..300).map(|i| format!("Park{i}")).collect::<Vec<_>>().join(" ");
        let (pieces, is_long) = answer_pieces(&long, false);
        assert!(is_long, "over {SEGMENT_WORDS} words: read from its segments even without sentence scoring");
        assert_eq!(pieces.len(), 1 + 3);
    }
}
