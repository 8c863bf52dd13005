//! `mpirun -np K lifsim run NETWORK.toml`: the processes of an MPI job as
//! the ranks of one network run (feature `mpi`). Each rank builds its own
//! neurons and the synapses onto them; rank 0 writes the spike file and
//! prints the summary, which are those of a one-process run, bit for bit.
//!
//! MPI is initialised only when a launcher started this process (its
//! environment says so): a plain `lifsim run` never touches MPI. A lifsim
//! built without the feature refuses to run a network (a network file or
//! the seed model's) as one of several processes of a job, where each
//! would run the whole network and write the same file.

use std::sync::Arc;

use anyhow::Result;
use lifsim_core::engine::exchange::{Exchange, Reduce, Scheme};

/// The processes of this job according to the launcher's environment
/// (Open MPI's `mpirun`, MPICH's `mpiexec`, Slurm's `srun`), if one
/// started this process.
pub fn launched_ranks() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.trim().parse().ok())
}

/// The ranks of this run: one (no MPI), or the processes of an MPI job.
pub struct Ranks {
    #[cfg(feature = "mpi")]
    mpi: Option<Arc<lifsim_core::engine::exchange::mpi::MpiExchange>>,
}

impl Ranks {
    /// Joins the MPI job this process was launched in, if any (initialising
    /// MPI), its ranks to exchange spikes by `scheme`, overlapped with the
    /// steps if `overlap`; a lifsim built without MPI refuses to be one of
    /// several.
    pub fn init(scheme: Scheme, overlap: bool) -> Result<Self> {
        #[cfg(feature = "mpi")]
        {
            let mpi = match launched_ranks() {
                Some(_) => lifsim_core::engine::exchange::mpi::MpiExchange::init(scheme, overlap)?
                    .map(Arc::new),
                None => None,
            };
            Ok(Self { mpi })
        }
        #[cfg(not(feature = "mpi"))]
        let _ = (scheme, overlap);
        #[cfg(not(feature = "mpi"))]
        match launched_ranks() {
            Some(k) if k > 1 => anyhow::bail!(
                "this lifsim was built without MPI, so each of the {k} processes mpirun/srun started would run the whole network; build it with `cargo build --release --features lifsim-cli/mpi`"
            ),
            _ => Ok(Self {}),
        }
    }

    /// The exchange between ranks, when there are several.
    pub fn exchange(&self) -> Option<Arc<dyn Exchange>> {
        #[cfg(feature = "mpi")]
        if let Some(m) = self.mpi.as_ref().filter(|m| m.ranks() > 1) {
            return Some(m.clone());
        }
        None
    }

    /// The number of ranks.
    pub fn count(&self) -> usize {
        self.exchange().map_or(1, |x| x.ranks())
    }

    /// Whether this process writes the output and prints (rank 0).
    pub fn is_root(&self) -> bool {
        self.exchange().is_none_or(|x| x.rank() == 0)
    }

    /// `value` reduced over the ranks (itself with one).
    pub fn reduce(&self, value: u64, op: Reduce) -> u64 {
        self.exchange().map_or(value, |x| x.reduce(value, op))
    }

    /// The threads of each rank when `--threads` is not given: this
    /// machine's cores shared among the job's ranks on it, where a rank's
    /// share of `n` neurons is worth splitting; `None` with one rank (the
    /// engine's own rule).
    pub fn default_threads(&self, n: usize) -> Option<usize> {
        #[cfg(feature = "mpi")]
        if let Some(m) = self.mpi.as_ref().filter(|m| m.ranks() > 1) {
            if n / m.ranks() < lifsim_core::engine::PARALLEL_MIN_NEURONS {
                return Some(1);
            }
            let cores = lifsim_core::resources::available_cores();
            return Some((cores / m.local_ranks().max(1)).max(1));
        }
        let _ = n;
        None
    }

    /// The end of a run: with several ranks, an error on any one of them
    /// ends them all (`MPI_Abort`, exit status 2) after printing it, since
    /// the others would wait for it forever.
    pub fn finish(&self, result: Result<()>) -> Result<()> {
        #[cfg(feature = "mpi")]
        if let (Err(e), Some(m)) = (&result, self.mpi.as_ref().filter(|m| m.ranks() > 1)) {
            // One write of the whole line: `eprintln!` writes it in pieces,
            // and a rank killed between two (another rank's abort) would
            // leave half a line, run into the next rank's.
            let line = format!("lifsim: error: {}\n", crate::one_line(e));
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            m.abort(2);
        }
        result
    }
}
