//! The codebook: the hierarchy of codes an answer can be given, as data.
//!
//! A codebook is a TOML file (format documented in `models/codebooks/README.md`): a flat
//! list of `[[codes]]`, each with an `id`, a `label`, a `description`, optional `examples`
//! and an optional `parent`. A code with children is an *outcome*; its children are
//! *sub-outcomes*. A code with neither parent nor children (the plan as a whole, finances,
//! ...) stands on its own. `fallback` names the code given to an answer that fits nothing.
//! The default codebook (the draft Strategic Plan 2022-26) is embedded in the binary.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The default codebook's TOML text, embedded at build time.
pub const DEFAULT_TOML: &str = include_str!("../models/codebooks/strategic-plan-2022-26.toml");
pub const DEFAULT_PATH: &str = "models/codebooks/strategic-plan-2022-26.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codebook {
    pub name: String,
    #[serde(default)]
    pub version: String,
    /// Id of the code given to an answer that fits no other code.
    pub fallback: String,
    pub codes: Vec<Code>,
    /// SHA-256 of the source text; filled in on load.
    #[serde(skip)]
    pub sha256: String,
    /// Where it came from (`default` or a path); filled in on load.
    #[serde(skip)]
    pub source: String,
    /// Hand-coded statements added to the codebook's examples ([`Codebook::add_examples`]).
    #[serde(skip)]
    pub extra_examples: Option<ExtraExamples>,
}

/// A file of hand-coded statements whose statements were added to the codebook's examples.
#[derive(Debug, Clone, Serialize)]
pub struct ExtraExamples {
    pub path: String,
    pub sha256: String,
    /// Statements read (a statement with several codes is an example of each).
    pub statements: usize,
    /// Rows left out: no code given, a `status` other than `coded` (a coded_responses.csv),
    /// or not marked in a `checked` column.
    pub rows_left_out: usize,
}

/// Whether a `checked` cell marks its row as checked by a person.
fn is_checked(cell: &str) -> bool {
    matches!(cell.trim().to_lowercase().as_str(), "yes" | "y" | "true" | "1" | "x" | "checked" | "\u{2713}" | "\u{2714}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub id: String,
    pub label: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

/// One problem found by [`Codebook::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: String,
    pub message: String,
}

impl Codebook {
    pub fn default_plan() -> Result<Codebook> {
        Self::parse(DEFAULT_TOML, "default (".to_string() + DEFAULT_PATH + ")")
    }

    /// Loads and validates a codebook file; errors name the file and every problem.
    pub fn load(path: &Path) -> Result<Codebook> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read codebook", path.display()))?;
        let cb = Self::parse(&text, path.display().to_string())?;
        let problems = cb.check();
        if !problems.is_empty() {
            let list: Vec<String> =
                problems.iter().map(|p| format!("  code {}: {}", p.code, p.message)).collect();
            bail!(
                "{}: invalid codebook ({} problem(s)):\n{}",
                path.display(),
                problems.len(),
                list.join("\n")
            );
        }
        Ok(cb)
    }

    pub fn load_or_default(path: Option<&Path>) -> Result<Codebook> {
        match path {
            Some(p) => Self::load(p),
            None => Self::default_plan(),
        }
    }

    /// Where a codebook's own hand-coded examples live: beside its file, `NAME.examples.csv`
    /// for `NAME.toml`; for the embedded default, beside the default codebook in `models/`.
    /// `make codebook-examples` writes the default's from our development labels.
    pub fn examples_path(codebook_file: Option<&Path>) -> std::path::PathBuf {
        match codebook_file {
            Some(p) => p.with_extension("examples.csv"),
            None => crate::models_root().join("codebooks").join(
                Path::new(DEFAULT_PATH).with_extension("examples.csv").file_name().expect("a file name"),
            ),
        }
    }

    /// Adds hand-coded statements to the examples the zero-shot classifier compares answers
    /// with: a table (CSV, XLSX, ...) with columns `text` and `codes` (semicolon-separated
    /// code ids, sub-outcomes or codes that stand alone). Every row must carry a statement and
    /// codes of this codebook (a row with no code is left out and counted); an error names
    /// the file, line and column. A table with a
    /// `status` column (a `coded_responses.csv`, its codes checked and corrected by an
    /// officer) gives only its `coded` rows; a table with a `checked` column only the rows
    /// marked there (yes, y, x, 1, true, ✓), so that unchecked machine codes never become
    /// examples. Returns the statements added.
    pub fn add_examples(&mut self, path: &Path) -> Result<usize> {
        Ok(self.add_examples_read(path)?.len())
    }

    /// [`Codebook::add_examples`], returning the statements added, each with its codes.
    pub fn add_examples_read(&mut self, path: &Path) -> Result<Vec<(String, Vec<String>)>> {
        let t = crate::input::Table::read_whole(path)?;
        let (tc, cc) = (t.column("text")?, t.column("codes")?);
        let col = |name: &str| t.headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name));
        let (status, checked) = (col("status"), col("checked"));
        let rows: Vec<&crate::input::Row> = t
            .rows
            .iter()
            .filter(|r| status.is_none_or(|s| r.fields[s].trim() == "coded"))
            .filter(|r| checked.is_none_or(|c| is_checked(&r.fields[c])))
            .filter(|r| r.fields[cc].split(';').any(|c| !c.trim().is_empty()))
            .collect();
        let mut added: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut statements = Vec::with_capacity(rows.len());
        for r in &rows {
            let text = crate::normalise::tidy(&r.fields[tc]);
            if text.is_empty() {
                bail!("{}: line {}, column text: no statement", path.display(), r.line);
            }
            let mut codes = Vec::new();
            for c in r.fields[cc].split(';').map(str::trim).filter(|c| !c.is_empty()) {
                if self.get(c).is_none() {
                    bail!("{}: line {}, column codes: code {c:?} is not in the codebook {}", path.display(), r.line, self.source);
                }
                if self.has_children(c) {
                    bail!("{}: line {}, column codes: {c:?} is an outcome; give its sub-outcomes", path.display(), r.line);
                }
                added.entry(c.to_string()).or_default().push(text.clone());
                codes.push(c.to_string());
            }
            statements.push((text, codes));
        }
        for code in &mut self.codes {
            if let Some(more) = added.remove(&code.id) {
                code.examples.extend(more);
            }
        }
        self.extra_examples = Some(ExtraExamples {
            path: path.display().to_string(),
            sha256: crate::model::file_sha256(path)?,
            statements: rows.len(),
            rows_left_out: t.rows.len() - rows.len(),
        });
        Ok(statements)
    }

    /// Parses TOML without validating structure (see [`Codebook::check`]).
    pub fn parse(text: &str, source: String) -> Result<Codebook> {
        let mut cb: Codebook =
            toml::from_str(text).with_context(|| format!("{source}: not a valid codebook"))?;
        cb.sha256 = hex(&Sha256::digest(text.as_bytes()));
        cb.source = source;
        Ok(cb)
    }

    /// Every structural problem: duplicate ids, unknown or nested parents, empty labels or
    /// descriptions, an unknown fallback, blank examples.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut push = |code: &str, message: String| {
            problems.push(Problem { code: code.to_string(), message })
        };
        let mut seen = HashSet::new();
        for c in &self.codes {
            if c.id.trim().is_empty() {
                push("(blank)", format!("empty id (label {:?})", c.label));
            } else if c.id.contains(';') || c.id.contains(char::is_whitespace) {
                push(&c.id, "id must not contain ';' or spaces".into());
            }
            if !seen.insert(c.id.as_str()) {
                push(&c.id, "duplicate id".into());
            }
            if c.label.trim().is_empty() {
                push(&c.id, "empty label".into());
            }
            if c.description.trim().is_empty() {
                push(&c.id, "empty description".into());
            }
            if c.examples.iter().any(|e| e.trim().is_empty()) {
                push(&c.id, "blank example statement".into());
            }
        }
        let ids: HashSet<&str> = self.codes.iter().map(|c| c.id.as_str()).collect();
        for c in &self.codes {
            if let Some(p) = &c.parent {
                if !ids.contains(p.as_str()) {
                    push(&c.id, format!("unknown parent {p:?}"));
                } else if self.get(p).and_then(|pc| pc.parent.as_ref()).is_some() {
                    push(&c.id, format!("parent {p:?} has a parent itself: only two levels are allowed"));
                }
                if p == &c.id {
                    push(&c.id, "is its own parent".into());
                }
            }
        }
        if !ids.contains(self.fallback.as_str()) {
            push(&self.fallback, "fallback code is not defined in the codebook".into());
        } else if self.get(&self.fallback).is_some_and(|c| c.parent.is_some()) {
            push(&self.fallback, "fallback code must be top-level".into());
        }
        if self.codes.is_empty() {
            push("(none)", "the codebook has no codes".into());
        }
        problems
    }

    /// A flat codebook of the given code ids (label and description are the id), for
    /// training from a gold file that comes without one. Adds the fallback `other`.
    pub fn from_codes(name: &str, ids: &[String]) -> Codebook {
        let mut codes: Vec<Code> = ids
            .iter()
            .map(|id| Code { id: id.clone(), label: id.clone(), description: id.clone(), parent: None, examples: vec![] })
            .collect();
        if !ids.iter().any(|i| i == "other") {
            codes.push(Code {
                id: "other".into(),
                label: "Other".into(),
                description: "Answers given none of the trained codes".into(),
                parent: None,
                examples: vec![],
            });
        }
        let mut cb = Codebook { name: name.to_string(), version: "from gold codes".into(), fallback: "other".into(), codes, sha256: String::new(), source: String::new(), extra_examples: None };
        let text = cb.to_toml();
        cb.sha256 = hex(&Sha256::digest(text.as_bytes()));
        cb.source = "generated from gold codes".into();
        cb
    }

    pub fn get(&self, id: &str) -> Option<&Code> {
        self.codes.iter().find(|c| c.id == id)
    }

    pub fn has_children(&self, id: &str) -> bool {
        self.codes.iter().any(|c| c.parent.as_deref() == Some(id))
    }

    /// Codes an answer can be given directly: every code without children, fallback included.
    pub fn assignable(&self) -> Vec<&Code> {
        self.codes.iter().filter(|c| !self.has_children(&c.id)).collect()
    }

    /// The outcome-level code of an assignable code: its parent, or itself when top-level.
    pub fn outcome_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.get(id).and_then(|c| c.parent.as_deref()).unwrap_or(id)
    }

    /// Top-level codes in file order (outcomes and stand-alone codes).
    pub fn top_level(&self) -> Vec<&Code> {
        self.codes.iter().filter(|c| c.parent.is_none()).collect()
    }

    pub fn children(&self, id: &str) -> Vec<&Code> {
        self.codes.iter().filter(|c| c.parent.as_deref() == Some(id)).collect()
    }

    /// Position of each code in file order, for stable sorting of code lists.
    pub fn order(&self) -> BTreeMap<String, usize> {
        self.codes.iter().enumerate().map(|(i, c)| (c.id.clone(), i)).collect()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a codebook serialises")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_codebook_validates_with_the_plan_structure() {
        let cb = Codebook::default_plan().unwrap();
        assert_eq!(cb.check(), vec![]);
        let outcomes: Vec<&str> = cb
            .top_level()
            .into_iter()
            .filter(|c| cb.has_children(&c.id))
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(outcomes, vec!["5", "6", "7", "8", "9"]);
        let subs: Vec<usize> = outcomes.iter().map(|o| cb.children(o).len()).collect();
        assert_eq!(subs, vec![4, 5, 4, 5, 4]);
        for id in ["plan", "finance", "engagement", "enabling", "other"] {
            assert!(cb.get(id).is_some(), "missing code {id}");
        }
        assert_eq!(cb.fallback, "other");
        assert_eq!(cb.outcome_of("8.2"), "8");
        assert_eq!(cb.outcome_of("finance"), "finance");
    }

    #[test]
    fn hand_coded_statements_join_the_examples_of_each_of_their_codes() {
        let mut cb = Codebook::default_plan().unwrap();
        let before = |cb: &Codebook, id: &str| cb.get(id).unwrap().examples.len();
        let (n52, n93) = (before(&cb, "5.2"), before(&cb, "9.3"));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ex.csv");
        std::fs::write(&f, "id,text,codes\na,A community garden  on the estate,5.2;9.3\nb,More benches in the park,5.2\nc,Don't know,\n").unwrap();
        assert_eq!(cb.add_examples(&f).unwrap(), 2);
        assert_eq!(cb.extra_examples.as_ref().unwrap().rows_left_out, 1);
        assert_eq!(before(&cb, "5.2"), n52 + 2);
        assert_eq!(before(&cb, "9.3"), n93 + 1);
        assert_eq!(cb.get("9.3").unwrap().examples.last().unwrap(), "A community garden on the estate");
        let x = cb.extra_examples.as_ref().unwrap();
        assert_eq!((x.statements, x.sha256.len()), (2, 64));
        assert_eq!(Codebook::examples_path(Some(Path::new("a/b.toml"))), Path::new("a/b.examples.csv"));
        assert!(Codebook::examples_path(None).ends_with("codebooks/strategic-plan-2022-26.examples.csv"));
    }

    #[test]
    fn check_reports_duplicates_unknown_parents_and_empty_descriptions() {
        let text = r#"
name = "t"
fallback = "other"
[[codes]]
id = "1"
label = "One"
description = "d"
[[codes]]
id = "1"
label = "One again"
description = "d"
[[codes]]
id = "1.1"
parent = "2"
label = "Orphan"
description = ""
[[codes]]
id = "other"
label = "Other"
description = "d"
"#;
        let cb = Codebook::parse(text, "t".into()).unwrap();
        let p = cb.check();
        assert!(p.contains(&Problem { code: "1".into(), message: "duplicate id".into() }));
        assert!(p.contains(&Problem { code: "1.1".into(), message: "unknown parent \"2\"".into() }));
        assert!(p.contains(&Problem { code: "1.1".into(), message: "empty description".into() }));
        assert_eq!(p.len(), 3);
    }
}
