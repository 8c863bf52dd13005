//! The exchange over MPI (feature `mpi`, the `mpi` crate on Open MPI or
//! MPICH): `MPI_Allgather` of each rank's per-step counts, then
//! `MPI_Allgatherv` of the ids, once per interval; or, with
//! [`Scheme::AllToAll`], `MPI_Alltoall` of the per-rank, per-step counts,
//! then `MPI_Alltoallv` of the ids. Overlapped with the steps
//! ([`Exchange::start`]), the same collectives in their non-blocking form
//! (`MPI_Iallgather`, ...), the second posted once the first has ended.

use std::sync::Mutex;

use mpi::collective::SystemOperation;
use mpi::datatype::{Partition, PartitionMut};
use mpi::environment::Universe;
use mpi::ffi;
use mpi::raw::AsRaw;
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
    /// The exchange [`Exchange::start`] posted, if any.
    flight: Flight,
    /// Dropped last (fields drop in order): `MPI_Finalize`.
    _universe: Universe,
}

/// A non-blocking exchange and the buffers MPI reads and writes until it
/// ends: none of them is resized while a request is posted.
struct Flight {
    stage: Stage,
    scheme: Scheme,
    steps: usize,
    request: ffi::MPI_Request,
    /// What this rank sends (copied, so that the caller can reuse its own).
    ids: Vec<u32>,
    counts: Vec<u32>,
    /// What it receives.
    got: Gathered,
}

/// Where a [`Flight`] stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// No exchange started.
    Idle,
    /// The counts' collective is posted.
    Counts,
    /// The ids' collective is posted.
    Ids,
    /// Both ended; [`Exchange::finish`] has not taken the result yet.
    Done,
}

/// The ranks of an MPI job (`mpirun -np K`), as an [`Exchange`].
pub struct MpiExchange {
    rank: usize,
    ranks: usize,
    /// Ranks on this node (`MPI_Comm_split_type` shared memory).
    local_ranks: usize,
    scheme: Scheme,
    overlap: bool,
    world: Mutex<World>,
}

// SAFETY: MPI is initialised at `MPI_THREAD_SERIALIZED` or above (checked in
// `init`), which allows calls from any thread provided no two are at the
// same time; every call goes through the mutex above.
unsafe impl Send for World {}

impl MpiExchange {
    /// Initialises MPI (`MPI_Init_thread`, serialised calls), the ranks to
    /// exchange spikes by `scheme`, overlapped with the steps if `overlap`
    /// ([`Exchange::overlap`]), or `None` where it was initialised already.
    pub fn init(scheme: Scheme, overlap: bool) -> Result<Option<Self>> {
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
            overlap,
            world: Mutex::new(World {
                comm,
                sizes: Vec::new(),
                displs: Vec::new(),
                send_sizes: Vec::new(),
                send_displs: Vec::new(),
                flight: Flight {
                    stage: Stage::Idle,
                    scheme,
                    steps: 0,
                    // SAFETY: a constant of the MPI library, read once.
                    request: unsafe { ffi::RSMPI_REQUEST_NULL },
                    ids: Vec::new(),
                    counts: Vec::new(),
                    got: Gathered::default(),
                },
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

    fn start(&self, scheme: Scheme, ids: &[u32], counts: &[u32]) {
        let world = &mut *self.lock();
        let (k, comm) = (self.ranks, world.comm.as_raw());
        let f = &mut world.flight;
        assert!(f.stage == Stage::Idle, "one exchange at a time");
        f.scheme = scheme;
        f.ids.clear();
        f.ids.extend_from_slice(ids);
        f.counts.clear();
        f.counts.extend_from_slice(counts);
        // Each per-rank block of counts is `steps` long.
        f.steps = match scheme {
            Scheme::AllGather => counts.len(),
            Scheme::AllToAll => counts.len() / k,
        };
        f.got.counts.resize(f.steps * k, 0);
        // No buffer without an allocation: Open MPI reads a dangling
        // pointer such as an empty Vec's as MPI_IN_PLACE.
        for v in [&mut f.ids, &mut f.counts, &mut f.got.counts] {
            v.reserve(1);
        }
        let steps = count(f.steps);
        // SAFETY: the buffers are the flight's, which keeps them unchanged
        // until the request ends (`advance`); MPI calls are serialised by
        // the lock held.
        unsafe {
            let t = ffi::RSMPI_UINT32_T;
            let (send, recv) = (f.counts.as_ptr().cast(), f.got.counts.as_mut_ptr().cast());
            match scheme {
                Scheme::AllGather => {
                    let n = count(f.counts.len());
                    ffi::MPI_Iallgather(send, n, t, recv, steps, t, comm, &mut f.request)
                }
                Scheme::AllToAll => {
                    ffi::MPI_Ialltoall(send, steps, t, recv, steps, t, comm, &mut f.request)
                }
            };
        }
        f.stage = Stage::Counts;
    }

    fn progress(&self) {
        let world = &mut *self.lock();
        if matches!(world.flight.stage, Stage::Counts | Stage::Ids) {
            world.advance(false);
        }
    }

    fn finish(&self, out: &mut Gathered) {
        let world = &mut *self.lock();
        assert!(world.flight.stage != Stage::Idle, "an exchange was started");
        world.advance(true);
        let f = &mut world.flight;
        std::mem::swap(&mut out.ids, &mut f.got.ids);
        std::mem::swap(&mut out.counts, &mut f.got.counts);
        out.index(f.steps);
        f.stage = Stage::Idle;
    }

    fn scheme(&self) -> Scheme {
        self.scheme
    }

    fn overlap(&self) -> bool {
        self.overlap
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

impl World {
    /// Moves the posted exchange on as far as it goes without waiting (or,
    /// with `wait`, to its end): once the counts have arrived, posts the
    /// ids' collective.
    fn advance(&mut self, wait: bool) {
        let World {
            comm,
            sizes,
            displs,
            send_sizes,
            send_displs,
            flight: f,
            ..
        } = self;
        loop {
            match f.stage {
                Stage::Idle | Stage::Done => return,
                Stage::Counts | Stage::Ids if !ended(&mut f.request, wait) => return,
                Stage::Ids => f.stage = Stage::Done,
                Stage::Counts => {
                    let total = prefix(&f.got.counts, f.steps, sizes, displs);
                    f.got.ids.resize(total, 0);
                    f.got.ids.reserve(1);
                    // SAFETY: as in `start`; `sizes` and `displs` are not
                    // changed until this request ends either.
                    unsafe {
                        let t = ffi::RSMPI_UINT32_T;
                        let recv = f.got.ids.as_mut_ptr().cast();
                        let (rs, rd) = (sizes.as_ptr(), displs.as_ptr());
                        let send = f.ids.as_ptr().cast();
                        match f.scheme {
                            Scheme::AllGather => {
                                let n = count(f.ids.len());
                                let c = comm.as_raw();
                                ffi::MPI_Iallgatherv(send, n, t, recv, rs, rd, t, c, &mut f.request)
                            }
                            Scheme::AllToAll => {
                                prefix(&f.counts, f.steps, send_sizes, send_displs);
                                let (ss, sd) = (send_sizes.as_ptr(), send_displs.as_ptr());
                                let c = comm.as_raw();
                                ffi::MPI_Ialltoallv(
                                    send,
                                    ss,
                                    sd,
                                    t,
                                    recv,
                                    rs,
                                    rd,
                                    t,
                                    c,
                                    &mut f.request,
                                )
                            }
                        };
                    }
                    f.stage = Stage::Ids;
                }
            }
        }
    }
}

/// Whether the posted `request` has ended (with `wait`: once it has).
fn ended(request: &mut ffi::MPI_Request, wait: bool) -> bool {
    // SAFETY: `request` was posted and not yet completed; MPI sets it to
    // MPI_REQUEST_NULL when it completes.
    unsafe {
        if wait {
            ffi::MPI_Wait(request, ffi::RSMPI_STATUS_IGNORE);
            return true;
        }
        let mut flag = 0;
        ffi::MPI_Test(request, &mut flag, ffi::RSMPI_STATUS_IGNORE);
        flag != 0
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
