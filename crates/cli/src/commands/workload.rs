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
    // A number, or one value per neuron.
    let i_ext = serde_json::to_value(&w.i_ext)?;
    let p = &w.params;
    let params = serde_json::json!({
        "name": w.name, "description": w.description,
        "dt": p.dt, "t_max": p.t_max, "tau_m": p.tau_m, "v_reset": p.v_reset,
        "v_thresh": p.v_thresh, "r": p.r, "v_rest": p.v_rest(), "i_ext": i_ext,
        "t_ref": p.t_ref, "steps": p.steps(), "n": n,
    });
    let json = serde_json::to_string_pretty(&params)?;
    write_bytes(&args.out.join("params.json"), (json + "\n").as_bytes())?;
    println!(
        "wrote {} (weights.npy, v0.npy, params.json)",
        args.out.display()
    );
    Ok(())
}
