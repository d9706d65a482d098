//! `consult evaluate`: agreement between coded answers and a human-coded sample.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use anyhow::{Context, Result};

use crate::codebook::Codebook;
use crate::input::Table;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CodeScore {
    pub code: String,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
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
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub per_code: Vec<CodeScore>,
    pub items: usize,
    pub micro_f1: f64,
    pub macro_f1: f64,
    pub exact_match: f64,
}

/// Scores predicted code sets against gold sets over the given codes (macro-F1 averages
/// the codes with gold support; predictions of codes outside `codes` are ignored).
pub fn score(pairs: &[(BTreeSet<String>, BTreeSet<String>)], codes: &BTreeSet<String>) -> Report {
    let mut per: BTreeMap<&str, CodeScore> =
        codes.iter().map(|c| (c.as_str(), CodeScore { code: c.clone(), ..Default::default() })).collect();
    let mut exact = 0;
    for (pred, gold) in pairs {
        let p: BTreeSet<&String> = pred.iter().filter(|c| codes.contains(*c)).collect();
        let g: BTreeSet<&String> = gold.iter().filter(|c| codes.contains(*c)).collect();
        if p == g {
            exact += 1;
        }
        for c in codes {
            let s = per.get_mut(c.as_str()).unwrap();
            match (p.contains(c), g.contains(c)) {
                (true, true) => s.tp += 1,
                (true, false) => s.fp += 1,
                (false, true) => s.fn_ += 1,
                _ => {}
            }
            if g.contains(c) {
                s.support += 1;
            }
        }
    }
    let per_code: Vec<CodeScore> = per.into_values().collect();
    let (tp, fp, fn_) = per_code.iter().fold((0, 0, 0), |a, s| (a.0 + s.tp, a.1 + s.fp, a.2 + s.fn_));
    let supported: Vec<&CodeScore> = per_code.iter().filter(|s| s.support > 0).collect();
    let macro_f1 = if supported.is_empty() { 0.0 } else { supported.iter().map(|s| s.f1()).sum::<f64>() / supported.len() as f64 };
    Report {
        items: pairs.len(),
        micro_f1: ratio(2 * tp, 2 * tp + fp + fn_),
        macro_f1,
        exact_match: ratio(exact, pairs.len()),
        per_code,
    }
}

fn split_codes(s: &str) -> BTreeSet<String> {
    s.split(';').map(str::trim).filter(|c| !c.is_empty()).map(String::from).collect()
}

pub fn run(args: &crate::cli::EvaluateArgs) -> Result<()> {
    let codebook = Codebook::load_or_default(args.codebook.as_deref())?;
    let coded = Table::read(&args.coded)?;
    let gold = Table::read(&args.gold)?;
    let (c_id, g_id) = (coded.column("id")?, gold.column("id")?);
    let key = |r: &crate::input::Row, id_col: usize, q: Option<usize>| -> String {
        let id = r.fields[id_col].trim().to_string();
        match q {
            Some(c) => format!("{id}\u{1f}{}", r.fields[c].trim()),
            None => id,
        }
    };
    let gq = gold.headers.iter().position(|h| h == "question");
    let cq = if gq.is_some() { Some(coded.column("question")?) } else { None };
    let c_codes = coded.column("codes")?;
    let g_codes = gold.column("codes")?;
    let status = coded.column("status").ok();
    let lift = |set: BTreeSet<String>| -> BTreeSet<String> {
        if args.outcomes { set.iter().map(|c| codebook.outcome_of(c).to_string()).collect() } else { set }
    };
    let mut predicted: HashMap<String, BTreeSet<String>> = HashMap::new();
    for r in &coded.rows {
        if status.is_some_and(|s| r.fields[s] != "coded") {
            continue;
        }
        predicted.insert(key(r, c_id, cq), lift(split_codes(&r.fields[c_codes])));
    }
    let mut pairs = Vec::new();
    let mut missing = 0;
    let mut all_codes = BTreeSet::new();
    for r in &gold.rows {
        let g = lift(split_codes(&r.fields[g_codes]));
        all_codes.extend(g.iter().cloned());
        match predicted.get(&key(r, g_id, gq)) {
            Some(p) => pairs.push((p.clone(), g)),
            None => missing += 1,
        }
    }
    let codes: BTreeSet<String> = if args.only.is_empty() { all_codes } else { args.only.iter().cloned().collect() };
    let rep = score(&pairs, &codes);
    println!("Items compared: {} ({} gold items had no coded answer)", rep.items, missing);
    println!("{:<12} {:>9} {:>9} {:>9} {:>8}", "code", "precision", "recall", "f1", "support");
    for s in &rep.per_code {
        println!("{:<12} {:>9.3} {:>9.3} {:>9.3} {:>8}", s.code, s.precision(), s.recall(), s.f1(), s.support);
    }
    println!("micro-F1 {:.3}  macro-F1 {:.3}  exact match {:.3}", rep.micro_f1, rep.macro_f1, rep.exact_match);
    if let Some(p) = &args.csv {
        let mut w = csv::Writer::from_path(p).with_context(|| format!("{}: cannot write", p.display()))?;
        w.write_record(["code", "precision", "recall", "f1", "support"])?;
        for s in &rep.per_code {
            w.write_record([s.code.clone(), format!("{:.4}", s.precision()), format!("{:.4}", s.recall()), format!("{:.4}", s.f1()), s.support.to_string()])?;
        }
        w.write_record(["micro".into(), String::new(), String::new(), format!("{:.4}", rep.micro_f1), String::new()])?;
        w.write_record(["macro".into(), String::new(), String::new(), format!("{:.4}", rep.macro_f1), String::new()])?;
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
    fn micro_macro_and_exact_match() {
        let pairs = vec![(set("a;b"), set("a")), (set("b"), set("b")), (set(""), set("c"))];
        let r = score(&pairs, &set("a;b;c"));
        // a: tp1; b: tp1 fp1; c: fn1 -> micro 2*2 / (2*2 + 1 + 1)
        assert!((r.micro_f1 - 4.0 / 6.0).abs() < 1e-12);
        assert!((r.macro_f1 - (1.0 + 2.0 / 3.0 + 0.0) / 3.0).abs() < 1e-12);
        assert!((r.exact_match - 1.0 / 3.0).abs() < 1e-12);
    }
}
