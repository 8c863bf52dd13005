//! The current-based LIF neuron with delta and exponential synapses, the
//! dynamics of three models: `lif_euler` (forward Euler, the seed's method),
//! `iaf_psc_delta` and `iaf_psc_exp` (NEST's exact propagators). They differ
//! only in the integration and in which synapses they accept, so they share
//! this loop.
//!
//! Over step `k`, for a neuron that is not refractory:
//! - exact: `y = y P22 + sum_c I_c P21_c + i_ext P20 + J` (NEST's
//!   `iaf_psc_exp`/`iaf_psc_delta` propagators, `y = V - v_rest`);
//! - Euler: `V = V + dt/tau_m ((-V + v_rest) + r (i_ext + sum_c I_c)) + J`;
//!
//! where `I_c` are the exponential currents after taking in what arrives at
//! `t_k`, and `J` the delta jumps arriving at `t_{k+1}`. A refractory neuron
//! keeps `v_reset` and loses its delta input (NEST's `iaf_psc_delta`). Then
//! `I_c *= P11_c`.
//!
//! Under Euler an exponential current with `tau_syn = dt` is gone after its
//! step (`P11 = 1 - dt/tau_syn = 0`): alone, it holds no state and its
//! arrivals are used once (the seed's `I_syn = W @ fired`). A population
//! with only such a current (or none) and no delta jumps is the seed's
//! neuron, and the seed's kernels (`engine::kernel`: voltage bounds that
//! let quiet steps skip the threshold test, the input taken in as it is
//! read) update it; held neurons are put back at `v_reset` after them.

use super::{Block, Current, Dynamics, Receptor, State, StepIo};
use crate::engine::kernel::{self, multiversion};
use crate::engine::Isa;
use crate::model::{Coefficients, Real};
use crate::network::description::Population;
use crate::synapses::{self, SynapseKind};

/// The constants of one population.
pub(super) struct Psc<T> {
    model: &'static str,
    exact: bool,
    /// `V = y + offset` (`v_rest` for exact integration, 0 for Euler).
    offset: f64,
    p22: T,
    p20: T,
    dt_over_tau: T,
    v_rest: T,
    r: T,
    theta: T,
    reset: T,
    /// The receptor whose weights are jumps of the potential, if any.
    jump: Option<usize>,
    /// Under Euler, the one exponential receptor whose current lasts a
    /// single step (`tau_syn = dt`: it decays by `1 - dt/tau_syn = 0`), if
    /// it is the only one: it holds no state, its arrivals at `t_k` are
    /// read from the ring and used once (the seed's `I_syn = W @ fired`).
    instant: Option<usize>,
    /// Set where the population is the seed's neuron (Euler, no state but
    /// `y`, no jumps): the constants of the seed's kernels, which then do
    /// the update (`update_seed`).
    seed: Option<Coefficients<T>>,
    /// The exponential receptors: (receptor index, P21, P11); their currents
    /// are the state arrays after `y`, in this order.
    exp: Vec<(usize, T, T)>,
    names: Vec<String>,
}

impl<T: Real> Psc<T> {
    /// [`Psc::new`], boxed as the dynamics of model `model`.
    pub(super) fn boxed(
        model: &'static str,
        exact: bool,
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Box<dyn Dynamics<T>> {
        Box::new(Self::new(model, exact, p, dt, receptors))
    }

    /// `exact`: NEST's propagators; otherwise forward Euler.
    pub(super) fn new(
        model: &'static str,
        exact: bool,
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Self {
        let offset = if exact { p.v_rest } else { 0.0 };
        let mut names = vec!["y".to_string()];
        let mut exp = Vec::new();
        let mut jump = None;
        for (k, rec) in receptors.iter().enumerate() {
            match rec.kind {
                SynapseKind::Exponential { tau_syn } => {
                    let (p21, p11) = if exact {
                        (
                            synapses::p_synaptic(dt, p.tau_m, tau_syn, p.r),
                            synapses::decay(dt, tau_syn),
                        )
                    } else {
                        (0.0, 1.0 - dt / tau_syn)
                    };
                    exp.push((k, T::from_f64(p21), T::from_f64(p11)));
                    names.push(format!("isyn{}", rec.channel));
                }
                // Every delta channel is the same channel (one kind, no constants).
                _ => jump = Some(k),
            }
        }
        // A current that is gone after its step needs no state array.
        let instant = match exp.as_slice() {
            [(k, _, p11)] if !exact && *p11 == T::ZERO => Some(*k),
            _ => None,
        };
        if instant.is_some() {
            exp.clear();
            names.truncate(1);
        }
        let dt_over_tau = T::from_f64(dt) / T::from_f64(p.tau_m);
        let seed = (!exact && exp.is_empty() && jump.is_none()).then(|| Coefficients {
            dt_over_tau,
            v_rest: T::from_f64(p.v_rest),
            v_reset: T::from_f64(p.v_reset),
            v_thresh: T::from_f64(p.v_thresh),
            r: T::from_f64(p.r),
            // The engine holds refractory neurons (`until`), not the kernels.
            refractory_steps: 0,
        });
        Self {
            model,
            exact,
            offset,
            p22: T::from_f64(synapses::decay(dt, p.tau_m)),
            p20: T::from_f64(synapses::p_current(dt, p.tau_m, p.r)),
            dt_over_tau,
            v_rest: T::from_f64(p.v_rest - offset),
            r: T::from_f64(p.r),
            theta: T::from_f64(p.v_thresh - offset),
            reset: T::from_f64(p.v_reset - offset),
            jump,
            instant,
            seed,
            exp,
            names,
        }
    }
}

impl<T: Real> Dynamics<T> for Psc<T> {
    fn model(&self) -> &'static str {
        self.model
    }

    fn state_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn initial(&self, v: f64) -> T {
        T::from_f64(v - self.offset)
    }

    fn voltage(&self, x: T) -> f64 {
        x.to_f64() + self.offset
    }

    fn reset(&self) -> T {
        self.reset
    }

    fn update(&self, mut state: State<'_, T>, io: &mut StepIo<'_, T>) {
        if let Some(c) = &self.seed {
            let [y] = state.arrays([0]);
            return self.update_seed(c, y, io);
        }
        match self.exp.len() {
            0 => {
                let [y] = state.arrays([0]);
                self.update_fused(y, [None, None], io);
            }
            1 => {
                let [y, i0] = state.arrays([0, 1]);
                self.update_fused(y, [Some(i0), None], io);
            }
            2 => {
                let [y, i0, i1] = state.arrays([0, 1, 2]);
                self.update_fused(y, [Some(i0), Some(i1)], io);
            }
            _ => self.update_in_passes(state, io),
        }
    }

    fn lists_held(&self) -> bool {
        self.seed.is_some()
    }

    fn quiet_steps(&self) -> bool {
        self.seed.is_some()
    }

    /// The seed's neuron on a step without input: `update_seed`'s quiet
    /// branch (relaxation with carried bounds), then the clamp.
    fn update_quiet(&self, mut state: State<'_, T>, i_ext: T, io: &mut Block<'_, T>) {
        let c = self
            .seed
            .as_ref()
            .expect("quiet steps are the seed's neuron's");
        let [y] = state.arrays([0]);
        let drive = c.r * (T::ZERO + i_ext);
        kernel::relax_constant(
            io.isa,
            y,
            drive,
            c,
            io.base,
            io.ids,
            &mut io.count,
            io.bounds,
        );
        if !io.held.is_empty() {
            self.clamp_held(y, io);
        }
    }

    fn direct_input(&self, r: usize) -> Option<usize> {
        self.exp.iter().position(|e| e.0 == r).map(|k| k + 1)
    }
}

impl<T: Real> Psc<T> {
    /// The seed's neuron, by the seed's kernels (`engine::kernel`): a step
    /// without input relaxes every neuron towards `v_rest + r i_ext` and
    /// tests only the blocks whose bound may reach the threshold; a step
    /// with input (the instant current's row) integrates it and tests every
    /// block. The same operations as the fused loop, in the same order, so
    /// the same bits. Held neurons are then put back at `v_reset` (and
    /// dropped from the spikes), as the seed's clamp does.
    fn update_seed(&self, c: &Coefficients<T>, y: &mut [T], io: &mut StepIo<'_, T>) {
        // The seed resets the neurons whose spikes this step delivers before
        // its update (their potentials were left at threshold, see
        // `Segment::spike`); the update's result for them is then clamped
        // anyway, but from `v_reset` the kernels do not find them again.
        let (now, until) = (io.block.now, io.block.until);
        for &i in io.block.held {
            if now < until[i as usize] {
                y[i as usize] = self.reset;
            }
        }
        let arriving = self.instant.is_some_and(|s| io.arrivals.fresh(s));
        let (isa, base) = (io.block.isa, io.block.base);
        let (ids, count) = (&mut *io.block.ids, &mut io.block.count);
        let carried = match (arriving, io.current) {
            (false, Current::Uniform(e)) => {
                let drive = c.r * (T::ZERO + e);
                kernel::relax_constant(isa, y, drive, c, base, ids, count, io.block.bounds);
                true
            }
            (true, current) => {
                if let Some(input) = self.instant.and_then(|r| io.arrivals.lent(r)) {
                    // One spike's column of the seed's dense weights, read
                    // in place, as the seed's own step reads it.
                    match current {
                        Current::Uniform(e) => {
                            kernel::integrate_constant(isa, y, input, e, c, base, ids, count)
                        }
                        Current::PerNeuron(e) => {
                            kernel::integrate_per_neuron(isa, y, input, e, c, base, ids, count)
                        }
                    }
                } else {
                    let [row] = io.arrivals.rows([self.instant]);
                    let input = row.expect("the instant row");
                    match current {
                        Current::Uniform(e) => {
                            kernel::take_constant(isa, y, input, e, c, base, ids, count)
                        }
                        Current::PerNeuron(e) => {
                            kernel::take_per_neuron(isa, y, input, e, c, base, ids, count)
                        }
                    }
                }
                false
            }
            (false, Current::PerNeuron(e)) => {
                // No input: a row of zeros (a clean row holds zeros), so
                // `euler(v, 0, e)` is the seed's `relax(v, r (0 + e))`.
                let [row] = io.arrivals.rows([self.instant]);
                let zeros = match row {
                    Some(row) => row,
                    None => {
                        io.scratch.fill(T::ZERO);
                        &mut *io.scratch
                    }
                };
                kernel::take_per_neuron(isa, y, zeros, e, c, base, ids, count);
                false
            }
        };
        // Only a quiet step with one drive for all carries the bounds; after
        // any other each neuron has moved its own way, and the next quiet
        // step finds them again by testing.
        if !carried {
            io.block.bounds.fill(T::from_f64(f64::INFINITY));
        }
        if !io.block.held.is_empty() {
            self.clamp_held(y, &mut io.block);
        }
    }

    /// The seed's clamp after its kernels: the neurons `block` holds back
    /// at `v_reset` (raising their blocks' bounds where that is above them)
    /// and dropped from its ids at threshold, which the kernels found
    /// before the clamp.
    fn clamp_held(&self, y: &mut [T], block: &mut Block<'_, T>) {
        for &i in block.held {
            let i = i as usize;
            if block.now < block.until[i] {
                y[i] = self.reset;
                // Clamping may raise a neuron (one below v_reset): keep
                // its block's bound above it.
                let top = &mut block.bounds[kernel::bound_of(i)];
                if self.reset > *top {
                    *top = self.reset;
                }
            }
        }
        let mut kept = 0;
        for k in 0..block.count {
            let id = block.ids[k];
            if y[(id - block.base) as usize] >= self.theta {
                block.ids[kept] = id;
                kept += 1;
            }
        }
        block.count = kept;
    }

    /// Up to two exponential channels: one fused pass (arrivals, membrane,
    /// decay, threshold).
    fn update_fused(&self, y: &mut [T], isyn: [Option<&mut [T]>; 2], io: &mut StepIo<'_, T>) {
        let arriving = self.exp.iter().any(|e| io.arrivals.fresh(e.0))
            || self.instant.is_some_and(|s| io.arrivals.fresh(s));
        let jumping = self.jump.is_some_and(|j| io.arrivals.fresh(j));
        let c = |k: usize| self.exp.get(k).map_or((T::ZERO, T::ZERO), |e| (e.1, e.2));
        let (p21, p11) = ([c(0).0, c(1).0], [c(0).1, c(1).1]);
        // With no exponential channel, the first arriving row is the instant one's.
        let e0 = self.exp.first().map(|e| e.0).or(self.instant);
        let e1 = self.exp.get(1).map(|e| e.0);
        let [r0, r1, rd] = io.arrivals.rows([
            e0.filter(|_| arriving),
            e1.filter(|_| arriving),
            self.jump.filter(|_| jumping),
        ]);
        let (i_const, i_ext) = match io.current {
            Current::Uniform(x) => (Some(x), &[][..]),
            Current::PerNeuron(v) => (None, v),
        };
        let job = Job {
            c: self,
            p21,
            p11,
            i_const,
            lanes: Lanes {
                y,
                until: io.block.until,
                now: io.block.now,
                i_ext,
                isyn,
                arriving: [r0, r1],
                jumps: rd,
            },
            base: io.block.base,
            ids: io.block.ids,
            count: &mut io.block.count,
        };
        fused(io.block.isa, job);
    }

    /// Many synapse time constants: one pass per channel, then the threshold.
    fn update_in_passes(&self, mut state: State<'_, T>, io: &mut StepIo<'_, T>) {
        for (k, &(r, _, _)) in self.exp.iter().enumerate() {
            let [i] = state.arrays([k + 1]);
            let [row, ..] = io.arrivals.rows([Some(r)]);
            for (i, a) in i.iter_mut().zip(row.expect("a row").iter_mut()) {
                *i = *i + *a;
                *a = T::ZERO;
            }
        }
        let acc = &mut *io.scratch;
        let i_ext = |k: usize| match io.current {
            Current::Uniform(x) => x,
            Current::PerNeuron(v) => v[k],
        };
        // Each pass is a plain loop over arrays, so it vectorises; the sums are
        // formed in NEST's order (V P22 + I_ex P21ex + I_in P21in + I_e P20).
        if self.exact {
            let [y] = state.arrays([0]);
            for (a, &y) in acc.iter_mut().zip(y.iter()) {
                *a = y * self.p22;
            }
            for (k, &(_, p21, _)) in self.exp.iter().enumerate() {
                let [i] = state.arrays([k + 1]);
                for (a, &i) in acc.iter_mut().zip(i.iter()) {
                    *a = *a + i * p21;
                }
            }
            for (k, a) in acc.iter_mut().enumerate() {
                *a = *a + i_ext(k) * self.p20;
            }
        } else {
            for (k, a) in acc.iter_mut().enumerate() {
                *a = i_ext(k);
            }
            for k in 0..self.exp.len() {
                let [i] = state.arrays([k + 1]);
                for (a, &i) in acc.iter_mut().zip(i.iter()) {
                    *a = *a + i;
                }
            }
            let [y] = state.arrays([0]);
            for (a, &y) in acc.iter_mut().zip(y.iter()) {
                *a = y + self.dt_over_tau * ((-y + self.v_rest) + self.r * *a);
            }
        }
        let now = io.block.now;
        let [jumps] = io.arrivals.rows([self.jump]);
        let [y] = state.arrays([0]);
        match jumps {
            Some(jumps) => {
                for (((y, &u), &a), j) in
                    y.iter_mut().zip(io.block.until).zip(acc.iter()).zip(jumps)
                {
                    *y = if now >= u { a + *j } else { self.reset };
                    *j = T::ZERO;
                }
            }
            None => {
                for ((y, &u), &a) in y.iter_mut().zip(io.block.until).zip(acc.iter()) {
                    *y = if now >= u { a } else { self.reset };
                }
            }
        }
        for (k, &(_, _, p11)) in self.exp.iter().enumerate() {
            let [i] = state.arrays([k + 1]);
            for i in i.iter_mut() {
                *i = *i * p11;
            }
        }
        let [y] = state.arrays([0]);
        kernel::detect(
            y,
            self.theta,
            io.block.base,
            io.block.ids,
            &mut io.block.count,
        );
    }
}

/// The arrays one fused pass updates.
struct Lanes<'a, T> {
    y: &'a mut [T],
    until: &'a [f64],
    /// The step number.
    now: f64,
    /// Per-neuron external current (used when the population's is not uniform).
    i_ext: &'a [T],
    /// Up to two exponential channels' currents...
    isyn: [Option<&'a mut [T]>; 2],
    /// ...and what arrives in them at `t_k` (`None`: nothing).
    arriving: [Option<&'a mut [T]>; 2],
    /// The delta channel's jumps arriving at `t_{k+1}` (`None`: none).
    jumps: Option<&'a mut [T]>,
}

/// One fused pass: the constants and the arrays.
struct Job<'a, T> {
    c: &'a Psc<T>,
    p21: [T; 2],
    p11: [T; 2],
    /// The external current when the same for every neuron of the population.
    i_const: Option<T>,
    lanes: Lanes<'a, T>,
    /// Global id of the first neuron.
    base: u32,
    /// Where the ids of the neurons at threshold go (one slot per neuron)...
    ids: &'a mut [u32],
    /// ...and how many there are.
    count: &'a mut usize,
}

/// The update in one pass, specialised for what the population has
/// (integration, number of exponential channels, arrivals, jumps, uniform
/// current) and compiled for the widest instruction set the CPU has. Every
/// version does the same IEEE operations in the same order, so all give the
/// same bits.
fn fused<T: Real>(isa: Isa, job: Job<'_, T>) {
    if job.c.exact {
        by_channels::<T, true>(isa, job)
    } else {
        by_channels::<T, false>(isa, job)
    }
}

fn by_channels<T: Real, const X: bool>(isa: Isa, job: Job<'_, T>) {
    match job.lanes.isyn.iter().filter(|x| x.is_some()).count() {
        0 => by_jumps::<T, X, 0>(isa, job),
        1 => by_jumps::<T, X, 1>(isa, job),
        _ => by_jumps::<T, X, 2>(isa, job),
    }
}

fn by_jumps<T: Real, const X: bool, const E: usize>(isa: Isa, job: Job<'_, T>) {
    match (job.lanes.jumps.is_some(), job.lanes.arriving[0].is_some()) {
        (true, true) => by_current::<T, X, E, true, true>(isa, job),
        (true, false) => by_current::<T, X, E, true, false>(isa, job),
        (false, true) => by_current::<T, X, E, false, true>(isa, job),
        (false, false) => by_current::<T, X, E, false, false>(isa, job),
    }
}

fn by_current<T: Real, const X: bool, const E: usize, const D: bool, const A: bool>(
    isa: Isa,
    job: Job<'_, T>,
) {
    if job.i_const.is_some() {
        fused_impl::<T, X, E, D, A, false>(isa, job)
    } else {
        fused_impl::<T, X, E, D, A, true>(isa, job)
    }
}

multiversion! {
    /// The loop itself: `X` exact (else Euler), `E` exponential channels, `D`
    /// delta jumps, `A` arrivals in the exponential channels (with `E = 0`: in the instant one), `I` per-neuron current.
    fn fused_impl<T: Real, const X: bool, const E: usize, const D: bool, const A: bool, const I: bool>(job: Job<'_, T>) {
        let Job {
            c,
            p21,
            p11,
            i_const,
            lanes,
            base,
            ids,
            count: fired_count,
        } = job;
        // Constants in locals: read through `c` they could alias the arrays
        // written below, which would stop the loop from vectorising.
        let (p22, p20, dt_over_tau, v_rest, r, reset, theta) =
            (c.p22, c.p20, c.dt_over_tau, c.v_rest, c.r, c.reset, c.theta);
        let n = lanes.y.len();
        let y = &mut lanes.y[..n];
        let until = &lanes.until[..n];
        let now = lanes.now;
        let i_ext = if I { &lanes.i_ext[..n] } else { lanes.i_ext };
        let i_const = i_const.unwrap_or(T::ZERO);
        // Slices of length n where used, empty where not (never indexed then).
        let mut empty: [[T; 0]; 5] = [[], [], [], [], []];
        let [e0, e1, e2, e3, e4] = &mut empty;
        let [i0, i1] = lanes.isyn;
        let [a0, a1] = lanes.arriving;
        let i0 = i0.unwrap_or(e0);
        let i1 = i1.unwrap_or(e1);
        let a0 = a0.unwrap_or(e2);
        let a1 = a1.unwrap_or(e3);
        let jumps = lanes.jumps.unwrap_or(e4);
        let i0 = if E >= 1 { &mut i0[..n] } else { i0 };
        let i1 = if E >= 2 { &mut i1[..n] } else { i1 };
        let a0 = if A { &mut a0[..n] } else { a0 };
        let a1 = if A && E >= 2 { &mut a1[..n] } else { a1 };
        let jumps = if D { &mut jumps[..n] } else { jumps };
        let ids = &mut ids[..n];
        let mut count = 0;
        // Blocks of neurons: each block's loop also tells whether any neuron of
        // the block crossed threshold, so only those (few) blocks are scanned.
        const BLOCK: usize = 64;
        let mut start = 0;
        while start < n {
            let end = (start + BLOCK).min(n);
            // A count, not a bool: it vectorises to one subtraction per lane.
            let mut hits = 0u64;
            for i in start..end {
                let mut cur = [T::ZERO; 2];
                if E >= 1 {
                    cur[0] = i0[i];
                    if A {
                        cur[0] = cur[0] + a0[i];
                        a0[i] = T::ZERO;
                    }
                }
                if E >= 2 {
                    cur[1] = i1[i];
                    if A {
                        cur[1] = cur[1] + a1[i];
                        a1[i] = T::ZERO;
                    }
                }
                let ext = if I { i_ext[i] } else { i_const };
                let old = y[i];
                let mut v = if X {
                    let mut acc = old * p22;
                    if E >= 1 {
                        acc = acc + cur[0] * p21[0];
                    }
                    if E >= 2 {
                        acc = acc + cur[1] * p21[1];
                    }
                    acc + ext * p20
                } else {
                    let mut current = ext;
                    if E == 0 && A {
                        // The instant current: what arrives, used once.
                        current = current + a0[i];
                        a0[i] = T::ZERO;
                    }
                    if E >= 1 {
                        current = current + cur[0];
                    }
                    if E >= 2 {
                        current = current + cur[1];
                    }
                    old + dt_over_tau * ((-old + v_rest) + r * current)
                };
                if D {
                    v = v + jumps[i];
                    jumps[i] = T::ZERO;
                }
                let free = now >= until[i];
                // A refractory neuron sits at v_reset (it was put there when it
                // spiked); writing v_reset rather than keeping the old value lets the
                // compiler blend instead of using a masked store (slow on AMD).
                y[i] = if free { v } else { reset };
                if E >= 1 {
                    i0[i] = cur[0] * p11[0];
                }
                if E >= 2 {
                    i1[i] = cur[1] * p11[1];
                }
                hits += (y[i] >= theta) as u64;
            }
            if hits != 0 {
                kernel::write_crossings(&y[start..end], theta, base + start as u32, ids, &mut count);
            }
            start = end;
        }
        *fired_count = count;
    }
}
