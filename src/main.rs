//! Entry point: parse flags, run the subcommand, map errors to exit codes.

use clap::Parser;
use consult::cli::{Cli, Command};
use consult::{commands, evaluate, exit, train};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let result = match &cli.command {
        Command::Analyse(a) => commands::analyse(a),
        Command::Inspect { input, sheet, header_rows } => commands::inspect(input, sheet.as_deref(), header_rows.map(usize::from)),
        Command::Codebook { check } => commands::codebook(check.as_deref()),
        Command::Train(a) => train::train_codes(a),
        Command::TrainSentiment(a) => train::train_sentiment(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Embed(a) => commands::embed(a),
        Command::Sentiment(a) => commands::sentiment(a),
    };
    if let Err(e) = result {
        // Output piped into `head` and closed early is not a failure.
        if e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)) {
            std::process::exit(exit::OK);
        }
        eprintln!("consult: {e:#}");
        let code = if e.downcast_ref::<consult::model::SetupMissing>().is_some() {
            exit::SETUP
        } else {
            exit::INPUT
        };
        std::process::exit(code);
    }
}
