//! Named random number generators with fixed algorithms.
//!
//! Same seed, same bits, forever and on every platform: the generator is
//! xoshiro256++ (Blackman & Vigna), seeded through SplitMix64, and every
//! conversion to floats and every distribution is written here (logarithms come
//! from `libm`, so no platform's math library can change a value). Each row,
//! neuron or purpose gets its own stream ([`stream`]), so the order in which
//! threads consume them cannot change a result.

pub mod binomial;

pub use binomial::binomial;

/// SplitMix64: a tiny generator used to expand a seed into xoshiro state.
#[derive(Clone, Debug)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
}

/// SplitMix64's output function: a bijective 64-bit mixer.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256++ 1.0: the generator behind every random number lifsim draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Xoshiro256pp {
    s: [u64; 4],
}

/// What a stream is for; part of the stream's identity, so two purposes never
/// share numbers even with the same seed and index.
#[derive(Clone, Copy, Debug)]
#[repr(u64)]
pub enum Purpose {
    /// Synaptic weights (one stream per postsynaptic row).
    Weights = 1,
    /// Initial membrane voltages (one stream for the network).
    InitialVoltage = 2,
    /// Connectivity (one stream per row or neuron).
    Connectivity = 3,
    /// Poisson input (one stream per neuron).
    Poisson = 4,
    /// Synaptic delays (one stream per row or neuron).
    Delays = 5,
    /// External currents drawn per neuron (one stream per neuron).
    Current = 6,
    /// The binomial splits of `fixed_total_number`'s synapse count over a
    /// tree of target ranges (one stream per tree node).
    Split = 7,
}

/// The stream for (`seed`, `purpose`, `index`): independent of every other triple.
pub fn stream(seed: u64, purpose: Purpose, index: u64) -> Xoshiro256pp {
    let key = mix64(mix64(mix64(seed) ^ purpose as u64) ^ index);
    Xoshiro256pp::seed_from_u64(key)
}

impl Xoshiro256pp {
    /// A generator with exactly this state (must not be all zero).
    pub fn from_state(s: [u64; 4]) -> Self {
        assert!(s != [0; 4], "xoshiro256++ state must not be all zero");
        Self { s }
    }

    /// Expands `seed` into a full state with SplitMix64, as the authors advise.
    pub fn seed_from_u64(seed: u64) -> Self {
        let mut sm = SplitMix64(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        // SplitMix64 cannot give four zero words in a row, so `s` is valid.
        Self { s }
    }

    /// The internal state, for checkpoints.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1): the top 53 bits, scaled exactly.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi): `lo + (hi - lo) * u`.
    pub fn uniform_range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.uniform()
    }

    /// A uniform integer in [0, n) by Lemire's multiply-and-reject (unbiased).
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }
}

/// No deviate of [`Normal`] is further than this from 0: the polar method
/// gives `|z| <= sqrt(-2 ln s)`, and `s = u^2 + v^2` with `u`, `v` on the
/// grid of multiples of 2^-52 is at least 2^-104, so `|z| <=
/// sqrt(208 ln 2) = 12.0075`. What a normal value can reach (a normal
/// delay must fit in the longest delay lifsim stores).
pub const NORMAL_MAX_ABS: f64 = 12.01;

/// Standard normal deviates by Marsaglia's polar method: pairs of values from
/// uniform points in the unit disc, using only `sqrt` (exact in IEEE) and
/// `libm::log`, so the bits are the same everywhere.
#[derive(Clone, Debug)]
pub struct Normal {
    spare: Option<f64>,
}

impl Default for Normal {
    fn default() -> Self {
        Self::new()
    }
}

impl Normal {
    /// A sampler with no value cached.
    pub fn new() -> Self {
        Self { spare: None }
    }

    /// One standard normal deviate drawn from `rng`.
    pub fn sample(&mut self, rng: &mut Xoshiro256pp) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * rng.uniform() - 1.0;
            let v = 2.0 * rng.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let factor = (-2.0 * libm::log(s) / s).sqrt();
                self.spare = Some(v * factor);
                return u * factor;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference implementation's first outputs for state [1, 2, 3, 4]
    /// (the test vector of the authors' C code and of `rand_xoshiro`).
    #[test]
    fn xoshiro256pp_matches_reference_vector() {
        let mut rng = Xoshiro256pp::from_state([1, 2, 3, 4]);
        let expected: [u64; 10] = [
            41943041,
            58720359,
            3588806011781223,
            3591011842654386,
            9228616714210784205,
            9973669472204895162,
            14011001112246962877,
            12406186145184390807,
            15849039046786891736,
            10450023813501588000,
        ];
        for e in expected {
            assert_eq!(rng.next_u64(), e);
        }
    }

    /// SplitMix64 from seed 1234567 (the published example values).
    #[test]
    fn splitmix64_matches_reference() {
        let mut sm = SplitMix64(1234567);
        assert_eq!(sm.next_u64(), 6457827717110365317);
        assert_eq!(sm.next_u64(), 3203168211198807973);
        assert_eq!(sm.next_u64(), 9817491932198370423);
    }

    /// Golden values: if one of these changes, every seeded result changes.
    #[test]
    fn streams_and_distributions_are_pinned() {
        let mut rng = stream(0, Purpose::Weights, 0);
        let u = rng.uniform();
        let mut normal = Normal::new();
        let z: [f64; 4] = std::array::from_fn(|_| normal.sample(&mut rng));
        let golden = (u.to_bits(), z.map(|x| x.to_bits()));
        assert_eq!(golden, GOLDEN, "u = {u}, z = {z:?}");
    }

    const GOLDEN: (u64, [u64; 4]) = (
        4605272238758140947,
        [
            13818708918391954176,
            13830690297663014711,
            13833743633080822497,
            13831818268752130756,
        ],
    );

    /// The bound's arithmetic: the smallest `s` the sampler can see, 2^-104
    /// (u = 2^-52, v = 0), gives the largest deviate, below the bound.
    #[test]
    fn normal_deviates_are_bounded() {
        let u = (2.0f64).powi(-52);
        let s = u * u;
        assert!(s > 0.0 && s == (2.0f64).powi(-104));
        let z = u * (-2.0 * libm::log(s) / s).sqrt();
        assert!((z - (208.0 * std::f64::consts::LN_2).sqrt()).abs() < 1e-12);
        assert!(z < NORMAL_MAX_ABS && NORMAL_MAX_ABS - z < 0.01, "{z}");
        // The grid: u = 2 uniform - 1 is a multiple of 2^-52.
        let mut rng = stream(5, Purpose::Weights, 0);
        for _ in 0..1000 {
            let u = 2.0 * rng.uniform() - 1.0;
            assert_eq!((u * (2.0f64).powi(52)).fract(), 0.0);
        }
    }

    #[test]
    fn streams_differ_by_purpose_and_index() {
        let a = stream(7, Purpose::Weights, 0).next_u64();
        let b = stream(7, Purpose::Weights, 1).next_u64();
        let c = stream(7, Purpose::InitialVoltage, 0).next_u64();
        assert!(a != b && a != c && b != c);
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut rng = stream(1, Purpose::Weights, 0);
        let mut normal = Normal::new();
        let n = 200_000;
        let (mut s, mut s2, mut umin, mut umax) = (0.0, 0.0, 1.0f64, 0.0f64);
        for _ in 0..n {
            let z = normal.sample(&mut rng);
            s += z;
            s2 += z * z;
            let u = rng.uniform();
            umin = umin.min(u);
            umax = umax.max(u);
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
        assert!(umin >= 0.0 && umax < 1.0 && umin < 1e-3 && umax > 0.999);
    }

    #[test]
    fn below_is_in_range_and_unbiased_enough() {
        let mut rng = stream(3, Purpose::Connectivity, 9);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[rng.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
