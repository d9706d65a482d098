//! Entry point: parse flags, run the subcommand, map errors to exit codes.

use clap::Parser;
use consult::cli::{Cli, Command};
use consult::{commands, evaluate, exit, sample, train};

/// glibc's allocator by default hands large freed blocks back to the kernel and maps them
/// afresh, zeroed, on the next request. libtorch allocates and frees every activation
/// tensor of every batch, so a profile of `consult embed` spent 18% of its samples in the
/// kernel zeroing pages (`clear_page_erms`; 38% in the kernel in all). Keeping blocks up to
/// 32 MB in the heap and a larger free top before trimming cuts that to 3.5% (14%), and the
/// same work takes about a fifth fewer samples. Peak memory is what the batches need anyway.
///
/// glibc also gives threads their own heaps ("arenas", up to 8 per core), each keeping the
/// blocks freed in it. At 100,002 answers the sentiment pass grew peak RSS from about 820 MB
/// to 1,580 MB; with at most one arena per core (at least 2) the run peaked at 1,317 MB, and
/// at 10,002 answers it took 135.5 s against 133.9 s (BENCHMARKS.md §5).
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let arenas = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8) as libc::c_int;
        // SAFETY: mallopt only sets allocator parameters; called before any other thread starts.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
            libc::mallopt(libc::M_TOP_PAD, 16 << 20);
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Output piped into `head` and closed early ends the process quietly, as for other Unix
/// tools: Rust ignores SIGPIPE, so `println!` to the closed pipe panicked ("failed printing to
/// stdout: Broken pipe") where `consult evaluate ... | head` should simply stop.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal before any other thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    tune_allocator();
    quiet_on_closed_pipe();
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
        Command::Codebook { check, self_test, examples, out, model } => {
            commands::codebook(check.as_deref(), *self_test, examples.as_deref(), out.as_deref(), model)
        }
        Command::Train(a) => train::train_codes(a),
        Command::TrainSentiment(a) => train::train_sentiment(a),
        Command::Evaluate(a) => evaluate::run(a),
        Command::Sample(a) => sample::run(a),
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
