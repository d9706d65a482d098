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
}

/// What was drawn, per question in the file's order: (question, answers there to draw from,
/// answers drawn).
pub struct Sample {
    pub drawn: Vec<Drawn>,
    pub per_question: Vec<(String, usize, usize)>,
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

/// Draws up to `n` of the coded answers in `coded` (a `coded_responses.csv`).
pub fn draw(coded: &Table, n: usize, seed: u64) -> Result<Sample> {
    let col = |name: &str| coded.column(name);
    let (id, q, qt, text, status) = (col("id")?, col("question")?, col("question_text")?, col("text")?, col("status")?);
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
        });
    }
    questions.retain(|q| pools.contains_key(q));
    if questions.is_empty() {
        bail!("{}: no coded answers to draw from (no row has status \"coded\")", coded.path.display());
    }
    let sizes: Vec<usize> = questions.iter().map(|q| pools[q].len()).collect();
    let shares = allocate(&sizes, n);
    let key = |d: &Drawn| -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(seed.to_le_bytes());
        for part in [&d.question, &d.id] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().into()
    };
    let mut drawn = Vec::new();
    let mut per_question = Vec::new();
    for ((question, size), share) in questions.iter().zip(&sizes).zip(&shares) {
        let mut pool = pools.remove(question).unwrap_or_default();
        pool.sort_by_cached_key(key);
        pool.truncate(*share);
        per_question.push((question.clone(), *size, *share));
        drawn.extend(pool);
    }
    Ok(Sample { drawn, per_question })
}

const HEADERS: [&str; 6] = ["id", "question", "question_text", "text", "codes", "tone"];

/// Writes the sample to `out`: an Excel workbook when it ends in `.xlsx` (the sample, then the
/// codebook's codes to choose from), else CSV. The `codes` and `tone` columns are left empty for the officer.
pub fn write(sample: &Sample, codebook: &Codebook, out: &Path) -> Result<()> {
    let xlsx = out.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx"));
    if xlsx {
        write_xlsx(sample, codebook, out)
    } else {
        let mut w = csv::Writer::from_path(out).with_context(|| format!("{}: cannot write", out.display()))?;
        w.write_record(HEADERS)?;
        for d in &sample.drawn {
            w.write_record([&d.id, &d.question, &d.question_text, &d.text, "", ""])?;
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
    for (c, h) in HEADERS.iter().enumerate() {
        ws.write_with_format(0, c as u16, *h, &head)?;
    }
    // Column widths in characters; wrapped columns set each row's height, which LibreOffice
    // does not work out for itself.
    let widths = [22.0, 9.0, 40.0, 80.0, 20.0, 12.0];
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
        ws.set_row_height(r, 3.0 + 15.0 * lines(&d.question_text, widths[2]).max(lines(&d.text, widths[3])))?;
    }
    for (c, width) in widths.iter().enumerate() {
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
        "Read each answer on the Sample sheet and type the codes that fit in its codes column: the ids below, \
         separated by semicolons (e.g. 5.2;8.2), sub-outcomes rather than outcomes, the fallback code where none fits. \
         Code without looking at the tool's codes. If you will, type each answer's tone in its tone column too: \
         positive, neutral, negative or mixed (a plain suggestion is neutral, a complaint negative, praise positive). \
         Then run `consult analyse EXPORT --check THIS_FILE` (or `consult evaluate coded_responses.csv THIS_FILE`).",
        &wrap,
    )?;
    ws.set_row_height(1, 64.0)?;
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
    let sample = draw(&coded, usize::try_from(args.n).unwrap_or(usize::MAX), args.seed)?;
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
