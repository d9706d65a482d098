//! `consult evaluate`: agreement between coded answers and a human-coded sample.

use std::collections::{BTreeSet, HashMap};
use anyhow::{bail, Context, Result};

use crate::codebook::Codebook;
use crate::input::Table;

/// One code's agreement counts. With sampling weights ([`Design`]) tp, fp, fn and tn are sums
/// of weights, estimates for every answer the sample was drawn from; `support` always counts
/// the sampled items people gave the code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeScore {
    pub code: String,
    pub tp: f64,
    pub fp: f64,
    pub fn_: f64,
    pub tn: f64,
    pub support: usize,
}

impl CodeScore {
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        ratio(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn_)
    }
    /// Cohen's kappa for the code's yes/no agreement between tool and human.
    pub fn kappa(&self) -> f64 {
        let n = self.tp + self.fp + self.fn_ + self.tn;
        if n == 0.0 {
            return 0.0;
        }
        let po = (self.tp + self.tn) / n;
        let yes = ((self.tp + self.fp) / n) * ((self.tp + self.fn_) / n);
        let no = ((self.fn_ + self.tn) / n) * ((self.fp + self.tn) / n);
        let pe = yes + no;
        if (1.0 - pe).abs() < 1e-12 { if po == 1.0 { 1.0 } else { 0.0 } } else { (po - pe) / (1.0 - pe) }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub per_code: Vec<CodeScore>,
    pub items: usize,
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub exact_match: f64,
    /// 95% bootstrap intervals (percentile method, 1,000 resamples of items, fixed seed; within
    /// each stratum for a weighted sample).
    pub micro_ci: (f64, f64),
    pub macro_ci: (f64, f64),
    /// Whether the figures are weighted by the sample's design ([`Design`]).
    pub weighted: bool,
}

/// How a sample was drawn, when its answers had unequal chances (`consult sample --per-code`):
/// each item's weight (answers it stands for: its stratum's answers over those drawn from it)
/// and stratum, in the order of the items scored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Design {
    pub weight: Vec<f64>,
    pub stratum: Vec<String>,
}

impl Design {
    /// The items at `keep` (indices into this design's items), in that order.
    pub fn select(&self, keep: &[usize]) -> Design {
        Design { weight: keep.iter().map(|&i| self.weight[i]).collect(), stratum: keep.iter().map(|&i| self.stratum[i].clone()).collect() }
    }
}

/// (predicted codes, gold codes) of one item.
pub type Pair = (BTreeSet<String>, BTreeSet<String>);

/// How one item's predicted codes agree with its gold codes on one code.
#[derive(Clone, Copy)]
enum Cell {
    Tp,
    Fp,
    Fn,
    Tn,
}

/// One item's agreement on each scored code (in the codes' order), and whether it agrees on
/// every one of them (an exact match).
struct Item {
    cells: Vec<Cell>,
    exact: bool,
    weight: f64,
}

fn items(pairs: &[Pair], codes: &BTreeSet<String>, design: Option<&Design>) -> Vec<Item> {
    pairs
        .iter()
        .enumerate()
        .map(|(i, (pred, gold))| {
            let cells: Vec<Cell> = codes
                .iter()
                .map(|c| match (pred.contains(c), gold.contains(c)) {
                    (true, true) => Cell::Tp,
                    (true, false) => Cell::Fp,
                    (false, true) => Cell::Fn,
                    (false, false) => Cell::Tn,
                })
                .collect();
            let exact = cells.iter().all(|c| matches!(c, Cell::Tp | Cell::Tn));
            Item { cells, exact, weight: design.map_or(1.0, |d| d.weight[i]) }
        })
        .collect()
}

/// Micro-F1, macro-F1 (over codes with gold support) and per-code counts.
fn point(items: &[&Item], codes: &BTreeSet<String>) -> (Vec<CodeScore>, f64, f64, f64) {
    let mut per_code: Vec<CodeScore> = codes.iter().map(|c| CodeScore { code: c.clone(), ..Default::default() }).collect();
    let (mut exact, mut total) = (0.0, 0.0);
    for item in items {
        let w = item.weight;
        total += w;
        if item.exact {
            exact += w;
        }
        for (s, cell) in per_code.iter_mut().zip(&item.cells) {
            match cell {
                Cell::Tp => s.tp += w,
                Cell::Fp => s.fp += w,
                Cell::Fn => s.fn_ += w,
                Cell::Tn => s.tn += w,
            }
            if matches!(cell, Cell::Tp | Cell::Fn) {
                s.support += 1;
            }
        }
    }
    let (tp, fp, fn_) = per_code.iter().fold((0.0, 0.0, 0.0), |a, s| (a.0 + s.tp, a.1 + s.fp, a.2 + s.fn_));
    let supported: Vec<&CodeScore> = per_code.iter().filter(|s| s.support > 0).collect();
    let macro_f1 =
        if supported.is_empty() { 0.0 } else { supported.iter().map(|s| s.f1()).sum::<f64>() / supported.len() as f64 };
    (per_code, ratio(2.0 * tp, 2.0 * tp + fp + fn_), macro_f1, ratio(exact, total))
}

/// Scores predicted code sets against gold sets over the given codes (macro-F1 averages
/// the codes with gold support; predictions of codes outside `codes` are ignored).
pub fn score(pairs: &[Pair], codes: &BTreeSet<String>) -> Report {
    score_design(pairs, codes, None)
}

/// [`score`] for a sample drawn with unequal chances: each item counts its weight, and the
/// bootstrap resamples each stratum apart, as it was drawn.
pub fn score_design(pairs: &[Pair], codes: &BTreeSet<String>, design: Option<&Design>) -> Report {
    // Each item's agreement per code is worked out once; the resamples only count it.
    let items = items(pairs, codes, design);
    // The items of each stratum (one stratum of every item when unweighted).
    let mut strata: Vec<Vec<usize>> = Vec::new();
    match design {
        Some(d) => {
            let mut index: HashMap<&str, usize> = HashMap::new();
            for (i, s) in d.stratum.iter().enumerate() {
                let k = *index.entry(s.as_str()).or_insert_with(|| {
                    strata.push(Vec::new());
                    strata.len() - 1
                });
                strata[k].push(i);
            }
        }
        None => strata.push((0..items.len()).collect()),
    }
    let all: Vec<&Item> = items.iter().collect();
    let (per_code, micro_f1, macro_f1, exact_match) = point(&all, codes);
    // Bootstrap: xorshift64* with a fixed seed, so the intervals are reproducible.
    let mut state: u64 = 0x9E3779B97F4A7C15;
    let mut next = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545F4914F6CDD1D)
    };
    let (mut micros, mut macros) = (Vec::new(), Vec::new());
    if !pairs.is_empty() {
        for _ in 0..1000 {
            let mut sample: Vec<&Item> = Vec::with_capacity(items.len());
            for s in &strata {
                for _ in 0..s.len() {
                    sample.push(&items[s[(next() % s.len() as u64) as usize]]);
                }
            }
            let (_, mi, ma, _) = point(&sample, codes);
            micros.push(mi);
            macros.push(ma);
        }
    }
    Report {
        items: pairs.len(),
        micro_f1,
        macro_f1,
        exact_match,
        per_code,
        micro_ci: percentile_interval(&mut micros),
        macro_ci: percentile_interval(&mut macros),
        weighted: design.is_some(),
    }
}

/// The pairs and codes at outcome level: each sub-outcome becomes its outcome (an outcome
/// stays itself). Codes outside the codebook's outcomes (one that stands alone, such as the
/// default codebook's "plan" or "other", or one it does not know) are scored at code level only:
/// counted here as outcomes of their own, they made half of the default codebook's ten and
/// pulled the outcome macro-F1 below the code level's. An answer given outcome 5 that was coded
/// "other" by hand still counts against outcome 5.
pub fn to_outcomes(pairs: &[Pair], codes: &BTreeSet<String>, codebook: &Codebook) -> (Vec<Pair>, BTreeSet<String>) {
    let lift = |set: &BTreeSet<String>| -> BTreeSet<String> {
        set.iter().map(|c| codebook.outcome_of(c)).filter(|o| codebook.has_children(o)).map(String::from).collect()
    };
    (pairs.iter().map(|(p, g)| (lift(p), lift(g))).collect(), lift(codes))
}

fn percentile_interval(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| v[((q * (v.len() - 1) as f64).round() as usize).min(v.len() - 1)];
    (at(0.025), at(0.975))
}

fn split_codes(s: &str) -> BTreeSet<String> {
    s.split(';').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect()
}

pub fn print_report(level: &str, rep: &Report) {
    print!("{}", report_text(level, rep));
}

/// A level's figures as `consult evaluate` prints them: per code, then micro and macro F1.
pub fn report_text(level: &str, rep: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "{level}: {} items", rep.items);
    let _ = writeln!(out, "{:<12} {:>9} {:>9} {:>9} {:>9} {:>8}", "code", "precision", "recall", "f1", "kappa", "support");
    for s in &rep.per_code {
        let _ = writeln!(
            out,
            "{:<12} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            s.code,
            s.precision(),
            s.recall(),
            s.f1(),
            s.kappa(),
            s.support
        );
    }
    let _ = writeln!(
        out,
        "{level}: micro-F1 {:.3} [{:.3}, {:.3}]  macro-F1 {:.3} [{:.3}, {:.3}]  exact match {:.3}",
        rep.micro_f1, rep.micro_ci.0, rep.micro_ci.1, rep.macro_f1, rep.macro_ci.0, rep.macro_ci.1, rep.exact_match
    );
    out
}

fn write_rows(w: &mut csv::Writer<std::fs::File>, level: &str, rep: &Report) -> Result<()> {
    for s in &rep.per_code {
        w.write_record([
            level.to_string(), s.code.clone(), format!("{:.4}", s.precision()), format!("{:.4}", s.recall()),
            format!("{:.4}", s.f1()), format!("{:.4}", s.kappa()), s.support.to_string(), String::new(), String::new(),
        ])?;
    }
    for (name, v, ci) in [("micro", rep.micro_f1, rep.micro_ci), ("macro", rep.macro_f1, rep.macro_ci)] {
        w.write_record([
            level.to_string(), name.to_string(), String::new(), String::new(), format!("{v:.4}"), String::new(),
            rep.items.to_string(), format!("{:.4}", ci.0), format!("{:.4}", ci.1),
        ])?;
    }
    Ok(())
}

/// Coded answers matched with a hand-coded sample.
pub struct Comparison {
    /// (codes given, codes by hand) per gold item that has a coded answer.
    pub pairs: Vec<Pair>,
    /// Each pair's answer text, as the coded file gives it.
    pub texts: Vec<String>,
    /// Every code the gold items carry.
    pub gold_codes: BTreeSet<String>,
    /// Gold items with no coded answer, and gold items that carry no code.
    pub missing: usize,
    pub uncoded: usize,
    /// (tone read, tone by hand) per gold item with a coded answer and a tone in the gold
    /// file's `tone` column (positive, neutral, negative or mixed).
    pub tones: Vec<Pair>,
    /// The sample's weights and strata (its `weight` and `stratum` columns), for `pairs` and
    /// for `tones`, when it was drawn with unequal chances.
    pub design: Option<Design>,
    pub tone_design: Option<Design>,
}

/// The gold file's sampling weights, when it has a `weight` column (`consult sample
/// --per-code` writes it, with `stratum`): each row's weight, a number above 0.
fn weights(gold: &Table) -> Result<Option<Vec<(f64, String)>>> {
    let Some(w) = gold.headers.iter().position(|h| h == "weight") else { return Ok(None) };
    let stratum = gold.headers.iter().position(|h| h == "stratum");
    gold.rows
        .iter()
        .map(|r| {
            let v = r.fields[w].trim();
            match v.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => Ok((x, stratum.map_or(String::new(), |s| r.fields[s].trim().to_string()))),
                _ => bail!(
                    "{}: line {}, column weight: {v:?} is not a weight (a number above 0, as `consult sample --per-code` \
                     wrote it; leave the column as it was drawn)",
                    gold.path.display(),
                    r.line
                ),
            }
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Matches `coded` (a coded_responses.csv) with `gold` by id, and by question when the gold
/// file has the question column: the columns are `id`, `codes` and `question` unless named.
pub fn compare(coded: &Table, gold: &Table, gold_id: &str, gold_codes: &str, gold_question: &str) -> Result<Comparison> {
    let (c_id, g_id) = (coded.column("id")?, gold.column(gold_id)?);
    let key = |r: &crate::input::Row, id_col: usize, q: Option<usize>| -> String {
        let id = r.fields[id_col].trim().to_string();
        match q {
            Some(c) => format!("{id}\u{1f}{}", r.fields[c].trim()),
            None => id,
        }
    };
    let gq = gold.headers.iter().position(|h| h == gold_question);
    let cq = if gq.is_some() { Some(coded.column("question")?) } else { None };
    // The gold file's question may name a question as the run does (Q1, Q2, ...) or by its
    // text (its column header, `question_text`); either matches. A run of one open question,
    // with each gold id given once, is matched by id alone, whatever the gold's question says.
    let distinct = |t: &Table, c: usize| t.rows.iter().map(|r| r.fields[c].trim().to_string()).collect::<BTreeSet<String>>();
    let by_id_alone =
        cq.is_some_and(|c| distinct(coded, c).len() <= 1) && distinct(gold, g_id).len() == gold.rows.len();
    let (gq, cq) = if by_id_alone { (None, None) } else { (gq, cq) };
    let cq_text = cq.and_then(|_| coded.headers.iter().position(|h| h == "question_text"));
    let c_codes = coded.column("codes")?;
    let c_text = coded.column("text").ok();
    let c_tone = coded.headers.iter().position(|h| h == "sentiment");
    let g_tone = gold.headers.iter().position(|h| h == "tone");
    let g_codes = gold.column(gold_codes)?;
    let status = coded.column("status").ok();
    let gold_weights = weights(gold)?;
    // A blank or rejected answer counts as coded with nothing: the tool gave it no code.
    // When an id has several rows (one per question), a coded row wins over a blank one.
    let mut predicted: HashMap<String, (BTreeSet<String>, &str, &str)> = HashMap::new();
    for r in &coded.rows {
        let codes = if status.is_some_and(|s| r.fields[s] != "coded") { BTreeSet::new() } else { split_codes(&r.fields[c_codes]) };
        let field = |c: Option<usize>| c.map_or("", |c| r.fields[c].as_str());
        for k in std::iter::once(key(r, c_id, cq)).chain(cq_text.map(|q| key(r, c_id, Some(q)))) {
            if !codes.is_empty() || !predicted.contains_key(&k) {
                predicted.insert(k, (codes.clone(), field(c_text), field(c_tone)));
            }
        }
    }
    let mut cmp = Comparison {
        pairs: Vec::new(),
        texts: Vec::new(),
        gold_codes: BTreeSet::new(),
        missing: 0,
        uncoded: 0,
        tones: Vec::new(),
        design: gold_weights.as_ref().map(|_| Design::default()),
        tone_design: gold_weights.as_ref().map(|_| Design::default()),
    };
    for (row, r) in gold.rows.iter().enumerate() {
        let push = |d: &mut Option<Design>| {
            if let (Some(d), Some(w)) = (d.as_mut(), gold_weights.as_ref()) {
                d.weight.push(w[row].0);
                d.stratum.push(w[row].1.clone());
            }
        };
        let g = split_codes(&r.fields[g_codes]);
        cmp.uncoded += usize::from(g.is_empty());
        cmp.gold_codes.extend(g.iter().cloned());
        match predicted.get(&key(r, g_id, gq)) {
            Some((p, text, tone)) => {
                cmp.pairs.push((p.clone(), g));
                cmp.texts.push(text.to_string());
                push(&mut cmp.design);
                let by_hand = g_tone.map_or("", |c| r.fields[c].trim());
                if !by_hand.is_empty() {
                    let one = |t: &str| BTreeSet::from([t.trim().to_lowercase()]);
                    cmp.tones.push((one(tone), one(by_hand)));
                    push(&mut cmp.tone_design);
                }
            }
            None => cmp.missing += 1,
        }
    }
    Ok(cmp)
}

/// By code, and by outcome when some scored code is in an outcome: the two levels `consult
/// evaluate` gives, over `codes`.
pub fn levels(pairs: &[Pair], codes: &BTreeSet<String>, codebook: &Codebook, design: Option<&Design>) -> (Report, Option<Report>) {
    let (outcome_pairs, outcome_codes) = to_outcomes(pairs, codes, codebook);
    (
        score_design(pairs, codes, design),
        (!outcome_codes.is_empty()).then(|| score_design(&outcome_pairs, &outcome_codes, design)),
    )
}

/// The tones an answer can be read as, and the tone level's figures: one tone per answer on
/// each side, so micro-F1 is the share read as people read it (accuracy).
pub const TONES: [&str; 4] = ["positive", "neutral", "negative", "mixed"];

pub fn tone_report(tones: &[Pair], design: Option<&Design>) -> Option<Report> {
    let present: BTreeSet<String> = tones.iter().flat_map(|(_, g)| g.iter().cloned()).collect();
    (!tones.is_empty()).then(|| score_design(tones, &present, design))
}

/// Writes the per-code figures of each level as CSV (`consult evaluate --csv`).
pub fn write_csv(path: &std::path::Path, levels: &[(&str, &Report)]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).with_context(|| format!("{}: cannot write", path.display()))?;
    w.write_record(["level", "code", "precision", "recall", "f1", "kappa", "support", "ci_low", "ci_high"])?;
    for (level, rep) in levels {
        write_rows(&mut w, level, rep)?;
    }
    w.flush().with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

/// A hand-coded sample of a run's own answers (`consult analyse --check`), read and checked
/// before the run: columns `id` and `codes`, and `question` when the export has several open
/// questions (as `consult sample` writes them); every row coded, with codes of `codebook`.
pub fn read_check(path: &std::path::Path, codebook: &Codebook, questions: usize) -> Result<Table> {
    let t = Table::read_whole(path)?;
    t.column("id")?;
    let codes = t.column("codes")?;
    let tone = t.headers.iter().position(|h| h == "tone");
    // Matched as `compare` matches: by the header `question` exactly.
    if questions > 1 && !t.headers.iter().any(|h| h == "question") {
        bail!(
            "{}: no question column; with {questions} open questions each row must say which question's answer it \
             codes (Q1, Q2, ... as in coded_responses.csv; `consult sample` writes it)",
            path.display()
        );
    }
    if t.rows.is_empty() {
        bail!("{}: no rows", path.display());
    }
    weights(&t)?;
    for r in &t.rows {
        let given = split_codes(&r.fields[codes]);
        if given.is_empty() {
            bail!(
                "{}: line {}, column codes: no code; code every answer of the sample (\"{}\" where none fits)",
                path.display(),
                r.line,
                codebook.fallback
            );
        }
        if let Some(c) = given.iter().find(|c| codebook.get(c).is_none()) {
            bail!("{}: line {}, column codes: code {c:?} is not in the codebook {}", path.display(), r.line, codebook.source);
        }
        // The tone column is optional, and so is each row's tone.
        let tone = tone.map_or("", |c| r.fields[c].trim());
        if !tone.is_empty() && !TONES.contains(&tone.to_lowercase().as_str()) {
            bail!(
                "{}: line {}, column tone: {tone:?} is not a tone; use {} (or leave it empty)",
                path.display(),
                r.line,
                TONES.join(", ")
            );
        }
    }
    Ok(t)
}

/// How a run's codes agree with a hand-coded sample of its answers.
pub struct Checked {
    /// Sample rows compared, rows that matched no answer of the run, and answers left out for
    /// being among the hand-coded examples too (scored against themselves, they would agree).
    pub compared: usize,
    pub unmatched: usize,
    pub left_out: usize,
    pub by_code: Report,
    pub by_outcome: Option<Report>,
    /// The tone read against the tone given by hand, where the sample gives one.
    pub tone: Option<Report>,
}

/// Compares the run's `coded` answers with the sample `gold` ([`read_check`]), leaving out the
/// answers whose text is among `examples` (tidied statements the classifier compares with).
pub fn check(coded: &Table, gold: &Table, codebook: &Codebook, examples: &std::collections::HashSet<String>) -> Result<Checked> {
    let cmp = compare(coded, gold, "id", "codes", "question")?;
    if cmp.pairs.is_empty() {
        bail!(
            "{}: none of its {} rows matches an answer of this run by id{}; it must be a sample of this export's answers \
             (`consult sample`)",
            gold.path.display(),
            gold.rows.len(),
            if gold.column("question").is_ok() { " and question" } else { "" }
        );
    }
    let keep: Vec<usize> = (0..cmp.pairs.len()).filter(|&i| !examples.contains(&crate::normalise::tidy(&cmp.texts[i]))).collect();
    let pairs: Vec<Pair> = keep.iter().map(|&i| cmp.pairs[i].clone()).collect();
    let design = cmp.design.as_ref().map(|d| d.select(&keep));
    if pairs.is_empty() {
        bail!(
            "{}: every answer of the sample is also among the hand-coded examples, so the codes given to it cannot be \
             checked against it; the methods note's leave-one-out figure is their agreement (or give --check a sample \
             not used with --examples)",
            gold.path.display()
        );
    }
    let (by_code, by_outcome) = levels(&pairs, &cmp.gold_codes, codebook, design.as_ref());
    let tone = tone_report(&cmp.tones, cmp.tone_design.as_ref());
    Ok(Checked { compared: pairs.len(), unmatched: cmp.missing, left_out: cmp.pairs.len() - pairs.len(), by_code, by_outcome, tone })
}

pub fn run(args: &crate::cli::EvaluateArgs) -> Result<()> {
    let codebook = Codebook::load_or_default(args.codebook.as_deref())?;
    let coded = Table::read_whole(&args.coded)?;
    let gold = Table::read_whole(&args.gold)?;
    let Comparison { pairs, gold_codes: all_codes, missing, uncoded, tones, design, tone_design, .. } =
        compare(&coded, &gold, &args.gold_id, &args.gold_codes, &args.gold_question)?;
    println!("Items compared: {} ({} gold items had no coded answer)", pairs.len(), missing);
    if let Some(d) = &design {
        let strata: BTreeSet<&str> = d.stratum.iter().map(String::as_str).collect();
        println!(
            "Weighted by the gold file's weight column (a sample drawn per code, {} strata): the figures estimate all {:.0} \
             answers the sample stands for, not the {} sampled",
            strata.len(),
            d.weight.iter().sum::<f64>(),
            pairs.len()
        );
    }
    if uncoded > 0 {
        // A sample not yet coded to the end would otherwise pass for answers no code fits.
        println!(
            "{uncoded} gold items carry no code: they count as answers no code fits (any code given them is a false \
             positive); code them (the fallback code where none fits) if they are not done yet"
        );
    }
    let codes: BTreeSet<String> = if args.only.is_empty() { all_codes } else { args.only.iter().cloned().collect() };
    let (outcome_pairs, outcome_codes) = to_outcomes(&pairs, &codes, &codebook);
    let mut levels: Vec<(&str, Report)> = Vec::new();
    if !args.outcomes {
        levels.push(("code", score_design(&pairs, &codes, design.as_ref())));
    }
    if args.outcomes && outcome_codes.is_empty() {
        bail!(
            "{}: none of the codes scored ({}) is an outcome or a sub-outcome of the codebook {}, so there is no outcome level",
            args.gold.display(),
            codes.iter().cloned().collect::<Vec<_>>().join(", "),
            codebook.name
        );
    }
    if !outcome_codes.is_empty() && (args.outcomes || outcome_codes != codes) {
        levels.push(("outcome", score_design(&outcome_pairs, &outcome_codes, design.as_ref())));
    }
    // A gold `tone` column: the tone read against the tone given by hand.
    levels.extend(tone_report(&tones, tone_design.as_ref()).map(|r| ("tone", r)));
    for (level, rep) in &levels {
        print_report(level, rep);
    }
    if let Some(p) = &args.csv {
        write_csv(p, &levels.iter().map(|(l, r)| (*l, r)).collect::<Vec<_>>())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> BTreeSet<String> {
        split_codes(s)
    }

    #[test]
    fn kappa_matches_hand_computation() {
        // tp 20, fp 5, fn 10, tn 65: po 0.85, pe 0.25*0.30 + 0.75*0.70 = 0.6, kappa 0.625
        let s = CodeScore { code: "x".into(), tp: 20.0, fp: 5.0, fn_: 10.0, tn: 65.0, support: 30 };
        assert!((s.kappa() - 0.625).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_interval_brackets_the_point_estimate_and_is_reproducible() {
        let pairs: Vec<Pair> = (0..60)
            .map(|i| (set(if i % 3 == 0 { "a" } else { "b" }), set(if i % 4 == 0 { "a" } else { "b" })))
            .collect();
        let r = score(&pairs, &set("a;b"));
        assert!(r.macro_ci.0 <= r.macro_f1 && r.macro_f1 <= r.macro_ci.1, "{:?}", (r.macro_ci, r.macro_f1));
        assert!(r.micro_ci.0 < r.micro_ci.1);
        assert_eq!(score(&pairs, &set("a;b")).macro_ci, r.macro_ci);
    }

    #[test]
    fn outcome_level_scores_the_plans_outcomes_only() {
        let cb = Codebook::default_plan().unwrap();
        // Hand-coded 5.2 and given 5.1 with "plan": right at outcome level ("plan" is scored by
        // code only). Hand-coded "other" and given 5.1: wrong, a false outcome 5.
        let pairs = vec![(set("5.1;plan"), set("5.2")), (set("5.1"), set("other"))];
        let (lifted, codes) = to_outcomes(&pairs, &set("5.2;other;plan"), &cb);
        assert_eq!(codes, set("5"));
        assert_eq!(lifted, vec![(set("5"), set("5")), (set("5"), set(""))]);
        let r = score(&lifted, &codes);
        assert_eq!((r.per_code[0].tp, r.per_code[0].fp), (1.0, 1.0));
        assert!((r.macro_f1 - 2.0 / 3.0).abs() < 1e-12 && (r.exact_match - 0.5).abs() < 1e-12);
    }

    #[test]
    fn weights_count_each_item_as_the_answers_it_stands_for() {
        // a given rightly to one answer standing for 1; a given in error to one standing for 3;
        // b given rightly to one standing for 2 and missed on the second.
        let pairs = vec![(set("a"), set("a")), (set("a"), set("b")), (set("b"), set("b"))];
        let design = Design { weight: vec![1.0, 3.0, 2.0], stratum: ["s1", "s2", "s2"].map(String::from).to_vec() };
        let r = score_design(&pairs, &set("a;b"), Some(&design));
        assert!(r.weighted);
        let (a, b) = (&r.per_code[0], &r.per_code[1]);
        assert_eq!((a.tp, a.fp, a.fn_, a.tn, a.support), (1.0, 3.0, 0.0, 2.0, 1));
        assert_eq!((b.tp, b.fp, b.fn_, b.tn, b.support), (2.0, 0.0, 3.0, 1.0, 2));
        // micro 2*3 / (2*3 + 3 + 3); unweighted it would be 2*2 / (2*2 + 1 + 1).
        assert!((r.micro_f1 - 0.5).abs() < 1e-12);
        assert!((r.exact_match - 3.0 / 6.0).abs() < 1e-12);
        // The stratum of one item is resampled as itself: the interval still holds the figure.
        assert!(r.micro_ci.0 <= r.micro_f1 && r.micro_f1 <= r.micro_ci.1);
        assert!(!score(&pairs, &set("a;b")).weighted);
        assert!((score(&pairs, &set("a;b")).micro_f1 - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn micro_macro_and_exact_match() {
        let pairs = vec![(set("a;b"), set("a")), (set("b"), set("b")), (set(""), set("c"))];
        let r = score(&pairs, &set("a;b;c"));
        // a: tp1; b: tp1 fp1; c: fn1 -> micro 2*2 / (2*2 + 1 + 1)
        assert!((r.micro_f1 - 4.0 / 6.0).abs() < 1e-12);
        assert!((r.macro_f1 - (1.0 + 2.0 / 3.0 + 0.0) / 3.0).abs() < 1e-12);
        assert!((r.exact_match - 1.0 / 3.0).abs() < 1e-12);
    }
}
