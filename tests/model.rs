//! The real model: embeddings match Python sentence-transformers, batching does not change
//! results, and clear-cut statements land on their codes and tones.

mod common;

use consult::classify::{Classifier, Settings};
use consult::codebook::Codebook;
use consult::model::{dot, Encoder, MiniLm, Precision};
use consult::sentiment::{features, Head, Prediction, Tone};
use consult::tune::TunedSentiment;

/// The sentences and their Python sentence-transformers (fp32) vectors.
fn python_reference() -> (Vec<String>, Vec<Vec<f32>>) {
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::repo().join("tests/data/reference_vectors.json")).unwrap()).unwrap();
    (serde_json::from_value(r["sentences"].clone()).unwrap(), serde_json::from_value(r["vectors"].clone()).unwrap())
}

#[test]
fn embeddings_match_python_reference() {
    let (sentences, vectors) = python_reference();
    assert!(sentences.len() >= 10);
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let got = common::model().embed(&refs).unwrap();
    for (i, (g, want)) in got.iter().zip(&vectors).enumerate() {
        let norm = want.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cos = dot(g, want) / norm;
        assert!(cos >= 0.9999, "sentence {i} {:?}: cosine {cos}", sentences[i]);
    }
}

/// bf16 (the default on CPUs with AVX512-BF16) stays close to the fp32 reference: every
/// sentence within cosine 0.999 and on average within 0.9998.
#[test]
fn bf16_embeddings_stay_close_to_python_reference() {
    let (sentences, vectors) = python_reference();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let m = MiniLm::load(&common::repo().join("models/all-MiniLM-L6-v2"), Precision::Bf16).unwrap();
    let got = m.embed(&refs).unwrap();
    let mut sum = 0.0;
    for (i, (g, want)) in got.iter().zip(&vectors).enumerate() {
        let norm = want.iter().map(|x| x * x).sum::<f32>().sqrt();
        let cos = dot(g, want) / norm;
        assert!(cos >= 0.999, "sentence {i} {:?}: cosine {cos}", sentences[i]);
        sum += cos;
    }
    let mean = sum / got.len() as f32;
    assert!(mean >= 0.9998, "mean cosine {mean}");
}

#[test]
fn batched_output_equals_one_at_a_time() {
    let texts = [
        "Short.",
        "The bus to Melton only runs twice a day and never on Sundays, which makes it useless for getting to work or college.",
        "More trees please",
        "Our village hall relies on volunteers and they need support with insurance and training costs.",
        "Speeding on the A6 is dangerous.",
    ];
    let m = common::model();
    let batched = m.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batched) {
        let one = m.embed_in_order(&[t]).unwrap().remove(0);
        let cos = dot(&one, b);
        assert!(cos >= 0.99999, "{t:?}: cosine {cos}");
    }
}

fn classifier(m: &dyn Encoder) -> (Codebook, Classifier) {
    let cb = Codebook::default_plan().unwrap();
    let c = Classifier::build(&cb, m, Settings::default_settings()).unwrap();
    (cb, c)
}

#[test]
fn clear_cut_statements_land_on_their_sub_outcome() {
    let cases = [
        ("We should all cut our carbon emissions now; the climate emergency cannot wait.", "5.1"),
        ("Stop building on green fields and protect the wildlife in our meadows and woods.", "5.2"),
        ("The recycling centre should take more types of plastic and cut waste going to landfill.", "5.3"),
        ("Refugees and newcomers should feel welcome in our town whatever their background.", "6.1"),
        ("Protect our museums and historic buildings, our heritage matters.", "6.4"),
        ("There are not enough school places in our area and children travel miles.", "7.2"),
        ("Children's centres and support for parents of babies and toddlers are vital.", "7.1"),
        ("The potholes on our roads are terrible and need fixing.", "8.2"),
        ("Young people need apprenticeships that match the skills local employers want.", "8.1"),
        ("We need affordable homes for local young families, not executive houses.", "8.5"),
        ("Anti-social behaviour and drug dealing in the park make people feel unsafe.", "9.1"),
        ("Carers need more respite breaks and help to look after disabled relatives at home.", "9.4"),
        ("Council tax keeps going up every year while services are cut.", "finance"),
    ];
    let m = common::model();
    let (cb, c) = classifier(&*m);
    let texts: Vec<&str> = cases.iter().map(|(t, _)| *t).collect();
    let embs = m.embed(&texts).unwrap();
    let mut misses = Vec::new();
    for ((text, want), e) in cases.iter().zip(&embs) {
        let (codes, _) = c.assign(&[e]);
        let got: Vec<&str> = codes.iter().map(|a| a.code.as_str()).collect();
        if !got.contains(want) {
            misses.push(format!("{text:?}: want {want}, got {got:?}"));
        }
    }
    assert!(misses.is_empty(), "misses:\n{}", misses.join("\n"));
    // Every outcome has at least one clear-cut case above.
    for o in ["5", "6", "7", "8", "9"] {
        assert!(cases.iter().any(|(_, code)| cb.outcome_of(code) == o), "outcome {o}");
    }
}

#[test]
fn off_topic_answers_get_the_fallback_code() {
    let m = common::model();
    let (_, c) = classifier(&*m);
    let e = m.embed(&["My favourite football team lost again on Saturday."]).unwrap();
    let (codes, _) = c.assign(&[&e[0]]);
    assert_eq!(codes[0].code, "other", "{codes:?}");
}

#[test]
fn sentiment_on_clear_cut_examples() {
    let head = Head::load(&common::repo().join("models/sentiment/head.json")).unwrap();
    let q = "Do you have any comments on the draft plan?";
    let cases = [
        ("The library staff are wonderful and the new children's centre is brilliant, thank you.", Tone::Positive),
        ("The roads are a disgrace, nothing ever gets fixed and nobody listens to us.", Tone::Negative),
        ("The council should consider adding a bus route to the new estate.", Tone::Neutral),
    ];
    let m = common::model();
    let mut texts: Vec<&str> = cases.iter().map(|(t, _)| *t).collect();
    texts.push(q);
    let e = m.embed(&texts).unwrap();
    for (i, (t, want)) in cases.iter().enumerate() {
        let p = head.predict(&features(&e[i], &e[cases.len()]));
        assert_eq!(p.tone, *want, "{t:?}: {p:?}");
        match want {
            Tone::Positive => assert!(p.score > 0.3, "{p:?}"),
            Tone::Negative => assert!(p.score < -0.3, "{p:?}"),
            _ => assert!(p.score.abs() < 0.5, "{p:?}"),
        }
    }
}

/// The fine-tuned sentiment model (`make sentiment-model`), the default when it is there:
/// clear-cut praise, complaint and suggestion, and the question changing what "Nothing." means.
#[test]
fn tuned_sentiment_on_clear_cut_examples() {
    let dir = common::repo().join("models/sentiment/tuned");
    assert!(TunedSentiment::is_model(&dir), "{}: run `make sentiment-model`", dir.display());
    let m = TunedSentiment::load(&dir, &common::repo().join("models/all-MiniLM-L6-v2"), Precision::Fp32, 1).unwrap();
    let q = "Do you have any comments on the draft plan?";
    let cases = [
        (q, "The library staff are wonderful and the new children's centre is brilliant, thank you.", Tone::Positive),
        (q, "The roads are a disgrace, nothing ever gets fixed and nobody listens to us.", Tone::Negative),
        (q, "The council should consider adding a bus route to the new estate.", Tone::Neutral),
        (q, "We need more bike lanes.", Tone::Neutral),
        ("What could we do better?", "Nothing.", Tone::Positive),
    ];
    let pairs: Vec<(&str, &str)> = cases.iter().map(|(q, t, _)| (*q, *t)).collect();
    let probs = m.probs(&pairs).unwrap();
    for ((q, t, want), p) in cases.iter().zip(probs) {
        let p = Prediction::from_probs(p);
        assert_eq!(p.tone, *want, "{q:?} / {t:?}: {p:?}");
    }
    // Batching and packing do not change a pair's probabilities.
    let alone = m.probs(&pairs[..1]).unwrap();
    let together = m.probs(&pairs).unwrap();
    for k in 0..5 {
        assert!((alone[0][k] - together[0][k]).abs() < 1e-5, "{alone:?} vs {together:?}");
    }
}
