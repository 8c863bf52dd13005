//! Binomial deviates on lifsim's own generator, the same bits on every
//! platform: what `fixed_total_number` needs to split a synapse count
//! between the halves of a range of targets.
//!
//! Two exact methods, chosen by the mean (with `p <= 1/2`, by symmetry):
//! - `n p < 10`: inversion by sequential search from 0 (Kachitvichyanukul &
//!   Schmeiser 1988, BINV), about `n p + 1` steps;
//! - `n p >= 10`: Hörmann's BTRS, transformed rejection with a squeeze
//!   (W. Hörmann, "The generation of binomial random variates", J. Statist.
//!   Comput. Simul. 46, 1993), about 1.15 pairs of uniforms per deviate
//!   whatever `n`; its acceptance test is the exact log-ratio of the
//!   probabilities, written with Stirling's series so that `n` of 10^9 loses
//!   no precision to cancellation (as TensorFlow's and JAX's samplers do).
//!
//! NumPy's BTPE would do as well; BTRS is shorter, needs no setup tables,
//! and its cost does not depend on `n`. Only `libm` and IEEE arithmetic are
//! used, so a seed gives the same deviates everywhere.

use super::Xoshiro256pp;

/// A Binomial(`n`, `p`) deviate drawn from `rng`: the number of successes
/// of `n` independent trials of probability `p` (`p` outside [0, 1] is
/// taken as the nearer end; NaN as 0).
pub fn binomial(rng: &mut Xoshiro256pp, n: u64, p: f64) -> u64 {
    if n == 0 || p.is_nan() || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // 1 - p is exact for p in [1/2, 1] (Sterbenz), so both halves see the
    // same q = 1 - p.
    if p > 0.5 {
        return n - below_half(rng, n, 1.0 - p);
    }
    below_half(rng, n, p)
}

/// [`binomial`] for `0 < p <= 1/2`.
fn below_half(rng: &mut Xoshiro256pp, n: u64, p: f64) -> u64 {
    if n as f64 * p < 10.0 {
        inversion(rng, n, p)
    } else {
        btrs(rng, n, p)
    }
}

/// Sequential search of the cumulative distribution from 0 (BINV), for
/// `n p < 10`. The search restarts with a new uniform in the rare case
/// that rounding carries it past the far tail (`np + 10 sqrt(npq + 1)`,
/// where less than 1e-15 of the mass lies), as NumPy's does.
fn inversion(rng: &mut Xoshiro256pp, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let s = p / q;
    let a = (n as f64 + 1.0) * s;
    // q^n >= exp(-20) here (n p < 10, p <= 1/2): no underflow.
    let r0 = libm::exp(n as f64 * libm::log1p(-p));
    let np = n as f64 * p;
    let bound = (np + 10.0 * libm::sqrt(np * q + 1.0)).min(n as f64);
    loop {
        let mut u = rng.uniform();
        let mut r = r0;
        let mut x = 0u64;
        loop {
            if u < r {
                return x;
            }
            u -= r;
            x += 1;
            if x as f64 > bound {
                break;
            }
            // P(x) / P(x - 1) = (n - x + 1) / x * p / q.
            r *= a / x as f64 - s;
        }
    }
}

/// `ln(k!) - [(k + 1/2) ln(k + 1) - (k + 1) + ln(2 pi) / 2]`: the tail of
/// Stirling's series for `ln(k!)`; exact values below 10, the series to its
/// `x^-7` term above (`x = k + 1`; the error, about `0.0019 x^-9`, is below
/// 1e-12 there).
fn stirling_tail(k: f64) -> f64 {
    const TAIL: [f64; 10] = [
        0.081_061_466_795_327_2,
        0.041_340_695_955_409_2,
        0.027_677_925_684_998_3,
        0.020_790_672_103_765_09,
        0.016_644_691_189_821_1,
        0.013_876_128_823_070_7,
        0.011_896_709_945_891_7,
        0.010_411_265_261_972_0,
        0.009_255_462_182_712_73,
        0.008_330_563_433_362_87,
    ];
    if k < 10.0 {
        return TAIL[k as usize];
    }
    let kp1 = k + 1.0;
    let kp1sq = kp1 * kp1;
    (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / 1680.0 / kp1sq) / kp1sq) / kp1sq) / kp1
}

/// Hörmann's BTRS for `n p >= 10`, `p <= 1/2`.
fn btrs(rng: &mut Xoshiro256pp, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let spq = libm::sqrt(nf * p * q);
    let b = 1.15 + 2.53 * spq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let v_r = 0.92 - 4.2 / b;
    let r = p / q;
    let alpha = (2.83 + 5.1 / b) * spq;
    let m = libm::floor((nf + 1.0) * p);
    loop {
        let u = rng.uniform() - 0.5;
        let v = rng.uniform();
        let us = 0.5 - u.abs();
        let k = libm::floor((2.0 * a / us + b) * u + c);
        // The squeeze: inside it the hat and the distribution agree.
        if us >= 0.07 && v <= v_r {
            return k as u64;
        }
        if !(0.0..=nf).contains(&k) {
            continue;
        }
        let v = libm::log(v * alpha / (a / (us * us) + b));
        // ln( P(k) / P(m) ), by Stirling's series.
        let bound = (m + 0.5) * libm::log((m + 1.0) / (r * (nf - m + 1.0)))
            + (nf + 1.0) * libm::log((nf - m + 1.0) / (nf - k + 1.0))
            + (k + 0.5) * libm::log(r * (nf - k + 1.0) / (k + 1.0))
            + stirling_tail(m)
            + stirling_tail(nf - m)
            - stirling_tail(k)
            - stirling_tail(nf - k);
        if v <= bound {
            return k as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Purpose};

    /// The table of [`stirling_tail`] is what its definition gives, and
    /// the series agrees with it at the seam.
    #[test]
    fn stirling_tails_are_their_definition() {
        let half_ln_2pi = 0.5 * libm::log(2.0 * std::f64::consts::PI);
        let mut ln_fact = 0.0;
        for k in 0..30u32 {
            if k > 0 {
                ln_fact += libm::log(k as f64);
            }
            let kf = k as f64;
            let want = ln_fact - ((kf + 0.5) * libm::log(kf + 1.0) - (kf + 1.0) + half_ln_2pi);
            let got = stirling_tail(kf);
            assert!((got - want).abs() < 1e-12, "k = {k}: {got} vs {want}");
        }
    }

    /// Exact Binomial(n, p) probabilities, by the recurrence from the mode
    /// outwards (no factorials), normalised: the reference the samples are
    /// compared with.
    fn pmf(n: u64, p: f64) -> Vec<f64> {
        let q = 1.0 - p;
        let mode = (((n + 1) as f64) * p).floor().min(n as f64) as usize;
        let mut w = vec![0.0; n as usize + 1];
        w[mode] = 1.0;
        for k in mode + 1..=n as usize {
            w[k] = w[k - 1] * ((n as usize - k + 1) as f64 / k as f64) * (p / q);
        }
        for k in (0..mode).rev() {
            w[k] = w[k + 1] * ((k + 1) as f64 / (n as usize - k) as f64) * (q / p);
        }
        let total: f64 = w.iter().sum();
        w.iter().map(|x| x / total).collect()
    }

    /// Pearson's chi-square of `counts` against `probs` (bins with an
    /// expected count below 5 merged into their neighbours), and its
    /// degrees of freedom.
    fn chi_square(counts: &[u64], probs: &[f64], draws: usize) -> (f64, usize) {
        let (mut chi2, mut bins) = (0.0, 0usize);
        let (mut obs, mut exp) = (0.0, 0.0);
        for (c, p) in counts.iter().zip(probs) {
            obs += *c as f64;
            exp += p * draws as f64;
            if exp >= 5.0 {
                chi2 += (obs - exp).powi(2) / exp;
                bins += 1;
                obs = 0.0;
                exp = 0.0;
            }
        }
        // What is left over joins the last bin (or forms one).
        if exp > 0.0 || obs > 0.0 {
            chi2 += (obs - exp).powi(2) / exp.max(1e-300);
            bins += 1;
        }
        (chi2, bins - 1)
    }

    /// Both methods and both halves of p: the mean and variance of 200,000
    /// draws within 5 standard errors of n p and n p q, and the histogram's
    /// chi-square against the exact probabilities far below what a wrong
    /// sampler gives (the threshold is the 1e-9 tail of chi-square).
    #[test]
    fn deviates_have_the_binomial_distribution() {
        let cases: [(u64, f64); 9] = [
            (1, 0.3),
            (10, 0.3),     // inversion
            (1000, 0.005), // inversion, n p = 5
            (40, 0.25),    // BTRS at its threshold, n p = 10
            (50, 0.5),     // BTRS
            (10_000, 0.37),
            (20, 0.97),   // 1 - p by inversion
            (5_000, 0.9), // 1 - p by BTRS
            (1_000_000, 0.001),
        ];
        let draws = 200_000;
        for (i, &(n, p)) in cases.iter().enumerate() {
            let mut rng = stream(11, Purpose::Connectivity, i as u64);
            let mut counts = vec![0u64; n as usize + 1];
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..draws {
                let k = binomial(&mut rng, n, p);
                assert!(k <= n);
                counts[k as usize] += 1;
                s += k as f64;
                s2 += (k as f64) * (k as f64);
            }
            let (nf, q) = (n as f64, 1.0 - p);
            let (mean, var) = (
                s / draws as f64,
                s2 / draws as f64 - (s / draws as f64).powi(2),
            );
            let sigma2 = nf * p * q;
            let se_mean = (sigma2 / draws as f64).sqrt();
            assert!(
                (mean - nf * p).abs() < 5.0 * se_mean,
                "{n}, {p}: mean {mean}"
            );
            // mu4 of the binomial: n p q (1 + 3 p q (n - 2)).
            let mu4 = sigma2 * (1.0 + 3.0 * p * q * (nf - 2.0));
            let se_var = ((mu4 - sigma2 * sigma2).max(0.0) / draws as f64).sqrt();
            assert!(
                (var - sigma2).abs() < 5.0 * se_var + 1e-12,
                "{n}, {p}: var {var} vs {sigma2}"
            );
            let (chi2, df) = chi_square(&counts, &pmf(n, p), draws);
            let limit = df as f64 + 6.0 * (2.0 * df as f64).sqrt() + 20.0;
            assert!(chi2 < limit, "{n}, {p}: chi2 {chi2} with {df} dof");
        }
    }

    /// A chi-square test this strict notices a slightly wrong sampler:
    /// Binomial(10,000, 0.3705) read as Binomial(10,000, 0.37).
    #[test]
    fn the_chi_square_test_has_teeth() {
        let (n, p) = (10_000u64, 0.37);
        let draws = 200_000;
        let mut rng = stream(12, Purpose::Connectivity, 0);
        let mut counts = vec![0u64; n as usize + 1];
        for _ in 0..draws {
            counts[binomial(&mut rng, n, p + 0.0005) as usize] += 1;
        }
        let (chi2, df) = chi_square(&counts, &pmf(n, p), draws);
        assert!(
            chi2 > df as f64 + 6.0 * (2.0 * df as f64).sqrt() + 20.0,
            "{chi2}"
        );
    }

    #[test]
    fn edges_are_exact() {
        let mut rng = stream(1, Purpose::Connectivity, 0);
        assert_eq!(binomial(&mut rng, 0, 0.5), 0);
        assert_eq!(binomial(&mut rng, 17, 0.0), 0);
        assert_eq!(binomial(&mut rng, 17, 1.0), 17);
        assert_eq!(binomial(&mut rng, 17, f64::NAN), 0);
        assert_eq!(binomial(&mut rng, 17, -1.0), 0);
        assert_eq!(binomial(&mut rng, 17, 2.0), 17);
        // Huge n: BTRS stays in range and near the mean.
        let n = 3_000_000_000u64;
        for _ in 0..1000 {
            let k = binomial(&mut rng, n, 0.5);
            assert!((k as f64 - 1.5e9).abs() < 6.0 * 27_386.0, "{k}");
        }
    }

    /// Golden values: if one changes, every fixed_total_number network changes.
    #[test]
    fn deviates_are_pinned() {
        let mut rng = stream(3, Purpose::Connectivity, 7);
        let got: Vec<u64> = [
            (10, 0.3),
            (1000, 0.005),
            (50, 0.5),
            (10_000, 0.37),
            (20, 0.97),
            (300_000_000, 0.25),
        ]
        .iter()
        .flat_map(|&(n, p)| [binomial(&mut rng, n, p), binomial(&mut rng, n, p)])
        .collect();
        assert_eq!(got, GOLDEN, "{got:?}");
    }

    const GOLDEN: [u64; 12] = [
        3, 3, 3, 4, 23, 30, 3599, 3627, 20, 20, 74_997_287, 74_979_916,
    ];
}
