//! The exchange over MPI (feature `mpi`, the `mpi` crate on Open MPI or
//! MPICH): `MPI_Allgather` of each rank's per-step counts, then
//! `MPI_Allgatherv` of the ids, once per interval; or, with
//! [`Scheme::AllToAll`], `MPI_Alltoall` of the per-rank, per-step counts,
//! then `MPI_Alltoallv` of the ids.

use std::sync::Mutex;

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::*;
use mpi::{Count, Threading};

use super::{Exchange, Gathered, Reduce, Scheme};
use crate::error::{Error, Result};

/// MPI's world communicator, and the universe that finalises MPI when the
/// last handle is dropped.
struct World {
    comm: SimpleCommunicator,
    /// Per rank, how many ids it sends (reused between intervals).
    sizes: Vec<Count>,
    displs: Vec<Count>,
    /// Per rank, how many ids this rank sends it, and where they start.
    send_sizes: Vec<Count>,
    send_displs: Vec<Count>,
    /// Dropped last (fields drop in order): `MPI_Finalize`.
    _universe: Universe,
}

/// The ranks of an MPI job (`mpirun -np K`), as an [`Exchange`].
pub struct MpiExchange {
    rank: usize,
    ranks: usize,
    /// Ranks on this node (`MPI_Comm_split_type` shared memory).
    local_ranks: usize,
    scheme: Scheme,
    world: Mutex<World>,
}

// SAFETY: MPI is initialised at `MPI_THREAD_SERIALIZED` or above (checked in
// `init`), which allows calls from any thread provided no two are at the
// same time; every call goes through the mutex above.
unsafe impl Send for World {}

impl MpiExchange {
    /// Initialises MPI (`MPI_Init_thread`, serialised calls), the ranks to
    /// exchange spikes by `scheme`, or `None` where it was initialised
    /// already.
    pub fn init(scheme: Scheme) -> Result<Option<Self>> {
        let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Serialized)
        else {
            return Ok(None);
        };
        if matches!(threading, Threading::Single | Threading::Funneled) {
            return Err(Error::param(
                "MPI",
                "the MPI library does not allow calls from a thread other than the main one (MPI_THREAD_SERIALIZED); build Open MPI or MPICH with thread support",
            ));
        }
        let comm = universe.world();
        let (rank, ranks) = (comm.rank() as usize, comm.size() as usize);
        let local_ranks = comm.split_shared(comm.rank()).size() as usize;
        Ok(Some(Self {
            rank,
            ranks,
            local_ranks,
            scheme,
            world: Mutex::new(World {
                comm,
                sizes: Vec::new(),
                displs: Vec::new(),
                send_sizes: Vec::new(),
                send_displs: Vec::new(),
                _universe: universe,
            }),
        }))
    }

    /// The ranks of this job on this machine (sharing its cores).
    pub fn local_ranks(&self) -> usize {
        self.local_ranks
    }

    /// Ends every rank of the job with exit status `code` (`MPI_Abort`):
    /// after an error on one rank, the others would wait for it forever.
    pub fn abort(&self, code: i32) -> ! {
        self.lock().comm.abort(code)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Exchange for MpiExchange {
    fn rank(&self) -> usize {
        self.rank
    }

    fn ranks(&self) -> usize {
        self.ranks
    }

    fn all_gather(&self, ids: &[u32], counts: &[u32], out: &mut Gathered) {
        let world = &mut *self.lock();
        let steps = counts.len();
        out.counts.resize(steps * self.ranks, 0);
        world.comm.all_gather_into(counts, &mut out.counts[..]);
        let total = prefix(&out.counts, steps, &mut world.sizes, &mut world.displs);
        out.ids.resize(total, 0);
        let mut recv = PartitionMut::new(&mut out.ids[..], &world.sizes[..], &world.displs[..]);
        world.comm.all_gather_varcount_into(ids, &mut recv);
        out.index(steps);
    }

    fn all_to_all(&self, ids: &[u32], counts: &[u32], out: &mut Gathered) {
        let world = &mut *self.lock();
        let k = self.ranks;
        let steps = counts.len() / k;
        out.counts.resize(counts.len(), 0);
        world.comm.all_to_all_into(counts, &mut out.counts[..]);
        let World {
            sizes,
            displs,
            send_sizes,
            send_displs,
            comm,
            ..
        } = world;
        let total = prefix(&out.counts, steps, sizes, displs);
        let sent = prefix(counts, steps, send_sizes, send_displs);
        debug_assert_eq!(sent, ids.len());
        out.ids.resize(total, 0);
        let send = Partition::new(ids, &send_sizes[..], &send_displs[..]);
        let mut recv = PartitionMut::new(&mut out.ids[..], &sizes[..], &displs[..]);
        comm.all_to_all_varcount_into(&send, &mut recv);
        out.index(steps);
    }

    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn reduce(&self, value: u64, op: Reduce) -> u64 {
        let world = self.lock();
        let mut out = 0u64;
        let op = match op {
            Reduce::Min => SystemOperation::min(),
            Reduce::Max => SystemOperation::max(),
            Reduce::Sum => SystemOperation::sum(),
        };
        world.comm.all_reduce_into(&value, &mut out, op);
        out
    }

    fn gather_bytes(&self, bytes: &[u8]) -> Option<Vec<Vec<u8>>> {
        let world = self.lock();
        let comm = &world.comm;
        let root = comm.process_at_rank(0);
        let k = self.ranks;
        // In rounds of at most this much per rank, so that a round's total
        // stays within MPI's `int` counts (a state of gigabytes goes too).
        let chunk = (Count::MAX as usize / k).max(2) - 1;
        let mut longest = 0u64;
        comm.all_reduce_into(&(bytes.len() as u64), &mut longest, SystemOperation::max());
        let mut all = vec![Vec::new(); if self.rank == 0 { k } else { 0 }];
        // Each piece goes with a leading byte, so that none is empty: an
        // empty slice's address is 1, which Open MPI reads as MPI_IN_PLACE.
        let mut piece = Vec::with_capacity(chunk.min(bytes.len()) + 1);
        for round in 0..(longest as usize).div_ceil(chunk) {
            let at = |i: usize| (i * chunk).min(bytes.len());
            piece.clear();
            piece.push(0u8);
            piece.extend_from_slice(&bytes[at(round)..at(round + 1)]);
            let piece = &piece[..];
            let size = count(piece.len());
            if self.rank != 0 {
                root.gather_into(&size);
                root.gather_varcount_into(piece);
                continue;
            }
            let mut sizes = vec![0 as Count; k];
            root.gather_into_root(&size, &mut sizes[..]);
            let displs: Vec<Count> = sizes
                .iter()
                .scan(0, |acc, &s| {
                    let d = *acc;
                    *acc += s;
                    Some(d)
                })
                .collect();
            let total: usize = sizes.iter().map(|&s| s as usize).sum();
            let mut buf = vec![0u8; total];
            {
                let mut recv = PartitionMut::new(&mut buf[..], &sizes[..], &displs[..]);
                root.gather_varcount_into_root(piece, &mut recv);
            }
            for (r, out) in all.iter_mut().enumerate() {
                let d = displs[r] as usize;
                out.extend_from_slice(&buf[d + 1..d + sizes[r] as usize]);
            }
        }
        (self.rank == 0).then_some(all)
    }
}

/// Per rank (`steps` counts each): how many ids in all into `sizes`, where
/// they start into `displs`; the total.
fn prefix(counts: &[u32], steps: usize, sizes: &mut Vec<Count>, displs: &mut Vec<Count>) -> usize {
    sizes.clear();
    displs.clear();
    let mut total: usize = 0;
    for per_rank in counts.chunks(steps.max(1)) {
        let n: usize = per_rank.iter().map(|&c| c as usize).sum();
        displs.push(count(total));
        sizes.push(count(n));
        total += n;
    }
    count(total);
    total
}

/// `n` as MPI's element count: an interval's spikes of all ranks together
/// must stay below 2^31 (billions of spikes in a few steps: never, short
/// of a bug).
fn count(n: usize) -> Count {
    Count::try_from(n).expect("fewer than 2^31 spikes in one exchange interval")
}
