//! The inner loops of a step, compiled for the baseline CPU and again for
//! AVX2 and AVX-512, with the widest one the CPU has chosen at run time.
//!
//! Every version performs the same IEEE operations in the same order on each
//! neuron (Rust never fuses a multiply and an add on its own), so every
//! version gives the same bits; only the number of lanes differs. A kernel
//! that wants a fused multiply-add asks for one explicitly
//! ([`crate::model::Real::mul_add`]): it is fused on every version, an FMA
//! instruction in the AVX2 and AVX-512 ones (both are compiled with FMA, and
//! [`Isa::detect`] picks them only on a CPU that has it), the C library's
//! correctly rounded `fma` in the baseline one.

use crate::model::{Coefficients, Real};

/// The instruction sets lifsim has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Whatever the build targets (SSE2 on x86-64).
    Baseline,
    /// AVX2 with FMA (x86-64).
    Avx2,
    /// AVX-512F with FMA (x86-64).
    Avx512,
}

impl Isa {
    /// The widest instruction set this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            // The vector kernels are compiled with FMA as well (every CPU with
            // AVX2 or AVX-512 has it, but it is a separate CPUID bit).
            if !std::arch::is_x86_feature_detected!("fma") {
                return Isa::Baseline;
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }

    /// Every instruction set this CPU can run, narrowest first (for tests that
    /// check all paths give the same bits).
    pub fn available() -> Vec<Isa> {
        let best = Isa::detect();
        [Isa::Baseline, Isa::Avx2, Isa::Avx512]
            .into_iter()
            .filter(|&i| i as u8 <= best as u8)
            .collect()
    }
}

/// Defines `pub fn $name(isa, args...)` that runs `$body` compiled for `isa`:
/// the one place lifsim dispatches on the instruction set (the neuron
/// models' loops use it too, with const generic parameters).
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident<T: Real $(, const $c:ident: $ct:ty)*>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[inline]
        $vis fn $name<T: $crate::model::Real $(, const $c: $ct)*>(isa: $crate::engine::Isa, $($arg: $ty),*) {
            #[inline(always)]
            fn imp<T: $crate::model::Real $(, const $c: $ct)*>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            unsafe fn avx2<T: $crate::model::Real $(, const $c: $ct)*>($($arg: $ty),*) { imp::<T $(, $c)*>($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn avx512<T: $crate::model::Real $(, const $c: $ct)*>($($arg: $ty),*) { imp::<T $(, $c)*>($($arg),*) }
            match isa {
                // SAFETY: `Isa::detect` only returns what the CPU supports.
                #[cfg(target_arch = "x86_64")]
                $crate::engine::Isa::Avx2 => unsafe { avx2::<T $(, $c)*>($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                $crate::engine::Isa::Avx512 => unsafe { avx512::<T $(, $c)*>($($arg),*) },
                _ => imp::<T $(, $c)*>($($arg),*),
            }
        }
    };
}
pub(crate) use multiversion;

multiversion! {
    /// Sets `*all` to whether every value is finite (`x - x` is 0 exactly
    /// then, NaN for an infinity or a NaN). No early exit, so it vectorises:
    /// callers hand it chunks and look for the position only in a bad one.
    pub fn all_finite<T: Real>(values: &[T], all: &mut bool) {
        #[allow(clippy::eq_op)] // x - x is the test itself, not a typo
        let finite = |x: T| x - x == T::ZERO;
        *all = values.iter().fold(true, |ok, &x| ok & finite(x));
    }
}

multiversion! {
    /// `acc[i] += column[i]`: one spike's outgoing weights into the synaptic input.
    pub fn accumulate<T: Real>(acc: &mut [T], column: &[T]) {
        for (a, &w) in acc.iter_mut().zip(column) {
            *a = *a + w;
        }
    }
}

multiversion! {
    /// `acc[i] = w0[i] + w1[i]`: the input of two spikes.
    pub fn sum2<T: Real>(acc: &mut [T], w0: &[T], w1: &[T]) {
        for ((a, &x0), &x1) in acc.iter_mut().zip(w0).zip(w1) {
            *a = x0 + x1;
        }
    }
}

multiversion! {
    /// `acc[i] = (((acc[i] + w0[i]) + w1[i]) + w2[i]) + w3[i]`: four spikes'
    /// columns in one pass, the very sums of four [`accumulate`] passes in
    /// the same order (so the same bits), with the four columns streaming
    /// from memory at once and `acc` read and written once instead of four
    /// times.
    pub fn accumulate4<T: Real>(acc: &mut [T], w0: &[T], w1: &[T], w2: &[T], w3: &[T]) {
        let lanes = acc.iter_mut().zip(w0).zip(w1).zip(w2).zip(w3);
        for ((((a, &x0), &x1), &x2), &x3) in lanes {
            *a = (((*a + x0) + x1) + x2) + x3;
        }
    }
}

/// Lanes of the running maximum in [`block_lanes`] (a vector of float32 with AVX2).
const LANES: usize = 8;

/// The lane-wise maximum of `block`: lane `i` holds the largest of the
/// values at positions `i mod LANES`, NaNs passed over (NaN never crosses the
/// threshold; `-inf` where every value is NaN). One `max` instruction a
/// vector (`if x > m { x } else { m }`), so the block's threshold test is one
/// comparison of the lanes instead of a compare a vector and the packing of
/// their masks; reduced further, the block's bound for the next step.
#[inline(always)]
fn block_lanes<T: Real>(block: &[T]) -> [T; LANES] {
    let max = |m: T, x: T| if x > m { x } else { m };
    let mut top = [T::from_f64(f64::NEG_INFINITY); LANES];
    let mut chunks = block.chunks_exact(LANES);
    for c in &mut chunks {
        for (m, &x) in top.iter_mut().zip(c) {
            *m = max(*m, x);
        }
    }
    for (m, &x) in top.iter_mut().zip(chunks.remainder()) {
        *m = max(*m, x);
    }
    top
}

/// Whether any of `values` is at or above `thresh` (no early exit, so it
/// vectorises).
#[inline(always)]
fn any_at_or_above<T: Real>(values: &[T], thresh: T) -> bool {
    values.iter().fold(false, |any, &x| any | (x >= thresh))
}

/// Whether a block with upper bound `t` may have a neuron at `thresh` (a
/// NaN bound, unknown, may).
#[inline(always)]
#[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must answer yes
fn may_cross<T: Real>(t: T, thresh: T) -> bool {
    !(t < thresh)
}

/// Whether any of the upper bounds `bounds` may let a neuron reach `thresh`.
#[inline(always)]
fn may_reach<T: Real>(bounds: &[T], thresh: T) -> bool {
    bounds
        .iter()
        .fold(false, |any, &t| any | may_cross(t, thresh))
}

/// Replaces each block's upper bound `t` in `tops` by one of its voltages
/// after a step without synaptic input (`Coefficients::relax` with drive
/// `d` for every neuron), or by NaN where none is given. Blocks whose bound
/// is below the threshold then skip their test: on a silent network that is
/// most of the work left after the update itself.
///
/// The bound is `relax(t) + m`. In exact arithmetic `v + k((v_rest - v) + d)`
/// grows with `v` (0 < k <= 0.99), so `t` bounds every neuron. The rounding
/// of the four operations moves a result `g` by at most
/// `u(|g| + k(3|v_rest - v| + 2|d|))` to first order (`u` the unit
/// roundoff), and a neuron below `t` gains less from its larger
/// `|v_rest - v|` than the slope `1 - k` takes from it. So `g(v)` exceeds
/// `g(t)` by at most twice that error, taken at the largest `|g|` and
/// `|v_rest - t|` the bound is used for: `t` in `[v_rest - s, thresh + s]`
/// (else NaN), where `s = |v_rest| + |thresh| + |d| + 1`, so that
/// `|v_rest - t| <= 2s` and `|g| <= 5s`; the excess is then at most
/// `2.02u(|thresh| + 5s + k(6s + 2|d|))`, with `|thresh|` for the `|g|` of
/// a neuron about to cross. `m` is four times
/// the resulting bound (which covers second-order terms, rounding `m` to `T`
/// and the addition) plus 1e-30 for subnormal results. Carried over quiet
/// steps the bound tends to `v_rest + d + m / k`, 0.6 mV above the true
/// limit with the seed's constants in float32 (k = 1/2000), far closer in
/// float64; a bound that drifts up to the threshold only brings the test
/// back.
#[inline(always)]
fn quiet_bounds<T: Real>(tops: &mut [T], c: &Coefficients<T>, d: T) {
    let k = c.dt_over_tau.to_f64();
    let (v_rest, thresh) = (c.v_rest.to_f64(), c.v_thresh.to_f64());
    let s = v_rest.abs() + thresh.abs() + d.to_f64().abs() + 1.0;
    let usable = s.is_finite() && k > 0.0 && k <= 0.99;
    let u = match T::DTYPE {
        crate::model::Dtype::Float32 => f32::EPSILON as f64 / 2.0,
        crate::model::Dtype::Float64 => f64::EPSILON / 2.0,
    };
    let m = 8.08 * u * (thresh.abs() + 5.0 * s + k * (6.0 * s + 2.0 * d.to_f64().abs())) + 1e-30;
    let (lo, hi) = (T::from_f64(v_rest - s), T::from_f64(thresh + s));
    let (m, nan) = (T::from_f64(m), T::from_f64(f64::NAN));
    for t in tops.iter_mut() {
        let inside = *t >= lo && *t <= hi;
        *t = if usable && inside {
            c.relax(*t, d) + m
        } else {
            nan
        };
    }
}

/// The number of upper bounds the kernels keep for `n` neurons: one per
/// block (the last block may be short).
pub fn bounds_len(n: usize) -> usize {
    n.div_ceil(BLOCK)
}

/// The bound that covers neuron `i` (an index into those bounds).
pub fn bound_of(i: usize) -> usize {
    i / BLOCK
}

/// Neurons per block of the fused update-and-detect loops: 32 floats stay in
/// registers between the update and the threshold test.
pub(crate) const BLOCK: usize = 32;

/// Runs `update` on each block of `v`, then writes `offset + i` for every
/// updated `v[i] >= thresh` (ascending) into `ids` from `*count` on, and
/// advances `*count`. The threshold test takes the block's lane-wise
/// maximum, which vectorises; spikes are rare, so the per-neuron scan runs
/// seldom. `ids` is a slice with room for every neuron, not a `Vec`: a
/// `push` (a call, when it grows) in the loop made the compiler keep the
/// update's constants on the stack and reload them every iteration.
#[inline(always)]
fn update_blocks<T: Real>(
    v: &mut [T],
    thresh: T,
    offset: u32,
    ids: &mut [u32],
    count: &mut usize,
    mut update: impl FnMut(usize, &mut [T]),
) {
    let mut n = *count;
    // Whole blocks first, so the compiler sees a constant trip count and
    // unrolls; then the remainder.
    let whole = v.len() - v.len() % BLOCK;
    let mut blocks = v.chunks_exact_mut(BLOCK);
    for (b, block) in (&mut blocks).enumerate() {
        update(b * BLOCK, block);
        test_whole_block(block, thresh, offset + (b * BLOCK) as u32, ids, &mut n);
    }
    let rest = blocks.into_remainder();
    update(whole, rest);
    test_short_block(rest, thresh, offset + whole as u32, ids, &mut n);
    *count = n;
}

/// The threshold test of a block of [`BLOCK`] neurons (see
/// [`update_blocks`]), for loops that update the block themselves: writes
/// `offset + i` for every `block[i] >= thresh` to `ids` from `*n` on.
#[inline(always)]
pub(crate) fn test_whole_block<T: Real>(
    block: &[T],
    thresh: T,
    offset: u32,
    ids: &mut [u32],
    n: &mut usize,
) {
    if any_at_or_above(&block_lanes(block), thresh) {
        write_crossings(block, thresh, offset, ids, n);
    }
}

/// As [`test_whole_block`] for the last block, shorter than [`BLOCK`].
#[inline(always)]
pub(crate) fn test_short_block<T: Real>(
    block: &[T],
    thresh: T,
    offset: u32,
    ids: &mut [u32],
    n: &mut usize,
) {
    if any_at_or_above(block, thresh) {
        write_crossings(block, thresh, offset, ids, n);
    }
}

/// Writes `offset + i` for each `block[i] >= thresh` to `ids` from `*n` on
/// (`ids` has a slot for every neuron from `*n` on).
#[inline(always)]
pub(crate) fn write_crossings<T: Real>(
    block: &[T],
    thresh: T,
    offset: u32,
    ids: &mut [u32],
    n: &mut usize,
) {
    // Branch-free compaction: the slot is written always, kept if fired.
    for (i, &x) in block.iter().enumerate() {
        ids[*n] = offset + i as u32;
        *n += (x >= thresh) as usize;
    }
}

/// Writes the ids of `block`'s neurons at or above `thresh` and returns the
/// block's maximum (NaNs passed over): its bound for the next step.
#[inline(always)]
fn test_block<T: Real>(block: &[T], thresh: T, offset: u32, ids: &mut [u32], n: &mut usize) -> T {
    let mut top = block_lanes(block);
    if any_at_or_above(&top, thresh) {
        write_crossings(block, thresh, offset, ids, n);
    }
    // Halving, so that the reduction stays in vector registers.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            top[i] = if top[i + width] > top[i] {
                top[i + width]
            } else {
                top[i]
            };
        }
    }
    top[0]
}

multiversion! {
    /// The forward-Euler membrane update of every neuron with synaptic input
    /// and one external current for all (`Coefficients::euler`), then the
    /// threshold test: the ids at or above `v_thresh` are written to
    /// `ids[*fired..]` (room for every neuron) and counted in `*fired`.
    #[allow(clippy::too_many_arguments)] // the state, the input, and where spikes go
    pub fn integrate_constant<T: Real>(v: &mut [T], i_syn: &[T], i_ext: T, c: &Coefficients<T>, offset: u32, ids: &mut [u32], fired: &mut usize) {
        update_blocks(v, c.v_thresh, offset, ids, fired, |start, block| {
            let end = start + block.len();
            for (v, &s) in block.iter_mut().zip(&i_syn[start..end]) {
                *v = c.euler(*v, s, i_ext);
            }
        });
    }
}

multiversion! {
    /// As [`integrate_constant`] with one external current per neuron.
    #[allow(clippy::too_many_arguments)] // the state, the input, and where spikes go
    pub fn integrate_per_neuron<T: Real>(v: &mut [T], i_syn: &[T], i_ext: &[T], c: &Coefficients<T>, offset: u32, ids: &mut [u32], fired: &mut usize) {
        update_blocks(v, c.v_thresh, offset, ids, fired, |start, block| {
            let end = start + block.len();
            for ((v, &s), &e) in block.iter_mut().zip(&i_syn[start..end]).zip(&i_ext[start..end]) {
                *v = c.euler(*v, s, e);
            }
        });
    }
}

multiversion! {
    /// As [`integrate_constant`], taking the input in: each `i_syn[i]` is
    /// set to zero as it is read (a ring row of the network engine, left
    /// clean for its next use in the same pass).
    #[allow(clippy::too_many_arguments)] // the state, the input, and where spikes go
    pub fn take_constant<T: Real>(v: &mut [T], i_syn: &mut [T], i_ext: T, c: &Coefficients<T>, offset: u32, ids: &mut [u32], fired: &mut usize) {
        update_blocks(v, c.v_thresh, offset, ids, fired, |start, block| {
            let end = start + block.len();
            for (v, s) in block.iter_mut().zip(&mut i_syn[start..end]) {
                *v = c.euler(*v, *s, i_ext);
                *s = T::ZERO;
            }
        });
    }
}

multiversion! {
    /// As [`take_constant`] with one external current per neuron.
    #[allow(clippy::too_many_arguments)] // the state, the input, and where spikes go
    pub fn take_per_neuron<T: Real>(v: &mut [T], i_syn: &mut [T], i_ext: &[T], c: &Coefficients<T>, offset: u32, ids: &mut [u32], fired: &mut usize) {
        update_blocks(v, c.v_thresh, offset, ids, fired, |start, block| {
            let end = start + block.len();
            for ((v, s), &e) in block.iter_mut().zip(&mut i_syn[start..end]).zip(&i_ext[start..end]) {
                *v = c.euler(*v, *s, e);
                *s = T::ZERO;
            }
        });
    }
}

multiversion! {
    /// The update of a step without synaptic input, with one drive term
    /// `r * (0 + i_ext)` for all neurons (`Coefficients::relax`), then the
    /// threshold test of the blocks whose bound in `tops` (an upper bound of
    /// their voltages, carried through the step by `quiet_bounds`) may
    /// reach the threshold; each tested block stores its maximum. Two passes,
    /// the update over the whole slice first: a block-wise loop with a test
    /// that may be skipped made the compiler vectorise across blocks.
    #[allow(clippy::too_many_arguments)] // the state, where spikes go, and the bounds
    pub fn relax_constant<T: Real>(v: &mut [T], drive: T, c: &Coefficients<T>, offset: u32, ids: &mut [u32], fired: &mut usize, tops: &mut [T]) {
        for v in v.iter_mut() {
            *v = c.relax(*v, drive);
        }
        quiet_bounds(tops, c, drive);
        // Most steps of a quiet network test no block at all: one vectorised
        // look at the bounds instead of a branch per block.
        let thresh = c.v_thresh;
        if may_reach(tops, thresh) {
            let mut n = *fired;
            for (b, top) in tops.iter_mut().enumerate() {
                if may_cross(*top, thresh) {
                    let block = &v[b * BLOCK..((b + 1) * BLOCK).min(v.len())];
                    *top = test_block(block, thresh, offset + (b * BLOCK) as u32, ids, &mut n);
                }
            }
            *fired = n;
        }
    }
}

/// Writes `offset + i` for every `v[i] >= thresh` to `ids[*fired..]`, in
/// ascending order, counting them in `*fired`.
pub fn detect<T: Real>(v: &mut [T], thresh: T, offset: u32, ids: &mut [u32], fired: &mut usize) {
    update_blocks(v, thresh, offset, ids, fired, |_, _| {});
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LifParams;

    fn finite_on_every_isa<T: Real>(bad: T, edge: &[T]) {
        for isa in Isa::available() {
            let mut all = false;
            all_finite(isa, edge, &mut all);
            assert!(all, "{isa:?}: {edge:?} are all finite");
            // The bad value in every lane position of a vector and its tail.
            for k in 0..37 {
                let mut values = vec![T::ZERO; 37];
                values[k] = bad;
                all_finite(isa, &values, &mut all);
                assert!(!all, "{isa:?}: {bad:?} at {k} not found");
            }
        }
    }

    #[test]
    fn all_finite_finds_nan_and_infinity_on_every_isa() {
        let edge64 = [f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324, -0.0];
        let edge32 = [f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -0.0];
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            finite_on_every_isa(bad, &edge64);
        }
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            finite_on_every_isa(bad, &edge32);
        }
    }

    #[test]
    fn four_columns_at_once_are_four_passes() {
        let n = 1003;
        let col =
            |k: f64| -> Vec<f64> { (0..n).map(|i| ((i as f64 + k) * 0.7).sin() * 1e3).collect() };
        let (acc0, w) = (col(0.5), [col(1.0), col(2.0), col(3.0), col(4.0)]);
        let mut want = acc0.clone();
        for w in &w {
            accumulate(Isa::Baseline, &mut want, w);
        }
        for isa in Isa::available() {
            let mut got = acc0.clone();
            accumulate4(isa, &mut got, &w[0], &w[1], &w[2], &w[3]);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{isa:?}");
        }
    }

    #[test]
    fn every_isa_gives_the_same_bits() {
        let c = Coefficients::<f64>::new(&LifParams::default()).unwrap();
        let n = 1003;
        let v0: Vec<f64> = (0..n)
            .map(|i| -65.0 + (i as f64 * 0.37).sin() * 20.0)
            .collect();
        let syn: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos() * 300.0).collect();
        let ext: Vec<f64> = (0..n).map(|i| i as f64 * 0.01).collect();
        let mut results = Vec::new();
        for isa in Isa::available() {
            let mut v = v0.clone();
            let (mut ids, mut count) = (vec![0; 4 * n], 0);
            let mut tops = vec![f64::INFINITY; bounds_len(n)];
            integrate_per_neuron(isa, &mut v, &syn, &ext, &c, 7, &mut ids, &mut count);
            integrate_constant(isa, &mut v, &syn, 20.0, &c, 7, &mut ids, &mut count);
            relax_constant(
                isa,
                &mut v,
                1.0 * (0.0 + 20.0),
                &c,
                7,
                &mut ids,
                &mut count,
                &mut tops,
            );
            let zeros = vec![0.0; n];
            integrate_per_neuron(isa, &mut v, &zeros, &ext, &c, 7, &mut ids, &mut count);
            let mut acc = syn.clone();
            accumulate(isa, &mut acc, &ext);
            results.push((
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                acc,
                ids[..count].to_vec(),
            ));
        }
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
        // And the scalar formula, written out once more by hand.
        let mut v = v0[5];
        v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (syn[5] + ext[5]));
        v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (syn[5] + 20.0));
        v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (0.0 + 20.0));
        v = v + (0.01 / 20.0) * ((-v + -65.0) + ext[5]);
        assert_eq!(v.to_bits(), results[0].0[5]);
        assert!(!results[0].2.is_empty());
    }

    #[test]
    fn a_nan_never_hides_a_crossing() {
        // NaN (which never crosses) in every lane of one vector of a block,
        // the crossing in the same lane of a vector before or after it, or in
        // the block's tail.
        let c = Coefficients::<f64>::new(&LifParams::default()).unwrap();
        for (nans, at) in [
            (0..8, 11),
            (0..8, 27),
            (24..32, 3),
            (24..32, 19),
            (8..16, 33),
        ] {
            let mut v = vec![-70.0f64; 35];
            v[nans.clone()].fill(f64::NAN);
            v[at] = 0.0;
            let (mut ids, mut count) = (vec![0; 35], 0);
            detect(&mut v.clone(), -50.0, 0, &mut ids, &mut count);
            assert_eq!(
                ids[..count],
                [at as u32],
                "NaN at {nans:?}, crossing at {at}"
            );
            // And in the vectorised update of every instruction set.
            for isa in Isa::available() {
                count = 0;
                let mut tops = vec![f64::INFINITY; bounds_len(v.len())];
                relax_constant(
                    isa,
                    &mut v.clone(),
                    20.0,
                    &c,
                    0,
                    &mut ids,
                    &mut count,
                    &mut tops,
                );
                assert_eq!(
                    ids[..count],
                    [at as u32],
                    "{isa:?}: NaN at {nans:?}, crossing at {at}"
                );
            }
        }
        let mut v = vec![f32::NAN; 40];
        let (mut ids, mut count) = (vec![0; 40], 0);
        detect(&mut v, -50.0f32, 0, &mut ids, &mut count);
        assert_eq!(count, 0);
    }

    #[test]
    fn detect_finds_exactly_the_crossings() {
        let mut v: Vec<f32> = (0..100)
            .map(|i| if i % 17 == 3 { -50.0 } else { -50.5 })
            .collect();
        let (mut ids, mut count) = (vec![0; 100], 0);
        detect(&mut v, -50.0f32, 1000, &mut ids, &mut count);
        assert_eq!(ids[..count], [1003, 1020, 1037, 1054, 1071, 1088]);
        // Every neuron at threshold: the slice is exactly big enough.
        v.fill(-40.0);
        count = 0;
        detect(&mut v, -50.0f32, 0, &mut ids, &mut count);
        assert_eq!(count, 100);
        assert!(ids.iter().enumerate().all(|(i, &id)| id == i as u32));
    }
}
