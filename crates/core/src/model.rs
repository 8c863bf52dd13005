//! The neuron model: the seed's leaky integrate-and-fire parameters and the
//! arithmetic of one membrane update, written down once.
//!
//! Each step, in this order (SPEC section 1, generalised by section 2):
//!
//! ```text
//! fired = V >= v_thresh
//! V     = where(fired, v_reset, V)
//! I_syn = W @ fired
//! dV    = (dt / tau_m) * (-V + v_rest + r * (I_syn + i_ext))
//! V     = V + dV
//! V     = where(fired or refractory, v_reset, V)
//! ```
//!
//! With `v_rest = v_reset`, `i_ext = 0` and `t_ref = 0` this is the seed's update
//! bit for bit (`x + 0.0 == x` in IEEE arithmetic).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::params;

/// The longest simulated time lifsim takes or reads (ms), about 31,700 years:
/// beyond it a float64 time cannot tell two steps of 0.1 ms apart, so spike
/// times, durations and plot axes are all refused past it.
pub const MAX_TIME_MS: f64 = 1e15;

/// Parameters of the leaky integrate-and-fire neuron and of the run; the
/// defaults are the seed's `lif_hparams`. Each field is a parameter of the
/// table in [`crate::params`], which holds its unit, default and check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifParams {
    /// Integration time step (ms).
    pub dt: f64,
    /// Simulated duration (ms); the run has `ceil(t_max / dt) - 1` steps,
    /// `len(arange(0, t_max, dt)) - 1` ([`LifParams::steps`]).
    pub t_max: f64,
    /// Membrane time constant (ms).
    pub tau_m: f64,
    /// Reset potential, and the initial potential by default (mV).
    pub v_reset: f64,
    /// Spike threshold (mV).
    pub v_thresh: f64,
    /// Membrane resistance (MOhm).
    pub r: f64,
    /// Resting potential (mV); `None` means `v_reset`, as in the seed.
    pub v_rest: Option<f64>,
    /// Absolute refractory period after the spike step (ms); 0 is the seed's one-step hold.
    pub t_ref: f64,
}

impl Default for LifParams {
    /// The defaults of the parameter table ([`crate::params`]): the seed's.
    fn default() -> Self {
        Self {
            dt: params::DT.default.number(),
            t_max: params::T_MAX.default.number(),
            tau_m: params::TAU_M.default.number(),
            v_reset: params::V_RESET.default.number(),
            v_thresh: params::V_THRESH.default.number(),
            r: params::R.default.number(),
            v_rest: None,
            t_ref: params::T_REF.default.number(),
        }
    }
}

impl LifParams {
    /// Checks every parameter with its check from the parameter table, in the
    /// table's order; the error names the first one that is invalid.
    pub fn validate(&self) -> Result<()> {
        let related = params::Related {
            dt: self.dt,
            v_reset: self.v_reset,
        };
        for spec in params::PARAMETERS {
            if let Some(x) = self.get(spec.name) {
                spec.validate(x, &related)
                    .map_err(|message| Error::param(spec.name, message))?;
            }
        }
        Ok(())
    }

    /// The value of the parameter called `name` as the run uses it (`v_rest`
    /// resolved to `v_reset` when unset); `None` for a name that is not a
    /// field (the table's [`params::Kind::Number`] parameters are).
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "dt" => self.dt,
            "t_max" => self.t_max,
            "tau_m" => self.tau_m,
            "v_reset" => self.v_reset,
            "v_thresh" => self.v_thresh,
            "r" => self.r,
            "v_rest" => self.v_rest(),
            "t_ref" => self.t_ref,
            _ => return None,
        })
    }

    /// Sets the parameter called `name` to `x`; `false` (and nothing set) for
    /// a name that is not a field.
    pub fn set(&mut self, name: &str, x: f64) -> bool {
        let field = match name {
            "dt" => &mut self.dt,
            "t_max" => &mut self.t_max,
            "tau_m" => &mut self.tau_m,
            "v_reset" => &mut self.v_reset,
            "v_thresh" => &mut self.v_thresh,
            "r" => &mut self.r,
            "v_rest" => {
                self.v_rest = Some(x);
                return true;
            }
            "t_ref" => &mut self.t_ref,
            _ => return false,
        };
        *field = x;
        true
    }

    /// The number of steps the seed runs: `len(numpy.arange(0, t_max, dt)) - 1`,
    /// where NumPy computes the length as `ceil(t_max / dt)` in float64 (the
    /// first element is the initial state). Network files round instead; see
    /// [`crate::params`], "Step counts".
    pub fn steps(&self) -> usize {
        params::seed_steps(self.t_max, self.dt)
    }

    /// The resting potential actually used: `v_rest`, or `v_reset` when unset.
    pub fn v_rest(&self) -> f64 {
        self.v_rest.unwrap_or(self.v_reset)
    }

    /// The refractory period in whole steps; `t_ref` must be a multiple of `dt`
    /// (as NEST requires of its resolution): [`params::refractory_steps`].
    pub fn refractory_steps(&self) -> Result<u32> {
        params::refractory_steps(self.t_ref, self.dt).map_err(|m| Error::param("t_ref", m))
    }

    /// Simulated time covered by the recorded steps (ms): `steps * dt`.
    pub fn duration_ms(&self) -> f64 {
        self.steps() as f64 * self.dt
    }
}

/// The floating-point type a simulation runs in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE binary64, NumPy's default: the seed's NumPy results bit for bit.
    #[default]
    Float64,
    /// IEEE binary32, JAX's default.
    Float32,
}

impl std::str::FromStr for Dtype {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "float64" | "f64" => Ok(Dtype::Float64),
            "float32" | "f32" => Ok(Dtype::Float32),
            other => Err(Error::param(
                "dtype",
                format!("must be float64 or float32, got {other:?}"),
            )),
        }
    }
}

impl Dtype {
    /// NumPy's name of the type: "float64" or "float32".
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Float64 => "float64",
            Dtype::Float32 => "float32",
        }
    }
}

impl std::fmt::Display for Dtype {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The float types the engine runs in (`f64` and `f32`), with the few
/// operations the membrane update needs.
pub trait Real:
    Copy
    + Default
    + PartialOrd
    + Send
    + Sync
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::Neg<Output = Self>
    + 'static
{
    /// The matching [`Dtype`].
    const DTYPE: Dtype;
    /// Zero.
    const ZERO: Self;
    /// Rounds an `f64` to this type (exact for `f64`).
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64` (always exact).
    fn to_f64(self) -> f64;
    /// `self * a + b` with one rounding (a fused multiply-add): the same
    /// bits on every instruction set, a hardware FMA where the kernel is
    /// compiled with one ([`crate::engine::Isa`]), the C library's correctly
    /// rounded `fma` otherwise.
    fn mul_add(self, a: Self, b: Self) -> Self;
}

impl Real for f64 {
    const DTYPE: Dtype = Dtype::Float64;
    const ZERO: Self = 0.0;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f64::mul_add(self, a, b)
    }
}

impl Real for f32 {
    const DTYPE: Dtype = Dtype::Float32;
    const ZERO: Self = 0.0;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32::mul_add(self, a, b)
    }
}

/// The per-step constants of the membrane update in the simulation's float type.
///
/// `dt / tau_m` is computed in that type from the rounded `dt` and `tau_m`, as
/// NumPy (float64) and JAX (float32) do.
#[derive(Clone, Copy, Debug)]
pub struct Coefficients<T> {
    /// `dt / tau_m`.
    pub dt_over_tau: T,
    /// Resting potential.
    pub v_rest: T,
    /// Reset potential.
    pub v_reset: T,
    /// Threshold.
    pub v_thresh: T,
    /// Membrane resistance.
    pub r: T,
    /// Steps a neuron stays clamped after its spike step.
    pub refractory_steps: u32,
}

impl<T: Real> Coefficients<T> {
    /// The constants for `params` (assumed validated).
    pub fn new(params: &LifParams) -> Result<Self> {
        let dt = T::from_f64(params.dt);
        let tau_m = T::from_f64(params.tau_m);
        Ok(Self {
            dt_over_tau: dt / tau_m,
            v_rest: T::from_f64(params.v_rest()),
            v_reset: T::from_f64(params.v_reset),
            v_thresh: T::from_f64(params.v_thresh),
            r: T::from_f64(params.r),
            refractory_steps: params.refractory_steps()?,
        })
    }

    /// One forward-Euler membrane update of a neuron that is not clamped:
    /// `v + (dt/tau_m) * (-v + v_rest + r * (i_syn + i_ext))`, in that order.
    #[inline(always)]
    pub fn euler(&self, v: T, i_syn: T, i_ext: T) -> T {
        self.relax(v, self.r * (i_syn + i_ext))
    }

    /// The same update given the input term `drive = r * (i_syn + i_ext)`
    /// already computed: `v + (dt/tau_m) * ((-v + v_rest) + drive)`. Steps
    /// without synaptic input use it with `drive = r * (0 + i_ext)` computed
    /// once, which is the same value bit for bit.
    #[inline(always)]
    pub fn relax(&self, v: T, drive: T) -> T {
        v + self.dt_over_tau * ((-v + self.v_rest) + drive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut LifParams)) -> LifParams {
        let mut p = LifParams::default();
        f(&mut p);
        p
    }

    #[test]
    fn step_count_matches_numpy_arange() {
        // len(np.arange(0, t_max, dt)) - 1, checked with NumPy 2.
        let cases = [
            (100.0, 0.01, 9_999),
            (100.0, 0.5, 199),
            (0.3, 0.1, 2),
            (37.3, 0.1, 372),
            (1.0, 1.0, 0),
        ];
        for (t_max, dt, steps) in cases {
            assert_eq!(
                with(|p| {
                    p.t_max = t_max;
                    p.dt = dt
                })
                .steps(),
                steps,
                "{t_max}/{dt}"
            );
        }
    }

    #[test]
    fn invalid_parameters_are_named() {
        let bad = [
            (with(|p| p.dt = 0.0), "dt"),
            (with(|p| p.dt = -1.0), "dt"),
            (with(|p| p.t_max = 0.001), "t_max"),
            (with(|p| p.tau_m = 0.0), "tau_m"),
            (with(|p| p.v_thresh = -70.0), "v_thresh"),
            (with(|p| p.v_thresh = -65.0), "v_thresh"),
            (with(|p| p.t_ref = 0.015), "t_ref"),
            (with(|p| p.t_ref = -1.0), "t_ref"),
            (with(|p| p.r = f64::NAN), "r"),
            (with(|p| p.dt = f64::NAN), "dt"),
            (with(|p| p.dt = f64::INFINITY), "dt"),
            (with(|p| p.t_max = f64::INFINITY), "t_max"),
            (with(|p| p.t_max = -1.0), "t_max"),
            (with(|p| p.t_max = 1e300), "t_max"),
            (
                with(|p| {
                    p.t_max = 1e300;
                    p.dt = 1e290
                }),
                "t_max",
            ),
            (
                with(|p| {
                    p.t_max = 1e-300;
                    p.dt = 5e-324
                }),
                "t_max",
            ),
        ];
        for (p, name) in bad {
            let err = p.validate().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid parameter {name}:")),
                "{err}"
            );
        }
        assert!(LifParams::default().validate().is_ok());
    }

    /// `r > 0`, as network files have always required.
    #[test]
    fn r_must_be_positive() {
        for r in [0.0, -1.0] {
            let err = with(|p| p.r = r).validate().unwrap_err().to_string();
            assert_eq!(
                err,
                format!("invalid parameter r: must be > 0 MOhm, got {r}")
            );
        }
    }

    #[test]
    fn parameters_are_read_and_set_by_name() {
        let mut p = LifParams::default();
        for spec in crate::params::PARAMETERS {
            let numeric = spec.kind == crate::params::Kind::Number;
            assert_eq!(p.get(spec.name).is_some(), numeric, "{}", spec.name);
            assert_eq!(p.set(spec.name, 7.5), numeric, "{}", spec.name);
            if numeric {
                assert_eq!(p.get(spec.name), Some(7.5), "{}", spec.name);
            }
        }
        assert_eq!(p.v_rest, Some(7.5));
    }

    #[test]
    fn refractory_steps_round_multiples_of_dt() {
        assert_eq!(
            with(|p| {
                p.dt = 0.1;
                p.t_ref = 2.0
            })
            .refractory_steps()
            .unwrap(),
            20
        );
        assert_eq!(
            with(|p| {
                p.dt = 0.1;
                p.t_ref = 0.0
            })
            .refractory_steps()
            .unwrap(),
            0
        );
    }

    #[test]
    fn f32_coefficients_divide_in_f32() {
        let c = Coefficients::<f32>::new(&LifParams::default()).unwrap();
        assert_eq!(c.dt_over_tau, 0.01f32 / 20.0f32);
        let c = Coefficients::<f64>::new(&LifParams::default()).unwrap();
        assert_eq!(c.dt_over_tau, 0.01 / 20.0);
    }
}
