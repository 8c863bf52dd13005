//! The inner loops of a step, compiled for the baseline CPU and again for
//! AVX2 and AVX-512, with the widest one the CPU has chosen at run time.
//!
//! Every version performs the same IEEE operations in the same order on each
//! neuron (Rust never fuses a multiply and an add on its own), so every
//! version gives the same bits; only the number of lanes differs.

use crate::model::{Coefficients, Real};

/// The instruction sets lifsim has kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Whatever the build targets (SSE2 on x86-64).
    Baseline,
    /// AVX2 (x86-64).
    Avx2,
    /// AVX-512F (x86-64).
    Avx512,
}

impl Isa {
    /// The widest instruction set this CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
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

/// Defines `pub fn $name(isa, args...)` that runs `$body` compiled for `isa`.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident<T: Real>($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[inline]
        pub fn $name<T: Real>(isa: Isa, $($arg: $ty),*) {
            #[inline(always)]
            fn imp<T: Real>($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn avx2<T: Real>($($arg: $ty),*) { imp($($arg),*) }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512<T: Real>($($arg: $ty),*) { imp($($arg),*) }
            match isa {
                // SAFETY: `Isa::detect` only returns what the CPU supports.
                #[cfg(target_arch = "x86_64")]
                Isa::Avx2 => unsafe { avx2($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                Isa::Avx512 => unsafe { avx512($($arg),*) },
                _ => imp($($arg),*),
            }
        }
    };
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
    /// The forward-Euler membrane update of every neuron, with one external
    /// current for all (`Coefficients::euler`).
    pub fn integrate_constant<T: Real>(v: &mut [T], i_syn: &[T], i_ext: T, c: &Coefficients<T>) {
        for (v, &s) in v.iter_mut().zip(i_syn) {
            *v = c.euler(*v, s, i_ext);
        }
    }
}

multiversion! {
    /// The forward-Euler membrane update with one external current per neuron.
    pub fn integrate_per_neuron<T: Real>(v: &mut [T], i_syn: &[T], i_ext: &[T], c: &Coefficients<T>) {
        for ((v, &s), &e) in v.iter_mut().zip(i_syn).zip(i_ext) {
            *v = c.euler(*v, s, e);
        }
    }
}

multiversion! {
    /// Appends `offset + i` for every `v[i] >= thresh`, in ascending order.
    pub fn detect<T: Real>(v: &[T], thresh: T, offset: u32, out: &mut Vec<u32>) {
        const CHUNK: usize = 32;
        for (c, chunk) in v.chunks(CHUNK).enumerate() {
            // A branch-free "any" over the chunk vectorises; spikes are rare,
            // so the per-neuron scan below runs seldom.
            if chunk.iter().fold(false, |any, &x| any | (x >= thresh)) {
                for (i, &x) in chunk.iter().enumerate() {
                    if x >= thresh {
                        out.push(offset + (c * CHUNK + i) as u32);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LifParams;

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
            integrate_per_neuron(isa, &mut v, &syn, &ext, &c);
            integrate_constant(isa, &mut v, &syn, 20.0, &c);
            let mut acc = syn.clone();
            accumulate(isa, &mut acc, &ext);
            let mut fired = Vec::new();
            detect(isa, &v, -50.0, 7, &mut fired);
            results.push((
                v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                acc,
                fired,
            ));
        }
        for r in &results[1..] {
            assert_eq!(r, &results[0]);
        }
        // And the scalar formula, written out once more by hand.
        let mut v = v0[5];
        v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (syn[5] + ext[5]));
        v = v + (0.01 / 20.0) * ((-v + -65.0) + 1.0 * (syn[5] + 20.0));
        assert_eq!(v.to_bits(), results[0].0[5]);
    }

    #[test]
    fn detect_finds_exactly_the_crossings() {
        let v: Vec<f32> = (0..100)
            .map(|i| if i % 17 == 3 { -50.0 } else { -50.5 })
            .collect();
        let mut out = Vec::new();
        detect(Isa::detect(), &v, -50.0f32, 1000, &mut out);
        assert_eq!(out, vec![1003, 1020, 1037, 1054, 1071, 1088]);
    }
}
