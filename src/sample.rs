//! `consult sample`: draws a random sample of a run's coded answers for an officer to code by
//! hand (codes, and if they will the tone), blind to the tool's, so that `consult analyse
//! --check` and `consult evaluate` can say how well this consultation's answers were coded (the
//! field guide's "agreement with a human-coded sample"), and `consult analyse --examples` can
//! code the next run with them.
//!
//! The draw is reproducible: within each question, answers are ordered by the SHA-256 of the
//! seed, question and id, and the first ones taken. Each question gets its share of the sample
//! in proportion to its coded answers (largest remainders), and a campaign's copies count once,
//! since coding the same text twice tells nothing new.
//!
//! A simple random sample of 100 holds few of a run's rarer codes, so it cannot say how often
//! they were given rightly. With `--per-code K` the draw is stratified instead: each answer
//! falls in the stratum of the rarest code the run gave it, each stratum gives at least K
//! answers (all it has when fewer) and the rest of the sample is shared in proportion to what
//! is left. Each answer then stands for its stratum's answers over those drawn from it: the
//! `weight` column, with `stratum`, by which `consult evaluate` and `analyse --check` weight
//! their figures back to the whole run. Strata are named S1, S2, ... (rarest first), not by
//! their code, so the person coding stays blind to the tool's codes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::codebook::Codebook;
use crate::input::Table;

/// One answer drawn: its keys as `coded_responses.csv` gives them, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn {
    pub id: String,
    pub question: String,
    pub question_text: String,
    pub text: String,
    /// The codes the run gave it (not written: the sample is coded blind).
    pub codes: Vec<String>,
    /// Its stratum and weight, in a sample drawn per code.
    pub stratum: Option<(String, f64)>,
}

/// What was drawn: (question, answers there to draw from, answers drawn) per question in the
/// file's order; for a sample drawn per code, (stratum, its code, answers in it, answers drawn)
/// per stratum, rarest code first.
pub struct Sample {
    pub drawn: Vec<Drawn>,
    pub per_question: Vec<(String, usize, usize)>,
    pub per_stratum: Vec<(String, String, usize, usize)>,
}

/// Shares of `n` in proportion to `sizes` (largest remainders; ties to the earlier), none
/// above its size; all of them when `n` is at least their sum.
fn allocate(sizes: &[usize], n: usize) -> Vec<usize> {
    let total: usize = sizes.iter().sum();
    if n >= total {
        return sizes.to_vec();
    }
    let mut shares: Vec<usize> = sizes.iter().map(|&s| s * n / total).collect();
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    // Remainder of s * n / total, compared as s * n mod total.
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i] * n % total));
    let mut left = n - shares.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i] < sizes[i] {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares
}

/// Draws up to `n` of the coded answers in `coded` (a `coded_responses.csv`); with `per_code`
/// above 0, at least that many of each code's stratum (module notes), so maybe more than `n`.
pub fn draw(coded: &Table, n: usize, seed: u64, per_code: usize) -> Result<Sample> {
    let col = |name: &str| coded.column(name);
    let (id, q, qt, text, status) = (col("id")?, col("question")?, col("question_text")?, col("text")?, col("status")?);
    let codes = col("codes")?;
    let campaign = coded.column("campaign").ok();
    // The questions in the export's order (the order they first appear, blank answers too).
    let mut questions: Vec<String> = Vec::new();
    for r in &coded.rows {
        if !questions.contains(&r.fields[q]) {
            questions.push(r.fields[q].clone());
        }
    }
    // Per question: the answers to draw from.
    let mut pools: BTreeMap<String, Vec<Drawn>> = BTreeMap::new();
    let mut seen_campaigns: HashSet<(String, String)> = HashSet::new();
    for r in coded.rows.iter().filter(|r| r.fields[status] == "coded") {
        let question = r.fields[q].clone();
        if let Some(c) = campaign.map(|c| r.fields[c].trim()).filter(|c| !c.is_empty()) {
            if !seen_campaigns.insert((question.clone(), c.to_string())) {
                continue;
            }
        }
        pools.entry(question.clone()).or_default().push(Drawn {
            id: r.fields[id].clone(),
            question,
            question_text: r.fields[qt].clone(),
            text: r.fields[text].clone(),
            codes: r.fields[codes].split(';').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect(),
            stratum: None,
        });
    }
    questions.retain(|q| pools.contains_key(q));
    if questions.is_empty() {
        bail!("{}: no coded answers to draw from (no row has status \"coded\")", coded.path.display());
    }
    let key = |d: &Drawn| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        for part in [&d.question, &d.id] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    };
    if per_code > 0 {
        return Ok(draw_per_code(questions, pools, n, per_code, key));
    }
    let sizes: Vec<usize> = questions.iter().map(|q| pools[q].len()).collect();
    let shares = allocate(&sizes, n);
    let mut drawn = Vec::new();
    let mut per_question = Vec::new();
    for ((question, size), share) in questions.iter().zip(&sizes).zip(&shares) {
        let mut pool = pools.remove(question).unwrap_or_default();
        pool.sort_by_cached_key(key);
        pool.truncate(*share);
        per_question.push((question.clone(), *size, *share));
        drawn.extend(pool);
    }
    Ok(Sample { drawn, per_question, per_stratum: Vec::new() })
}

/// The draw stratified by the rarest code each answer was given (module notes).
fn draw_per_code(
    questions: Vec<String>,
    pools: BTreeMap<String, Vec<Drawn>>,
    n: usize,
    per_code: usize,
    key: impl Fn(&Drawn) -> [u8; 32],
) -> Sample {
    let pool_size: BTreeMap<String, usize> = pools.iter().map(|(q, v)| (q.clone(), v.len())).collect();
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for d in pools.values().flatten() {
        for c in &d.codes {
            *count.entry(c.clone()).or_default() += 1;
        }
    }
    // Each answer's rarest code (ties to the code sorted first; "" for an answer with none).
    let rarest = |d: &Drawn| -> String {
        d.codes.iter().min_by_key(|c| (count[c.as_str()], c.as_str())).cloned().unwrap_or_default()
    };
    let mut strata: BTreeMap<String, Vec<Drawn>> = BTreeMap::new();
    for d in pools.into_values().flatten() {
        strata.entry(rarest(&d)).or_default().push(d);
    }
    // Rarest code first, as the run counted it (the stratum of answers with no code last).
    let mut order: Vec<(String, Vec<Drawn>)> = strata.into_iter().collect();
    order.sort_by_key(|(c, _)| (c.is_empty(), count.get(c).copied().unwrap_or(0), c.clone()));
    let sizes: Vec<usize> = order.iter().map(|(_, v)| v.len()).collect();
    let least: Vec<usize> = sizes.iter().map(|&s| s.min(per_code)).collect();
    let rest: Vec<usize> = sizes.iter().zip(&least).map(|(s, l)| s - l).collect();
    let extra = allocate(&rest, n.saturating_sub(least.iter().sum()));
    let mut drawn = Vec::new();
    let mut per_stratum = Vec::new();
    for (k, ((code, mut pool), size)) in order.into_iter().zip(&sizes).enumerate() {
        let share = least[k] + extra[k];
        let name = format!("S{}", k + 1);
        pool.sort_by_cached_key(&key);
        pool.truncate(share);
        let weight = *size as f64 / share as f64;
        for d in &mut pool {
            d.stratum = Some((name.clone(), weight));
        }
        per_stratum.push((name, code, *size, share));
        drawn.extend(pool);
    }
    // Listed by question, then in the draw's own order, so no stratum (code) sits together.
    let position = |q: &str| questions.iter().position(|x| x == q).unwrap_or(usize::MAX);
    drawn.sort_by_cached_key(|d| (position(&d.question), key(d)));
    let per_question = questions
        .iter()
        .map(|q| (q.clone(), pool_size[q], drawn.iter().filter(|d| &d.question == q).count()))
        .collect();
    Sample { drawn, per_question, per_stratum }
}

const HEADERS: [&str; 6] = ["id", "question", "question_text", "text", "codes", "tone"];
/// Two more columns of a sample drawn per code, to leave as they are.
const DESIGN: [&str; 2] = ["stratum", "weight"];

impl Sample {
    fn per_code(&self) -> bool {
        !self.per_stratum.is_empty()
    }
    fn headers(&self) -> Vec<&'static str> {
        HEADERS.iter().chain(if self.per_code() { &DESIGN[..] } else { &[] }).copied().collect()
    }
}

/// A weight as the sample file gives it: enough digits to sum back to the stratum's size.
fn weight_text(w: f64) -> String {
    let s = format!("{w:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Writes the sample to `out`: an Excel workbook when it ends in `.xlsx` (the sample, then the
/// codebook's codes to choose from), else CSV. The `codes` and `tone` columns are left empty for the officer.
pub fn write(sample: &Sample, codebook: &Codebook, out: &Path) -> Result<()> {
    let xlsx = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        write_xlsx(sample, codebook, out)
    } else {
        let mut w = csv::Writer::from_path(out).with_context(|| format!("{}: cannot write", out.display()))?;
        w.write_record(sample.headers())?;
        for d in &sample.drawn {
            let mut row = vec![d.id.clone(), d.question.clone(), d.question_text.clone(), d.text.clone(), String::new(), String::new()];
            if let Some((s, weight)) = &d.stratum {
                row.extend([s.clone(), weight_text(*weight)]);
            }
            w.write_record(row)?;
        }
        w.flush().with_context(|| format!("{}: cannot write", out.display()))?;
        Ok(())
    }
}

fn write_xlsx(sample: &Sample, codebook: &Codebook, out: &Path) -> Result<()> {
    use rust_xlsxwriter::{Format, FormatBorder, Workbook};
    let mut wb = Workbook::new();
    let head = Format::new().set_bold().set_background_color("F3F2F1").set_border_bottom(FormatBorder::Medium);
    let wrap = Format::new().set_text_wrap().set_align(rust_xlsxwriter::FormatAlign::Top);
    // Text format, so that Excel keeps a typed 5.2 as the code "5.2", not a number.
    let to_fill = wrap.clone().set_background_color("FFF2CC").set_num_format("@");
    let ws = wb.add_worksheet().set_name("Sample")?;
    for (c, h) in sample.headers().iter().enumerate() {
        ws.write_with_format(0, c as u16, *h, &head)?;
    }
    let keep = wrap.clone().set_font_color("767676");
    // Column widths in characters; wrapped columns set each row's height, which LibreOffice
    // does not work out for itself.
    let widths = [22.0, 9.0, 40.0, 80.0, 20.0, 12.0, 9.0, 9.0];
    let lines = |s: &str, width: f64| -> f64 {
        s.trim().lines().map(|l| (l.chars().count() as f64 / (width - 2.0)).ceil().max(1.0)).sum::<f64>().max(1.0)
    };
    for (r, d) in sample.drawn.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in [&d.id, &d.question, &d.question_text, &d.text].iter().enumerate() {
            ws.write_with_format(r, c as u16, v.as_str(), &wrap)?;
        }
        ws.write_blank(r, 4, &to_fill)?;
        ws.write_blank(r, 5, &to_fill)?;
        if let Some((s, weight)) = &d.stratum {
            ws.write_with_format(r, 6, s.as_str(), &keep)?;
            ws.write_with_format(r, 7, *weight, &keep)?;
        }
        ws.set_row_height(r, 3.0 + 15.0 * lines(&d.question_text, widths[2]).max(lines(&d.text, widths[3])))?;
    }
    for (c, width) in widths.iter().enumerate().take(sample.headers().len()) {
        ws.set_column_width(c as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0)?;
    let ws = wb.add_worksheet().set_name("Codes")?;
    ws.write_with_format(0, 0, "How to code", &head)?;
    ws.merge_range(
        1,
        0,
        1,
        2,
        &format!(
            "Read each answer on the Sample sheet and type the codes that fit in its codes column: the ids below, \
             separated by semicolons (e.g. 5.2;8.2), sub-outcomes rather than outcomes, the fallback code where none \
             fits. Code without looking at the tool's codes. If you will, type each answer's tone in its tone column \
             too: positive, neutral, negative or mixed (a plain suggestion is neutral, a complaint negative, praise \
             positive).{} Then run `consult analyse EXPORT --check THIS_FILE` (or `consult evaluate \
             coded_responses.csv THIS_FILE`).",
            if sample.per_code() {
                " Leave the stratum and weight columns as they are: the sample was drawn with more of the rarer codes' \
                 answers, and each answer's weight says how many of the run's answers it stands for."
            } else {
                ""
            }
        ),
        &wrap,
    )?;
    ws.set_row_height(1, if sample.per_code() { 96.0 } else { 64.0 })?;
    ws.write(2, 0, format!("Codebook: {}, version {}", codebook.name, codebook.version))?;
    for (c, h) in ["id", "label", "outcome"].iter().enumerate() {
        ws.write_with_format(4, c as u16, *h, &head)?;
    }
    for (r, code) in codebook.assignable().iter().enumerate() {
        let r = r as u32 + 5;
        ws.write(r, 0, code.id.as_str())?;
        ws.write(r, 1, code.label.as_str())?;
        if let Some(p) = code.parent.as_deref().and_then(|p| codebook.get(p)) {
            ws.write(r, 2, format!("{} {}", p.id, p.label))?;
        }
    }
    ws.set_column_width(0, 12.0)?;
    ws.set_column_width(1, 70.0)?;
    ws.set_column_width(2, 50.0)?;
    ws.set_landscape();
    ws.set_print_fit_to_pages(1, 0);
    wb.save(out).with_context(|| format!("{}: cannot write", out.display()))?;
    Ok(())
}

/// `consult sample`.
pub fn run(args: &crate::cli::SampleArgs) -> Result<()> {
    let codebook = Codebook::load_or_default(args.codebook.as_deref())?;
    let coded = Table::read_whole(&args.coded)?;
    let n = usize::try_from(args.n).unwrap_or(usize::MAX);
    let sample = draw(&coded, n, args.seed, args.per_code)?;
    write(&sample, &codebook, &args.out)?;
    let pool: usize = sample.per_question.iter().map(|(_, s, _)| s).sum();
    println!(
        "Drew {} of {pool} coded answers (a campaign's copies counted once; seed {}) into {}:",
        sample.drawn.len(),
        args.seed,
        args.out.display()
    );
    for (q, size, share) in &sample.per_question {
        println!("  {q}: {share} of {size}");
    }
    if sample.per_code() {
        // The strata are not named by their codes here either: the sample is coded blind.
        println!(
            "Drawn per code: each answer in the stratum of the rarest code this run gave it ({} strata, S1 the rarest), \
             at least {} from each (all of a smaller one){}; each answer's weight (its stratum's answers over those \
             drawn) weights the figures back to all {pool}:",
            sample.per_stratum.len(),
            args.per_code,
            if sample.drawn.len() > n { format!(", so more than the {n} asked for") } else { String::new() }
        );
        for (name, _, size, share) in &sample.per_stratum {
            println!("  {name}: {share} of {size} (weight {})", weight_text(*size as f64 / *share as f64));
        }
    }
    println!(
        "Code each answer in its codes column (codebook ids separated by ';', \"{}\" where none fits), without \
         looking at the tool's codes, and if you will its tone (positive, neutral, negative or mixed). Then \
         `consult analyse EXPORT --check {}` reports this consultation's agreement with people (`consult evaluate \
         {} {}` prints it), and `consult analyse EXPORT --examples {}` codes with the sample's answers as examples.",
        codebook.fallback,
        args.out.display(),
        args.coded.display(),
        args.out.display(),
        args.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::allocate;

    #[test]
    fn shares_are_proportional_and_sum_to_n() {
        assert_eq!(allocate(&[100, 50, 50], 20), vec![10, 5, 5]);
        // 7 * 10 / 12 = 5.83, 5 * 10 / 12 = 4.17: the larger remainder gets the last one.
        assert_eq!(allocate(&[7, 5], 10), vec![6, 4]);
        assert_eq!(allocate(&[3, 1], 10), vec![3, 1]);
        assert_eq!(allocate(&[1, 1, 1], 2).iter().sum::<usize>(), 2);
    }
}
