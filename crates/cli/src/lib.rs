//! The `lifsim` command-line interface as a library: [`main`] parses, validates
//! and dispatches one command line; the simulation lives in `lifsim-core`.
//! The `lifsim` binary (`main.rs`) and the Python package's `lifsim` command
//! (`lifsim._lifsim._cli_main`) both call it, so they are the same program.

mod args;
mod commands;
mod progress;

use std::ffi::OsString;
use std::sync::OnceLock;

use clap::Parser;

/// Runs one `lifsim` command line (`args[0]` is the program name) and returns
/// the process exit status: 0 on success, 2 on any error (reported on one line
/// on stderr). Meant to be the whole of a process: it sets the panic hook and
/// SIGPIPE's disposition.
pub fn main<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    restore_sigpipe();
    one_line_panics();
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let _ = COMMAND_LINE.set(
        args.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    );
    let mut cli = match args::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    cli.cap_threads();
    // A panic unwinds through here, so every output's destructor runs (no
    // temporary file is left) and the exit status is 2 like any error.
    let Ok(result) = std::panic::catch_unwind(move || dispatch(cli)) else {
        return 2;
    };
    match result {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("lifsim: error: {}", one_line(&err));
            2
        }
    }
}

/// The command line [`main`] was given, for what records it (checkpoints):
/// not `std::env::args`, which under the Python package's `lifsim` command
/// starts with the interpreter.
static COMMAND_LINE: OnceLock<Vec<String>> = OnceLock::new();

/// The arguments after the subcommand's name (`lifsim run ARGS...`).
pub(crate) fn subcommand_args() -> Vec<String> {
    COMMAND_LINE
        .get()
        .map(|a| a.iter().skip(2).cloned().collect())
        .unwrap_or_default()
}

/// Help and version go out as clap writes them; a usage error becomes one
/// line and exit status 2, like every other error.
fn usage_error(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        // Writing help to a closed pipe is not an error worth reporting.
        let _ = e.print();
        return e.exit_code();
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
    2
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
