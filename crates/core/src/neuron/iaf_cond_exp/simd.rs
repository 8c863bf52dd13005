//! The fused step of `iaf_cond_exp` with two channels and one external
//! current for all, in `f64`, written with explicit AVX-512 and AVX2
//! instructions: one pass per vector of neurons (take in, `nx` and `y`, the
//! conductances' decay, `φ` by the polynomial, the step of `V`, the
//! refractory hold, the threshold's running maximum), all in registers.
//!
//! Why not the compiler's vectorisation of [`super::step`]: `φ` comes from
//! the polynomial only within its bound, and a loop with a branch in it does
//! not vectorise, so that loop makes two passes over each block (`nx` and
//! `y` to the stack and back, then the potential) and its loads and stores
//! cost as much as the arithmetic. Here the rare lane outside the bound
//! takes a branch of its own after its vector is computed. The operations
//! are those of the scalar path, in the same order (each `mul_add` a fused
//! multiply-add, `min` and `max` as the comparisons of [`super::advance`]
//! and `kernel::block_lanes`), so the bits are the same on every path
//! (`the_vector_step_is_the_scalar_step_bit_for_bit`).

use super::{phi_exact, step, Block, Free, Input, Out};
use crate::engine::kernel::{self, Isa, BLOCK};
use crate::model::Real;

/// The vector operations the step needs, one implementation per
/// instruction set. Every method is `unsafe`: the CPU must have the
/// instruction set ([`Isa::detect`]).
trait Ops {
    /// `f64` lanes per vector.
    const LANES: usize;
    type V: Copy;
    unsafe fn splat(x: f64) -> Self::V;
    unsafe fn load(p: *const f64) -> Self::V;
    unsafe fn store(p: *mut f64, x: Self::V);
    /// `a * b + c`, rounded once.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn mul(a: Self::V, b: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// `if a < b { a } else { b }` lane by lane.
    unsafe fn min(a: Self::V, b: Self::V) -> Self::V;
    /// `if a > b { a } else { b }` lane by lane.
    unsafe fn max(a: Self::V, b: Self::V) -> Self::V;
    /// Whether every lane has `lo <= x && x <= hi` (false for NaN).
    unsafe fn all_within(x: Self::V, lo: Self::V, hi: Self::V) -> bool;
    /// Whether any lane has `x >= t`.
    unsafe fn any_at_or_above(x: Self::V, t: Self::V) -> bool;
    /// `if now >= until { next } else { reset }` lane by lane.
    unsafe fn hold(now: Self::V, until: Self::V, next: Self::V, reset: Self::V) -> Self::V;
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Ops;
    use std::arch::x86_64::*;

    /// AVX-512F with FMA: eight lanes.
    pub(super) struct Avx512;
    /// AVX2 with FMA: four lanes.
    pub(super) struct Avx2;

    impl Ops for Avx512 {
        const LANES: usize = 8;
        type V = __m512d;
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn splat(x: f64) -> __m512d {
            _mm512_set1_pd(x)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn load(p: *const f64) -> __m512d {
            _mm512_loadu_pd(p)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn store(p: *mut f64, x: __m512d) {
            _mm512_storeu_pd(p, x)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn fma(a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            _mm512_fmadd_pd(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn mul(a: __m512d, b: __m512d) -> __m512d {
            _mm512_mul_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn add(a: __m512d, b: __m512d) -> __m512d {
            _mm512_add_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn min(a: __m512d, b: __m512d) -> __m512d {
            _mm512_min_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn max(a: __m512d, b: __m512d) -> __m512d {
            _mm512_max_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn all_within(x: __m512d, lo: __m512d, hi: __m512d) -> bool {
            let m = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, lo) & _mm512_cmp_pd_mask::<_CMP_LE_OQ>(x, hi);
            m == 0xff
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn any_at_or_above(x: __m512d, t: __m512d) -> bool {
            _mm512_cmp_pd_mask::<_CMP_GE_OQ>(x, t) != 0
        }
        #[inline]
        #[target_feature(enable = "avx512f,fma")]
        unsafe fn hold(now: __m512d, until: __m512d, next: __m512d, reset: __m512d) -> __m512d {
            let free = _mm512_cmp_pd_mask::<_CMP_GE_OQ>(now, until);
            _mm512_mask_blend_pd(free, reset, next)
        }
    }

    impl Ops for Avx2 {
        const LANES: usize = 4;
        type V = __m256d;
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn splat(x: f64) -> __m256d {
            _mm256_set1_pd(x)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn load(p: *const f64) -> __m256d {
            _mm256_loadu_pd(p)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn store(p: *mut f64, x: __m256d) {
            _mm256_storeu_pd(p, x)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fma(a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            _mm256_fmadd_pd(a, b, c)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn mul(a: __m256d, b: __m256d) -> __m256d {
            _mm256_mul_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn add(a: __m256d, b: __m256d) -> __m256d {
            _mm256_add_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn min(a: __m256d, b: __m256d) -> __m256d {
            _mm256_min_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn max(a: __m256d, b: __m256d) -> __m256d {
            _mm256_max_pd(a, b)
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn all_within(x: __m256d, lo: __m256d, hi: __m256d) -> bool {
            let m = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(x, lo),
                _mm256_cmp_pd::<_CMP_LE_OQ>(x, hi),
            );
            _mm256_movemask_pd(m) == 0xf
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn any_at_or_above(x: __m256d, t: __m256d) -> bool {
            _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GE_OQ>(x, t)) != 0
        }
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn hold(now: __m256d, until: __m256d, next: __m256d, reset: __m256d) -> __m256d {
            let free = _mm256_cmp_pd::<_CMP_GE_OQ>(now, until);
            _mm256_blendv_pd(reset, next, free)
        }
    }
}

/// The constants of a step, as `f64`.
#[derive(Clone, Copy)]
struct Params {
    nx_leak: f64,
    /// The drive of the uniform current ([`super::Constants::drive`]).
    drive: f64,
    theta: f64,
    reset: f64,
    phi: [f64; 8],
    /// Per channel: `nx`, `y`, `full` ([`super::Channel`]).
    ch: [[f64; 3]; 2],
    now: f64,
}

/// `x` as `f64` values, `T` being `f64` ([`applies`]).
fn cast<T: Real>(x: &mut [T]) -> &mut [f64] {
    as_f64(x).expect("checked by `applies`")
}

/// `x` as `f64` values when `T` is `f64`.
fn as_f64<T: Real>(x: &mut [T]) -> Option<&mut [f64]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f64>())
        // SAFETY: `T` is `f64`, so the slice is the same type.
        .then(|| unsafe { &mut *(x as *mut [T] as *mut [f64]) })
}

/// Whether [`step_two`] applies: `T` is `f64` and `isa` has vectors.
pub(super) fn applies<T: Real>(isa: Isa) -> bool {
    cfg!(target_arch = "x86_64") && isa != Isa::Baseline && as_f64::<T>(&mut []).is_some()
}

/// [`super::step`] for a population with two channels and a uniform current
/// (where [`applies`]): the whole [`BLOCK`]s by the vector step, the rest
/// (fewer than [`BLOCK`] neurons) by [`super::step`]. `take`: take in the
/// ring rows (which are then zero).
pub(super) fn step_two<T: Real>(isa: Isa, state: Block<'_, T>, input: Input<'_, T>, out: Out<'_>, take: bool) {
    let Block {
        v,
        g: [g0, g1],
        rows: [r0, r1],
    } = state;
    let done = v.len() - v.len() % BLOCK;
    let (v, v_rest) = v.split_at_mut(done);
    let (g0, g0_rest) = g0.split_at_mut(done);
    let (g1, g1_rest) = g1.split_at_mut(done);
    let (r0, r0_rest) = r0.split_at_mut(done);
    let (r1, r1_rest) = r1.split_at_mut(done);
    let (until, until_rest) = input.free.until.split_at(done);
    let Out { base, ids, count } = out;
    let c = &input.c;
    let p = Params {
        nx_leak: c.nx_leak.to_f64(),
        drive: c.drive(input.i_const).to_f64(),
        theta: c.theta.to_f64(),
        reset: c.reset.to_f64(),
        phi: c.phi.map(|x| x.to_f64()),
        ch: input.ch.map(|ch| [ch.nx.to_f64(), ch.y.to_f64(), ch.full.to_f64()]),
        now: input.free.now,
    };
    let arrays = Arrays {
        v: cast(v),
        g0: cast(g0),
        g1: cast(g1),
        until,
    };
    let rows = take.then(|| (cast(r0), cast(r1)));
    match isa {
        // SAFETY: `Isa::detect` only returns what the CPU supports.
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => unsafe { avx512(&p, arrays, rows, base, ids, count) },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => unsafe { avx2(&p, arrays, rows, base, ids, count) },
        _ => unreachable!("checked by `applies`"),
    }
    if v_rest.is_empty() {
        return;
    }
    let rest = Block {
        v: v_rest,
        g: [g0_rest, g1_rest],
        rows: [r0_rest, r1_rest],
    };
    let input = Input {
        free: Free {
            until: until_rest,
            now: input.free.now,
        },
        ..input
    };
    let out = Out {
        base: base + done as u32,
        ids,
        count,
    };
    match take {
        true => step::<T, 2, false, true>(isa, rest, input, out),
        false => step::<T, 2, false, false>(isa, rest, input, out),
    }
}

/// The state arrays of whole blocks, as `f64`.
struct Arrays<'a> {
    v: &'a mut [f64],
    g0: &'a mut [f64],
    g1: &'a mut [f64],
    until: &'a [f64],
}

/// Ring rows to take in, one per channel.
type Rows<'a> = Option<(&'a mut [f64], &'a mut [f64])>;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn avx512(p: &Params, a: Arrays<'_>, rows: Rows<'_>, base: u32, ids: &mut [u32], n: &mut usize) {
    match rows {
        Some(r) => steps::<x86::Avx512, true>(p, a, Some(r), base, ids, n),
        None => steps::<x86::Avx512, false>(p, a, None, base, ids, n),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(p: &Params, a: Arrays<'_>, rows: Rows<'_>, base: u32, ids: &mut [u32], n: &mut usize) {
    match rows {
        Some(r) => steps::<x86::Avx2, true>(p, a, Some(r), base, ids, n),
        None => steps::<x86::Avx2, false>(p, a, None, base, ids, n),
    }
}

/// The step of every block of `a` (whole [`BLOCK`]s), then each block's
/// threshold test while it is in cache.
#[inline(always)]
unsafe fn steps<O: Ops, const TAKE: bool>(
    p: &Params,
    a: Arrays<'_>,
    rows: Rows<'_>,
    base: u32,
    ids: &mut [u32],
    n: &mut usize,
) {
    let s = |x: f64| O::splat(x);
    let (nx_leak, drive, theta, reset, now) = (s(p.nx_leak), s(p.drive), s(p.theta), s(p.reset), s(p.now));
    let [[nx0, y0, f0], [nx1, y1, f1]] = p.ch.map(|c| c.map(s));
    let phi = p.phi.map(s);
    let (lo, hi, zero) = (s(-1.0), s(0.0), s(0.0));
    let len = a.v.len();
    debug_assert!(len.is_multiple_of(BLOCK) && BLOCK.is_multiple_of(O::LANES));
    debug_assert!(a.g0.len() == len && a.g1.len() == len && a.until.len() == len);
    let (v, g0, g1, until) = (a.v.as_mut_ptr(), a.g0.as_mut_ptr(), a.g1.as_mut_ptr(), a.until.as_ptr());
    let (r0, r1) = match rows {
        Some((r0, r1)) => {
            debug_assert!(r0.len() == len && r1.len() == len);
            (r0.as_mut_ptr(), r1.as_mut_ptr())
        }
        None => (std::ptr::null_mut(), std::ptr::null_mut()),
    };
    let mut at = 0;
    while at < len {
        let mut top = s(f64::NEG_INFINITY);
        let mut i = at;
        while i < at + BLOCK {
            // SAFETY (every access): `i + LANES <= len`, the length of every array.
            let x = O::load(v.add(i));
            let mut g = O::load(g0.add(i));
            if TAKE {
                g = O::add(g, O::load(r0.add(i)));
                O::store(r0.add(i), zero);
            }
            let nx = O::fma(g, nx0, nx_leak);
            let y = O::fma(g, y0, drive);
            O::store(g0.add(i), O::mul(g, f0));
            let mut g = O::load(g1.add(i));
            if TAKE {
                g = O::add(g, O::load(r1.add(i)));
                O::store(r1.add(i), zero);
            }
            let nx = O::fma(g, nx1, nx);
            let y = O::fma(g, y1, y);
            O::store(g1.add(i), O::mul(g, f1));
            // φ(-nx) by Horner, as `phi_poly`.
            let mut t = O::fma(nx, phi[0], phi[1]);
            for &c in &phi[2..] {
                t = O::fma(nx, t, c);
            }
            let u = O::min(x, theta);
            let mut next = O::fma(O::fma(nx, u, y), t, x);
            if !O::all_within(nx, lo, hi) {
                next = outside::<O>(x, nx, y, next, p);
            }
            let next = O::hold(now, O::load(until.add(i)), next, reset);
            O::store(v.add(i), next);
            top = O::max(next, top);
            i += O::LANES;
        }
        if O::any_at_or_above(top, theta) {
            let block = std::slice::from_raw_parts(v.add(at), BLOCK);
            kernel::write_crossings(block, p.theta, base + at as u32, ids, n);
        }
        at += BLOCK;
    }
}

/// `next` with the lanes whose `nx` is outside the polynomial's bound
/// stepped with `φ` from `expm1` instead ([`super::advance_any`]).
#[cold]
#[inline(never)]
unsafe fn outside<O: Ops>(x: O::V, nx: O::V, y: O::V, next: O::V, p: &Params) -> O::V {
    let mut lanes = [[0.0f64; 8]; 4];
    for (k, w) in [x, nx, y, next].into_iter().enumerate() {
        O::store(lanes[k].as_mut_ptr(), w);
    }
    let [x, nx, y, mut next] = lanes;
    for l in 0..O::LANES {
        if !(nx[l] >= -1.0 && nx[l] <= 0.0) {
            let u = if x[l] < p.theta { x[l] } else { p.theta };
            next[l] = nx[l].mul_add(u, y[l]).mul_add(phi_exact(nx[l]), x[l]);
        }
    }
    O::load(next.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::super::{Channel, Constants};
    use super::*;
    use crate::network::description::Population;

    /// The vector step against the compiler's ([`super::super::step`] on the
    /// baseline instruction set) on the same state: a population of 200
    /// (six whole blocks and a rest), with and without ring rows, some
    /// neurons refractory, one above threshold, and conductances large
    /// enough that `nx` leaves the polynomial's bound (`φ` from `expm1`) in
    /// some lanes, and NaN in one.
    #[test]
    fn the_vector_step_is_the_scalar_step_bit_for_bit() {
        let mut p = Population::example(crate::neuron::Model::IafCondExp);
        (p.tau_m, p.r, p.v_rest, p.v_thresh, p.v_reset) = (20.0, 100.0, -60.0, -50.0, -60.0);
        let c = Constants::<f64>::new(0.1, &p);
        let ch = [Channel::new(0.1, &p, 5.0, 0.0), Channel::new(0.1, &p, 10.0, -80.0)];
        let n = 200;
        // A fixed pseudo-random sequence in [0, 1).
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut v: Vec<f64> = (0..n).map(|_| -62.0 + 13.0 * next()).collect();
        let mut g0: Vec<f64> = (0..n).map(|_| 0.05 * next()).collect();
        let mut g1: Vec<f64> = (0..n).map(|_| 0.2 * next()).collect();
        for i in [3, 77, 130] {
            g1[i] = 1.5 + i as f64; // nx well below -1
        }
        g0[150] = f64::NAN;
        let r0: Vec<f64> = (0..n).map(|i| if i % 7 == 0 { 0.006 } else { 0.0 }).collect();
        let r1: Vec<f64> = (0..n).map(|i| if i % 11 == 0 { 0.067 } else { 0.0 }).collect();
        let until: Vec<f64> = (0..n).map(|i| if i % 9 == 0 { 12.0 } else { 3.0 }).collect();
        // Above threshold, without conductance: stays there.
        (v[40], g0[40], g1[40]) = (-45.0, 0.0, 0.0);
        let run = |isa: Isa, take: bool| {
            let (mut v, mut g0, mut g1, mut r0, mut r1) =
                (v.clone(), g0.clone(), g1.clone(), r0.clone(), r1.clone());
            let mut ids = vec![0u32; n];
            let mut count = 0;
            let state = Block {
                v: &mut v,
                g: [&mut g0, &mut g1],
                rows: [&mut r0, &mut r1],
            };
            let input = Input {
                ch,
                i_ext: &[],
                i_const: 0.2,
                c,
                free: Free {
                    until: &until,
                    now: 10.0,
                },
            };
            let out = Out {
                base: 1000,
                ids: &mut ids,
                count: &mut count,
            };
            match (isa, take) {
                (Isa::Baseline, true) => step::<f64, 2, false, true>(isa, state, input, out),
                (Isa::Baseline, false) => step::<f64, 2, false, false>(isa, state, input, out),
                _ => {
                    assert!(applies::<f64>(isa) && !applies::<f32>(isa));
                    step_two(isa, state, input, out, take)
                }
            }
            let bits = |x: &[f64]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            ids.truncate(count);
            (bits(&v), bits(&g0), bits(&g1), bits(&r0), bits(&r1), ids)
        };
        for take in [false, true] {
            let want = run(Isa::Baseline, take);
            assert!(want.5.contains(&1040), "{:?}", want.5);
            assert!(f64::from_bits(want.0[150]).is_nan());
            for isa in Isa::available().into_iter().filter(|&i| i != Isa::Baseline) {
                assert!(run(isa, take) == want, "{isa:?}, take {take}");
            }
        }
    }
}
