//! `mpirun -np K lifsim run --weights W.npy` (or `--workload NAME`): the
//! seed's dense model over the ranks of an MPI job. The seed's run is
//! expressed as a network (`lifsim_core::network::seed::seed_network`: one
//! `lif_euler` population, one dense zero-delay projection, the seed's time
//! axis), which the engine runs in one process too (reading `W` in place);
//! over ranks each rank holds its range's rows of `W` and the ranks
//! exchange spikes every step (zero delay): correct, and slow. Rank 0 writes
//! the same file a one-process run writes (same header, same bytes).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use lifsim_core::engine::exchange::Scheme;
use lifsim_core::io::npy::{header_bytes, Elem};
use lifsim_core::io::spikes::{OutputFormat, DEFAULT_POPULATION};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::network::seed::seed_network;
use lifsim_core::network::Recipe;
use lifsim_core::progress::{Driver, Silent};
use lifsim_core::{EngineOptions, NetworkSimulation, Real, RecordMode, Recorder, SpikeRecord};

use super::ranks::Ranks;
use super::run::{run_checkpointed, CheckpointPlan, Resume};
use crate::args::{Resolved, WeightSource};
use crate::progress::ProgressReporter;

/// The ranks of a seed run: those of the MPI job that launched this
/// process (a lifsim built without MPI refuses to be one of several
/// processes, each of which would run the whole model and write the same
/// file), exchanging spikes by `scheme`.
pub fn ranks(scheme: Scheme) -> Result<Ranks> {
    // An exchange every step: nothing to overlap.
    Ranks::init(scheme, false)
}

/// One rank's share of the seed run of `resolved` over `ranks` (more than
/// one): rank 0 streams the spikes to `out` in `format` and returns its
/// record, the others only compute (and return their counts).
#[allow(clippy::too_many_arguments)] // one run's settings, each its own
pub fn simulate<T: Real>(
    resolved: &Resolved,
    format: OutputFormat,
    out: &Path,
    population: Option<&str>,
    reporter: &mut ProgressReporter,
    plan: Option<CheckpointPlan>,
    resume: Option<Resume>,
    ranks: &Ranks,
) -> Result<(SpikeRecord, Duration)> {
    let k = ranks.count();
    if plan.is_some() || resume.is_some() {
        bail!("checkpoints of the seed model (--checkpoint, lifsim resume) are not supported over MPI ranks yet; run on one process (this is one of {k} ranks)");
    }
    let Some(x) = ranks.exchange() else {
        bail!("the seed model over MPI ranks needs more than one rank");
    };
    let spec = &resolved.spec;
    let n = resolved.n;
    // A generated workload's `W` goes to a file of this rank's own, which
    // the network's dense projection reads (its rows onto this rank's range).
    let mut scratch = None;
    let file: PathBuf = match &resolved.weights {
        WeightSource::File(path) => path.clone(),
        WeightSource::Generated(w) => {
            let path = std::env::temp_dir().join(format!(
                "lifsim-seed-{}-{}.npy",
                std::process::id(),
                ranks.exchange().map_or(0, |x| x.rank())
            ));
            let mut bytes = header_bytes(Elem::F64, true, &[n, n]);
            for v in w.column_major::<f64>()? {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            std::fs::write(&path, bytes)?;
            scratch = Some(path.clone());
            path
        }
    };
    let v0 = spec.v0.voltages(n, &spec.params)?;
    let desc = seed_network(
        Some(&file),
        n,
        &spec.params,
        &spec.i_ext,
        v0,
        resolved.dtype,
    )?;
    let recipe = Recipe::<T>::new(&desc)?;
    let options = EngineOptions {
        threads: spec.options.threads.or(ranks.default_threads(n)),
        isa: spec.options.isa,
    };
    let built = NetworkSimulation::distributed(&recipe, &options, x);
    // Read at build (each rank its rows): the scratch copy has served.
    if let Some(p) = scratch {
        let _ = std::fs::remove_file(p);
    }
    let mut sim = built?;
    if !ranks.is_root() {
        let mut recorder = Recorder::new(RecordMode::Counts, n, desc.steps())?;
        let t = Instant::now();
        let _ = Driver::new(desc.dt).run(&mut sim, u64::MAX, &mut recorder, &mut Silent);
        return Ok((recorder.finish(desc.dt), t.elapsed()));
    }
    // The one-process run's header: one population, every neuron recorded.
    let header = StreamHeader {
        n: n as u64,
        dt: desc.dt,
        steps: desc.steps() as u64,
        population: population.unwrap_or(DEFAULT_POPULATION).to_string(),
        populations: Vec::new(),
        recorded: None,
    };
    run_checkpointed(&mut sim, header, format, out, reporter, None, None, None)
}
