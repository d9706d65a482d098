//! Word features for trained heads: TF-IDF of word 1- and 2-grams, as pxtextmining's classic
//! model and scikit-learn's `TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)`
//! compute them. Sentence embeddings know what an answer is about; the words catch the
//! phrases a coding frame keys on ("waiting time", "parking"), which on NHS FFT lifted the
//! heads' micro-F1 by about 0.1 over embeddings alone (BENCHMARKS.md §4).
//!
//! The vocabulary and its inverse document frequencies are learnt from the coded sample and
//! stored in the head's JSON, so `analyse` computes exactly the training features.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The text the word features read for an answer to a question: the answer, then the
/// question, as one string. The theme heads and the sentiment word model both read it so;
/// training and `analyse` must agree on it.
pub fn pair_text(answer: &str, question: &str) -> String {
    format!("{answer} {question}")
}

/// A fitted vocabulary: terms (a word, or two words joined by a space) and their IDF. Stored
/// as its terms and IDF; the term index is rebuilt on loading.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(from = "Stored", into = "Stored")]
pub struct Tfidf {
    pub terms: Vec<String>,
    pub idf: Vec<f32>,
    index: HashMap<String, u32>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    terms: Vec<String>,
    idf: Vec<f32>,
}

impl From<Stored> for Tfidf {
    fn from(s: Stored) -> Tfidf {
        Tfidf::new(s.terms, s.idf)
    }
}

impl From<Tfidf> for Stored {
    fn from(t: Tfidf) -> Stored {
        Stored { terms: t.terms, idf: t.idf }
    }
}

/// A sparse feature row: (term index, value), term indices ascending.
pub type Sparse = Vec<(u32, f32)>;

/// Lower-cased words of at least two letters or digits (scikit-learn's `\b\w\w+\b`).
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// The text's words and word pairs, each as often as it occurs.
fn grams(text: &str) -> Vec<String> {
    let w = words(text);
    let mut g = w.clone();
    g.extend(w.windows(2).map(|p| format!("{} {}", p[0], p[1])));
    g
}

impl Tfidf {
    /// Learns the terms that occur in at least `min_df` texts, with smoothed IDF
    /// `ln((1 + n) / (1 + df)) + 1`.
    pub fn fit(texts: &[String], min_df: usize) -> Tfidf {
        let mut df: HashMap<String, usize> = HashMap::new();
        for t in texts {
            let mut g = grams(t);
            g.sort();
            g.dedup();
            for term in g {
                *df.entry(term).or_default() += 1;
            }
        }
        let mut terms: Vec<(String, usize)> = df.into_iter().filter(|(_, d)| *d >= min_df).collect();
        terms.sort();
        let n = texts.len() as f32;
        let idf = terms.iter().map(|(_, d)| ((1.0 + n) / (1.0 + *d as f32)).ln() + 1.0).collect();
        Tfidf::new(terms.into_iter().map(|(t, _)| t).collect(), idf)
    }

    fn new(terms: Vec<String>, idf: Vec<f32>) -> Tfidf {
        let index = terms.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        Tfidf { terms, idf, index }
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The text's TF-IDF row: `(1 + ln tf) * idf` per known term, scaled to unit length.
    pub fn transform(&self, text: &str) -> Sparse {
        let mut tf: HashMap<u32, f32> = HashMap::new();
        for g in grams(text) {
            if let Some(&i) = self.index.get(&g) {
                *tf.entry(i).or_default() += 1.0;
            }
        }
        let mut row: Sparse = tf.into_iter().map(|(i, c)| (i, (1.0 + c.ln()) * self.idf[i as usize])).collect();
        row.sort_by_key(|&(i, _)| i);
        let norm = row.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|(_, v)| *v /= norm);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_pairs_as_scikit_learn_reads_them() {
        assert_eq!(words("The A&E wait-time: 4 hrs!"), vec!["the", "wait", "time", "hrs"]);
        assert_eq!(grams("long wait times"), vec!["long", "wait", "times", "long wait", "wait times"]);
    }

    #[test]
    fn idf_and_unit_rows_match_scikit_learn() {
        // sklearn: TfidfVectorizer(ngram_range=(1,2), min_df=2, sublinear_tf=True) on these
        // three texts keeps "long", "wait", "long wait" with idf ln(4/3)+1 = 1.2877 (df 2).
        let texts: Vec<String> =
            ["long wait long wait", "a long wait today", "short visit"].iter().map(|s| s.to_string()).collect();
        let v = Tfidf::fit(&texts, 2);
        assert_eq!(v.terms, vec!["long", "long wait", "wait"]);
        assert!((v.idf[0] - 1.287_682).abs() < 1e-5);
        let row = v.transform("long wait long wait");
        // tf 2, 2, 2 (long wait occurs twice; "wait long" is not a term): equal weights.
        assert_eq!(row.len(), 3);
        for (_, x) in &row {
            assert!((x - 1.0 / 3f32.sqrt()).abs() < 1e-6);
        }
        assert!(v.transform("short visit").is_empty());
    }
}
