//! Command-line flags as parsed (clap derive); no I/O here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "consult",
    version,
    about = "Classify consultation survey answers against a plan's outcomes and sub-outcomes, and by sentiment.",
    after_help = "Exit codes: 0 ok, 1 input error, 2 usage error, 3 model or set-up missing."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Code every free-text answer in a survey export and write tables to --out.
    Analyse(AnalyseArgs),
    /// List every column of an export with its detected role, and tabulate closed questions.
    Inspect {
        /// Survey export: CSV/TSV, XLSX, XLS or ODS.
        input: PathBuf,
        /// Workbook sheet to read (default: the first).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Header rows at the top (default: detected; SurveyMonkey 2, Qualtrics 3, else 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=10))]
        header_rows: Option<u8>,
    },
    /// Print the default codebook, check a codebook file with --check, or see with --self-test
    /// how its examples and a hand-coded sample are coded.
    Codebook {
        /// Validate this codebook file (duplicate ids, unknown parents, empty descriptions).
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
        /// Also code each of the codebook's own example statements (of --check's file, else
        /// of the default codebook) with the codebook less that statement, as an answer would
        /// be, and list the examples coded first as another code and the pairs of one code's
        /// examples that say nearly the same thing; then code each hand-coded statement (see
        /// --examples) with the codebook and the other statements, and score the agreement
        /// (needs the model).
        #[arg(long)]
        self_test: bool,
        /// Hand-coded statements (columns text, codes) for --self-test to code, each by the
        /// codebook and the other statements, and compare with their own codes (default: the
        /// codebook's NAME.examples.csv beside it, when there is one).
        #[arg(long, value_name = "FILE", requires = "self_test")]
        examples: Option<PathBuf>,
        /// Write every statement --self-test coded as CSV: source (codebook or hand-coded),
        /// code (its own codes), text, codes_given (with scores) and agrees (a codebook
        /// example: its own code came first; a hand-coded statement: the codes are the same).
        #[arg(long, value_name = "FILE", requires = "self_test")]
        out: Option<PathBuf>,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Learn per-code heads from officer-coded answers (columns id, text, codes, optional
    /// question), for `consult analyse --head DIR`.
    Train(TrainArgs),
    /// Train the sentiment head from the labelled data in ../shared/data.
    TrainSentiment(TrainSentimentArgs),
    /// Compare coded answers with a human-coded CSV: per-code precision, recall, F1, kappa;
    /// micro and macro F1 with 95% bootstrap intervals, at code and outcome level (the
    /// codebook's outcomes: codes outside them are scored at code level only).
    Evaluate(EvaluateArgs),
    /// Draw a random sample of a run's coded answers (per question, a campaign's copies once)
    /// for an officer to code by hand, as CSV or XLSX with empty codes and tone columns: then
    /// `analyse --check` gives this consultation's agreement with people.
    Sample(SampleArgs),
    /// Embed one text per line of FILE and report throughput (benchmarks).
    Embed(EmbedArgs),
    /// Score the tone of every text in one column: writes id, tone, score and the five grade
    /// probabilities as CSV (benchmarks, spot checks).
    Sentiment(SentimentArgs),
}

#[derive(Debug, clap::Args)]
pub struct AnalyseArgs {
    /// Survey export: CSV/TSV (UTF-8, UTF-16 or Windows-1252), XLSX, XLS or ODS.
    pub input: PathBuf,
    /// Workbook sheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Header rows at the top (default: detected; SurveyMonkey 2, Qualtrics 3, else 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=10))]
    pub header_rows: Option<u8>,
    /// Answers that say nothing, one a line (default: models/blank-answers.txt); matching
    /// ignores case and punctuation.
    #[arg(long, value_name = "FILE")]
    pub blank_list: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Codebook TOML (default: the embedded draft Strategic Plan 2022-26).
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,
    /// Hand-coded statements (columns text, codes) added to the codebook's examples for
    /// zero-shot coding. Default: the codebook's NAME.examples.csv beside it when there is one
    /// (for the default codebook, models/codebooks/strategic-plan-2022-26.examples.csv, made
    /// by `make codebook-examples`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["no_examples", "head"])]
    pub examples: Option<PathBuf>,
    /// Compare answers with the codebook's own text and examples only.
    #[arg(long)]
    pub no_examples: bool,
    /// Respondent id column (header, unique prefix or 1-based position).
    #[arg(long, value_name = "COLUMN")]
    pub id: Option<String>,
    /// An open question's column; repeat for several. Default: detected.
    #[arg(long = "text", value_name = "COLUMN")]
    pub text: Vec<String>,
    /// A long export, one answer a row: this column holds each row's question (its wording),
    /// and the one --text column its answer. Each question found becomes an open question of
    /// its own, in order of first appearance, read with its answers as a survey export's are.
    #[arg(long, value_name = "COLUMN")]
    pub question_column: Option<String>,
    /// A respondent attribute to carry into coded_responses.csv; repeat for several.
    #[arg(long = "by", value_name = "COLUMN")]
    pub by: Vec<String>,
    /// A sample of this export's answers coded by hand (columns id, codes, and question when
    /// there are several open questions; `consult sample` draws one): the methods note and
    /// run.json give how this run's codes agree with it, agreement.csv the per-code figures.
    #[arg(long, value_name = "FILE")]
    pub check: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sentiment model: a fine-tuned model folder or a head JSON (default:
    /// models/sentiment/tuned when `make sentiment-model` has built it, else
    /// models/sentiment/head.json).
    #[arg(long, value_name = "PATH", alias = "sentiment-head")]
    pub sentiment_model: Option<PathBuf>,
    /// Code with heads trained by `consult train` (a folder holding head.json) instead of
    /// zero-shot similarity; its codebook.toml is used unless --codebook is given.
    #[arg(long, value_name = "DIR")]
    pub head: Option<PathBuf>,
    /// Zero-shot classifier settings TOML (default: models/zero-shot.toml, embedded).
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Cross-tabs by --by: show counts under N as [c] (with secondary suppression); 0 disables.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub suppress: usize,
    /// Embedding cache folder (default: $CONSULT_CACHE, else ~/.cache/consult/embeddings). It is
    /// also the checkpoint: after an interrupted run, the same command resumes where it stopped.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Embed everything afresh and keep nothing on disk but the outputs.
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,
    /// Write into a non-empty --out folder even if it holds files other than an earlier run's.
    #[arg(long)]
    pub force: bool,
    /// Quotes per sub-outcome in the report (0: none).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub quotes: usize,
    /// Quantity bands for summary sentences ("a few", "some", ...): a TOML file like
    /// models/report.toml (default: that file, embedded).
    #[arg(long, value_name = "FILE")]
    pub bands: Option<PathBuf>,
    /// Redact personal data (emails, phone numbers, postcodes, NI numbers, the respondent's
    /// own name) in coded_responses.csv's text column too (quotes are always redacted).
    #[arg(long)]
    pub redact_text: bool,
    /// Print nothing but errors (no progress bar).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Coded sample: CSV or XLSX with columns id, text, codes (semicolon-separated), optional question.
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Output folder for head.json (and codebook.toml when built from the gold codes).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Codebook whose codes to learn (default: the codes found in the gold file).
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,
    #[arg(long, default_value = "text")]
    pub text_column: String,
    #[arg(long, default_value = "codes")]
    pub codes_column: String,
    /// Column with each answer's question (optional).
    #[arg(long, default_value = "question")]
    pub question_column: String,
    /// The question put to every answer when the gold file has no question column.
    #[arg(long, default_value = "Do you have any comments?")]
    pub question: String,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Full-batch Adam epochs (1,000 beat 300 on the NHS FFT benchmark: macro-F1 0.485 vs 0.472).
    #[arg(long, default_value_t = 1000)]
    pub epochs: usize,
    /// L2 penalty on the heads' weights (added to the mean loss). 1e-6 beat 1e-5 with word
    /// features on the NHS FFT development fold (micro-F1 0.726 against 0.708, macro 0.492
    /// against 0.488).
    #[arg(long, default_value_t = 1e-6)]
    pub l2: f64,
    /// Embeddings only: no TF-IDF word features (word 1-2 grams in at least 2 answers).
    #[arg(long)]
    pub no_words: bool,
    /// Epochs of fine-tuning the encoder on the sample (one sigmoid per code) before the heads
    /// are fitted on its embeddings; the tuned encoder is saved beside head.json. 0: the heads
    /// read answers with the base model. 3 (with --tune-frozen-layers 1) beat 2 of every
    /// weight on each of three NHS FFT development folds, by 0.010 micro-F1 and 0.012 macro-F1
    /// on average (BENCHMARKS.md §4).
    #[arg(long, default_value_t = 3)]
    pub tune_epochs: usize,
    /// Fine-tune on the codes only when the sample has at least this many coded answers: on
    /// smaller samples that tuned encoder scored worse than the base model (NHS FFT development
    /// fold: 334 answers, macro-F1 0.316 against 0.350; 662 answers, 0.444 against 0.438), so
    /// they are fine-tuned on contrastive pairs instead (--tune-contrastive).
    #[arg(long, default_value_t = 500)]
    pub tune_min_answers: usize,
    /// Fine-tune with the embeddings and the lowest this many of the six layers left as they
    /// are (0: tune every weight). With 1, fine-tuning took 22% less time on the NHS FFT
    /// development fold at the same accuracy (micro-F1 0.751, macro 0.541, against 0.755 and
    /// 0.540 tuning every weight), which keeps 3 epochs inside 5 minutes.
    #[arg(long, default_value_t = 1)]
    pub tune_frozen_layers: usize,
    /// Answer-epochs fine-tuning may spend (answers times epochs): a sample larger than this
    /// over --tune-epochs gets fewer epochs, the last a partial one, so that training keeps to
    /// about 5 minutes on 2 cores. The default gives samples of up to 4,800 answers all 3
    /// epochs; the whole NHS FFT development sample (5,924 answers) 2.43 (BENCHMARKS.md §4).
    #[arg(long, value_name = "ANSWER_EPOCHS", default_value_t = 14_400)]
    pub tune_budget: usize,
    /// On samples under --tune-min-answers, fine-tune the encoder SetFit-style instead: this
    /// many rounds of contrastive pairs (each answer with one that shares a code and one that
    /// shares none), every weight, learning rate 2e-5. 0: the heads read answers with the base
    /// model. Default: --tune-contrastive-budget divided by the answers, between 5 and 20
    /// rounds. 5 rounds lifted the heads over the base model on NHS FFT development folds (10
    /// examples per code, ~330 answers: micro-F1 +0.018 and +0.030, macro-F1 +0.031 and +0.028),
    /// and 9-10 rounds lifted 5-per-code samples (~170 answers) more than 5 did (macro-F1
    /// +0.017 on the mean of two folds; BENCHMARKS.md §4).
    #[arg(long, value_name = "ROUNDS")]
    pub tune_contrastive: Option<usize>,
    /// Contrastive rounds times answers: what SetFit-style fine-tuning spends when
    /// --tune-contrastive is not given. The default, 1,650, gives 330 answers and more 5 rounds
    /// (about 200 s for 330 answers on 2 cores) and fewer answers more rounds in about that
    /// time (170 answers 10, 106 answers 16; at most 20).
    #[arg(long, value_name = "ANSWER_ROUNDS", default_value_t = 1650)]
    pub tune_contrastive_budget: usize,
}

#[derive(Debug, clap::Args)]
pub struct TrainSentimentArgs {
    /// The shared data folder (holds nhs_fft/ and, for consultation-style tone, ../main/eval/dev).
    #[arg(long, default_value = "../shared/data")]
    pub data: PathBuf,
    /// Development tone labels for consultation-style statements (ids only; text read from --data).
    #[arg(long, default_value = "eval/dev/polis_labels.csv")]
    pub polis_labels: PathBuf,
    /// Our tone labels of manifesto sentences (ids only; text read from --data), for --tune;
    /// "" for none.
    #[arg(long, default_value = "eval/dev/manifesto_tone_labels.csv")]
    pub manifesto_labels: PathBuf,
    /// Where to write the head (default: models/sentiment/head.json) or, with --tune, the
    /// model folder (default: models/sentiment/tuned).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Gradient-descent epochs of the frozen-encoder head.
    #[arg(long, default_value_t = 300)]
    pub epochs: usize,
    /// Fine-tune the encoder itself with the grade head (~7 min on 2 cores): the model
    /// `analyse` and `sentiment` use when it is there.
    #[arg(long)]
    pub tune: bool,
    /// Epochs of fine-tuning.
    #[arg(long, default_value_t = 3)]
    pub tune_epochs: usize,
    /// Loss weight of a review sentence (an FFT answer weighs 1, a consultation-style one 3).
    #[arg(long, default_value_t = 1.0)]
    pub review_weight: f32,
    /// Label smoothing of fine-tuning (0: plain cross-entropy).
    #[arg(long, default_value_t = 0.0)]
    pub label_smoothing: f64,
    /// Seed of fine-tuning (the head's first weights, dropout and the batches' order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Encoder learning rate of fine-tuning (the peak, after warm-up); 3e-5 and 8e-5 did no
    /// better on a development fold (BENCHMARKS.md §3).
    #[arg(long, default_value_t = crate::tune::Settings::default().encoder_learning_rate)]
    pub tune_learning_rate: f64,
    /// Fine-tuning leaves the embeddings and the lowest this many of the six layers as they
    /// are (0: tunes every weight). 1 trains a third faster but scored a little lower on four
    /// folds of five (FFT 5-class 0.709 against 0.713 on average; BENCHMARKS.md §3).
    #[arg(long, default_value_t = 0)]
    pub tune_frozen_layers: usize,
    /// Weight of an auxiliary loss on the NHS FFT answers' theme codes while fine-tuning
    /// (0: grades only). Weight 1 did no better on three development folds and read
    /// consultation proposals worse (BENCHMARKS.md §3).
    #[arg(long, default_value_t = 0.0)]
    pub tune_theme_weight: f64,
    /// R-Drop weight while fine-tuning: each batch is read twice under different dropout and
    /// the symmetric KL divergence between the two grade distributions, times this, joins the
    /// loss (0: read once). Weight 1 took 2.2 times as long and scored FFT 5-class 0.708
    /// against 0.706 on a development fold (BENCHMARKS.md §3), so 0 stays.
    #[arg(long, default_value_t = 0.0)]
    pub tune_rdrop: f64,
    /// Share of a word model (TF-IDF word 1-2 grams of answer and question, multinomial
    /// logistic regression, trained on the same items; kept as words.json beside the
    /// network) in the tuned model's grade probabilities (0: the network alone). 0.2-0.3
    /// added 0.003 of FFT 5-class accuracy on three development folds and read review
    /// sentences and manifesto proposals a little worse (BENCHMARKS.md §3).
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub tune_word_weight: f32,
    /// With --tune: loss weight of the NHS FFT answers to the general questions ("FFT Why?",
    /// the 111 service's) put a second time, with their grade, to an open consultation
    /// question (0: not). On three development folds, weights 0.1-1 read held-out patients'
    /// praise under an open question as positive far more often (0.77 -> 0.92-0.94; "Could
    /// not fault the staff") but manifesto proposals' tone worse (-0.02 to -0.04), so 0 stays
    /// the default (BENCHMARKS.md §3).
    #[arg(long, default_value_t = 0.0)]
    pub open_fft_weight: f32,
    /// Loss weight of a consultation-style statement or manifesto sentence with our tone
    /// label (an FFT answer weighs 1). 6, with --open-fft-weight 0.3, read consultation
    /// statements better on three development folds but FFT answers and manifesto proposals
    /// worse (BENCHMARKS.md §3).
    #[arg(long, default_value_t = crate::train::CONSULTATION_WEIGHT)]
    pub consultation_weight: f32,
    /// Development run: train on the folds other than 0 and this one (1-4) and score this
    /// one, so settings are chosen without touching the held-out fold 0.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4))]
    pub dev_fold: Option<u64>,
    /// With --tune: train on every fold, fold 0 included, for the model to ship: it learns
    /// from all the labelled data. Nothing is left to score it on, so its meta.json carries
    /// the held-out figures of the same recipe trained with fold 0 held out, read from
    /// --held-out-model, which must be there and made by the same command (`make
    /// sentiment-model` trains both).
    #[arg(long, requires = "tune", conflicts_with_all = ["dev_fold", "rescore"])]
    pub all_folds: bool,
    /// With --all-folds: the model of the same recipe with fold 0 held out, whose figures the
    /// new model carries (default: models/sentiment/tuned-heldout).
    #[arg(long, requires = "all_folds")]
    pub held_out_model: Option<PathBuf>,
    /// With --tune: keep the model already in the output folder when its meta.json records
    /// this command and these label files' checksums; else train afresh (`make sentiment-model`).
    #[arg(long, requires = "tune")]
    pub if_stale: bool,
    /// With --tune: score the model already in the output folder on the held-out (or
    /// development) fold without training it again.
    #[arg(long, requires = "tune", conflicts_with = "if_stale")]
    pub rescore: bool,
    /// Write each scored item's grade probabilities to this CSV (key, source, grade, p1-p5),
    /// for comparing models outside consult.
    #[arg(long)]
    pub probs_out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// coded_responses.csv from `consult analyse`.
    pub coded: PathBuf,
    /// Human-coded CSV with columns id, codes (semicolon-separated), optional question.
    pub gold: PathBuf,
    /// Report the outcome level only (default: code level, then outcome level).
    #[arg(long)]
    pub outcomes: bool,
    /// Gold file's id column.
    #[arg(long, default_value = "id")]
    pub gold_id: String,
    /// Gold file's codes column (semicolon-separated codes).
    #[arg(long, default_value = "codes")]
    pub gold_codes: String,
    /// Gold file's question column, when answers are matched per question.
    #[arg(long, default_value = "question")]
    pub gold_question: String,
    /// Codebook used to map codes to outcomes (default: embedded).
    #[arg(long, value_name = "FILE")]
    pub codebook: Option<PathBuf>,
    /// Only score these codes (comma-separated); default: every code in the gold file.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Write the per-code figures here as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// coded_responses.csv from `consult analyse`.
    pub coded: PathBuf,
    /// Write the sample here: .xlsx (with a sheet of the codes to choose from) or .csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How many answers to draw (all of them when there are fewer).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub n: u64,
    /// Seed of the draw: the same seed and file give the same sample.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Draw per code: at least K answers of each code's stratum (answers by the rarest code
    /// the run gave them), weighted back to the whole run, so that every code's precision can
    /// be checked (default 0: a simple random sample per question).
    #[arg(long, value_name = "K", default_value_t = 0)]
    pub per_code: usize,
    /// Codebook whose codes the XLSX lists (default: embedded).
    #[arg(long)]
    pub codebook: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Text file, one text per line.
    pub input: PathBuf,
    /// Write the vectors as little-endian f32, one row per line, to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Fixed batch size in input order (no length sorting) instead of token-budget batches.
    #[arg(long)]
    pub unsorted_batch: Option<usize>,
    /// Most padded tokens in one batch.
    #[arg(long, default_value_t = 1024)]
    pub token_budget: usize,
    /// Most texts in one batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch: usize,
}

#[derive(Debug, clap::Args)]
pub struct SentimentArgs {
    /// CSV/TSV, XLSX, XLS or ODS with one text per row.
    pub input: PathBuf,
    /// The text column (header, unique prefix or 1-based position).
    #[arg(long, value_name = "COLUMN")]
    pub text: String,
    /// Id column (default: the row's line number).
    #[arg(long, value_name = "COLUMN")]
    pub id: Option<String>,
    /// The question every text answers.
    #[arg(long, default_value = crate::train::CONSULTATION_QUESTION, conflicts_with = "question_col")]
    pub question: String,
    /// A column holding each text's question instead (also --question-column, as `analyse`
    /// and `train` name it).
    #[arg(long, value_name = "COLUMN", alias = "question-column")]
    pub question_col: Option<String>,
    /// Output CSV.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Sentiment model: a fine-tuned model folder or a head JSON (default:
    /// models/sentiment/tuned when `make sentiment-model` has built it, else
    /// models/sentiment/head.json).
    #[arg(long, value_name = "PATH", alias = "sentiment-head")]
    pub sentiment_model: Option<PathBuf>,
}

/// The sentence-embedding model and the number format it computes in: one set of flags for
/// every command that embeds text.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Model folder (default: models/all-MiniLM-L6-v2, made by `make setup`).
    #[arg(long = "model", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Number format the model computes in: bf16 (about twice as fast on CPUs with
    /// AVX512-BF16, embeddings within cosine 0.9998 of fp32) or fp32. Default:
    /// $CONSULT_PRECISION; else fp32 for `train` and `train-sentiment`, so that a head trained
    /// here is reproduced on any machine; else bf16 where the CPU multiplies it natively, else fp32.
    #[arg(long, value_enum, value_name = "fp32|bf16")]
    pub precision: Option<crate::model::Precision>,
}

/// A share in [0, 1].
fn parse_share(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a share between 0 and 1")),
    }
}
