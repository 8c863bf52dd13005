//! `lifsim gen-weights`: a deterministic random weight matrix as `.npy`.

use anyhow::Result;
use lifsim_core::io::save_npy;
use lifsim_core::{Dtype, WeightSpec};

use crate::args::GenWeightsArgs;

/// Runs `lifsim gen-weights`.
pub fn gen_weights(args: &GenWeightsArgs) -> Result<()> {
    let spec = WeightSpec {
        n: args.n,
        mean: args.mean,
        std: args.std,
        p: args.p,
        quantum: args.quantum,
        seed: args.seed,
    };
    let dtype: Dtype = args.dtype.parse()?;
    lifsim_core::io::output::check_writable(&args.out)?;
    let n = spec.n;
    // Fortran order: the engine's layout, so `lifsim run` maps the file as is.
    match dtype {
        Dtype::Float64 => save_npy(&args.out, &spec.column_major::<f64>()?, &[n, n], true)?,
        Dtype::Float32 => save_npy(&args.out, &spec.column_major::<f32>()?, &[n, n], true)?,
    }
    println!(
        "wrote {} ({n} x {n} {dtype}, seed {})",
        args.out.display(),
        spec.seed
    );
    Ok(())
}
