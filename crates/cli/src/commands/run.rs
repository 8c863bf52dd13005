//! `lifsim run`: one simulation, spikes to a file, a summary to stdout.

use std::path::PathBuf;

use anyhow::Result;
use lifsim_core::io::check_writable;
use lifsim_core::{DenseWeights, Real, RecordMode, RunOutput};

use super::{simulate, with_weights, WeightsFn};
use crate::args::{record_mode, Resolved, RunArgs};

/// Runs `lifsim run`.
pub fn run(args: &RunArgs) -> Result<()> {
    if let Some(network) = &args.network {
        return super::network::run_network(args, network);
    }
    if args.json.is_some() {
        anyhow::bail!("--json is for network files (lifsim run NETWORK.toml --json FILE); use lifsim bench --json for the seed model");
    }
    let mode = record_mode(args.format.as_deref().unwrap_or("dense"), "--format")?;
    if mode == RecordMode::Counts {
        anyhow::bail!("invalid value \"counts\" for --format: choose dense or events");
    }
    let resolved = args.model.resolve(mode)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(if mode == RecordMode::Dense {
            "spikes.npy"
        } else {
            "spikes.npz"
        })
    });
    check_writable(&out)?;
    let output = with_weights(
        &resolved,
        Once {
            resolved: &resolved,
        },
    )?;
    match mode {
        RecordMode::Dense => output.record.save_dense(&out)?,
        _ => output.record.save_events(&out)?,
    }
    print_summary(&resolved, &output, &out);
    Ok(())
}

struct Once<'a> {
    resolved: &'a Resolved,
}

impl WeightsFn<RunOutput> for Once<'_> {
    fn call<T: Real>(self, weights: &DenseWeights<T>) -> Result<RunOutput> {
        simulate(weights, self.resolved)
    }
}

fn print_summary(resolved: &Resolved, output: &RunOutput, out: &std::path::Path) {
    let r = &output.record;
    let p = &resolved.spec.params;
    println!(
        "network     {} ({} neurons, {})",
        resolved.label, r.n, resolved.dtype
    );
    println!(
        "steps       {} (dt {} ms, {} ms simulated)",
        r.steps,
        p.dt,
        fmt_ms(r.duration_ms())
    );
    println!("spikes      {}", r.total);
    println!("mean rate   {:.3} Hz", r.mean_rate_hz());
    println!("wall time   {:.3} ms", output.wall.as_secs_f64() * 1e3);
    println!("output      {}", out.display());
}

/// Milliseconds without float noise (`99.99`, not `99.99000000000001`).
fn fmt_ms(ms: f64) -> String {
    let s = format!("{ms:.9}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
