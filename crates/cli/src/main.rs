//! `lifsim`: the command-line interface. It parses, validates and dispatches;
//! the simulation lives in `lifsim-core`.

mod args;
mod commands;
mod progress;

use clap::Parser;

fn main() {
    restore_sigpipe();
    one_line_panics();
    let mut cli = args::Cli::try_parse().unwrap_or_else(|e| usage_error(e));
    cli.cap_threads();
    // A panic unwinds through here, so every output's destructor runs (no
    // temporary file is left) and the exit status is 2 like any error.
    let Ok(result) = std::panic::catch_unwind(move || dispatch(cli)) else {
        std::process::exit(2);
    };
    if let Err(err) = result {
        eprintln!("lifsim: error: {}", one_line(&err));
        std::process::exit(2);
    }
}

/// Help and version go out as clap writes them; a usage error becomes one
/// line and exit status 2, like every other error.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    // clap's first paragraph says what is wrong; the usage and tips follow.
    let text = e.render().to_string();
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let first = first.join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    eprintln!("lifsim: error: {first} (lifsim --help lists the commands and flags)");
    std::process::exit(2);
}

fn dispatch(cli: args::Cli) -> anyhow::Result<()> {
    match cli.command {
        args::Command::Run(a) => commands::run::run(&a),
        args::Command::Bench(a) => commands::bench::bench(&a),
        args::Command::GenWeights(a) => commands::gen_weights::gen_weights(&a),
        args::Command::Workload(a) => commands::workload::workload(&a),
        args::Command::Plot(a) => commands::plot::plot(&a),
        args::Command::Info(a) => commands::info::info(&a),
        args::Command::Resume(a) => commands::resume::resume(&a),
    }
}

/// The causes joined, most general first, on one line; a cause that the
/// message above it already quotes is not repeated.
fn one_line(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain().map(|c| c.to_string()) {
        if !msg.ends_with(&cause) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&cause);
        }
    }
    msg.replace(['\n', '\r'], " ")
}

/// A panic is a bug in lifsim: it is reported on one line (the word
/// "panicked" kept, so tests that look for it still find it) instead of
/// Rust's default report.
fn one_line_panics() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let what = what.replace(['\n', '\r'], " ");
        eprintln!("lifsim: error: internal error: panicked{at}: {what} (a bug in lifsim; please report it)");
    }));
}

/// Rust ignores SIGPIPE, which turns `lifsim bench | head` into a panic when
/// printing; restore the default so a closed pipe ends lifsim quietly, as it
/// does any Unix tool.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default is async-signal
    // safe and happens before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
