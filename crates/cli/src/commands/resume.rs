//! `lifsim resume CHECKPOINT`: goes on with a run from its last checkpoint and
//! writes the complete output, the same bits as a run never interrupted.
//!
//! The checkpoint holds the run's own arguments: the network is built again
//! from them (in the folder the run started in), the state is put back, the
//! spike stream is cut back to the checkpoint's step, and the run goes on,
//! still writing checkpoints.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use lifsim_core::checkpoint;

use super::run::{run_with, Resume, Saved};
use crate::args::{Cli, Command, ResumeArgs};

/// Runs `lifsim resume`.
pub fn resume(args: &ResumeArgs) -> Result<()> {
    // One of several processes (MPI ranks) reads only the rank files of its
    // own neurons, once it knows them; one process reads every file now.
    let (meta, opened) = checkpoint::open(&args.checkpoint)?;
    let state = match super::ranks::launched_ranks() {
        Some(k) if k > 1 => Saved::Opened(Some(opened)),
        _ => Saved::Read(opened.state()?),
    };
    if meta.network.is_some() {
        bail!(
            "{}: a checkpoint of a simulation run from Python (it has no output file to go on writing); resume it with lifsim.resume(path)",
            args.checkpoint.display()
        );
    }
    let here = std::env::current_dir()?;
    let out: PathBuf = match &args.out {
        Some(o) => here.join(o),
        None => PathBuf::from(&meta.out),
    };
    let argv = ["lifsim".to_string(), "run".to_string()]
        .into_iter()
        .chain(meta.args.iter().cloned());
    let mut cli = Cli::try_parse_from(argv).with_context(|| {
        format!(
            "{}: the run's arguments no longer parse",
            args.checkpoint.display()
        )
    })?;
    // The run may have started on a machine with more cores than this one.
    cli.cap_threads();
    let Command::Run(mut run) = cli.command else {
        bail!(
            "{}: not a checkpoint of lifsim run",
            args.checkpoint.display()
        );
    };
    std::env::set_current_dir(&meta.cwd)
        .with_context(|| format!("the run's folder {}", meta.cwd))?;
    run.out = Some(out);
    run.format = Some(meta.format.clone());
    if args.threads.is_some() {
        run.model.threads = args.threads;
    }
    run.progress = args.progress;
    run.quiet = args.quiet;
    let source = here.join(&args.checkpoint);
    run_with(
        &run,
        Some(Resume {
            meta,
            state,
            source,
        }),
    )
}
