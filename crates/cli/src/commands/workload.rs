//! `lifsim workload`: a built-in workload as files other simulators can read
//! (`weights.npy`, `v0.npy`, `params.json`), for side-by-side benchmarks.

use anyhow::{Context, Result};
use lifsim_core::io::output::write_bytes;
use lifsim_core::io::save_npy;
use lifsim_core::workloads;

use crate::args::WorkloadArgs;

/// Runs `lifsim workload`.
pub fn workload(args: &WorkloadArgs) -> Result<()> {
    let w = workloads::by_name(&args.name)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}", args.out.display()))?;
    let n = w.weights.n;
    save_npy(
        &args.out.join("weights.npy"),
        &w.weights.column_major::<f64>()?,
        &[n, n],
        true,
    )?;
    let v0 = w.v0.voltages(n, &w.params)?;
    save_npy(&args.out.join("v0.npy"), &v0, &[n], false)?;
    // Every number and per-neuron parameter of the table (lifsim_core::params).
    let params = w.params_json()?;
    let json = serde_json::to_string_pretty(&params)?;
    write_bytes(&args.out.join("params.json"), (json + "\n").as_bytes())?;
    println!(
        "wrote {} (weights.npy, v0.npy, params.json)",
        args.out.display()
    );
    Ok(())
}
