//! `lifsim`: the command-line interface. It parses, validates and dispatches;
//! the simulation lives in `lifsim-core`.

mod args;
mod commands;
mod progress;

use clap::Parser;

fn main() {
    restore_sigpipe();
    let mut cli = args::Cli::parse();
    cli.cap_threads();
    let result = match cli.command {
        args::Command::Run(a) => commands::run::run(&a),
        args::Command::Bench(a) => commands::bench::bench(&a),
        args::Command::GenWeights(a) => commands::gen_weights::gen_weights(&a),
        args::Command::Workload(a) => commands::workload::workload(&a),
        args::Command::Plot(a) => commands::plot::plot(&a),
        args::Command::Info(a) => commands::info::info(&a),
        args::Command::Resume(a) => commands::resume::resume(&a),
    };
    if let Err(err) = result {
        // One line: the causes joined, most general first; a cause that the
        // message above it already quotes is not repeated.
        let mut msg = String::new();
        for cause in err.chain().map(|c| c.to_string()) {
            if !msg.ends_with(&cause) {
                if !msg.is_empty() {
                    msg.push_str(": ");
                }
                msg.push_str(&cause);
            }
        }
        eprintln!("lifsim: error: {msg}");
        std::process::exit(2);
    }
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
