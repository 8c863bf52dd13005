//! `iaf_cond_exp`: NEST's leaky integrate-and-fire neuron with
//! exponentially decaying synaptic conductances (Brette et al. 2007's COBA
//! benchmark model):
//!
//! ```text
//! tau_m dV/dt = -(V - v_rest) + r (sum_c g_c (e_rev_c - V) + i_ext)
//! tau_c dg_c/dt = -g_c,   g_c += w at each arrival (µS)
//! ```
//!
//! (`r = 1 / g_L`, `tau_m = C_m / g_L`). The conductances decay exactly; the
//! potential is integrated over each step with the classical fourth-order
//! Runge-Kutta method, the conductances at the stages taken from their exact
//! solution. NEST integrates the same equations with GSL's adaptive RKF45
//! (absolute error 1e-3); `tests/test_network_nest_models.py` states how far
//! the spike times are apart. As in NEST, the potential that drives the
//! currents is capped at `v_thresh` within a step, a refractory neuron is
//! held at `v_reset` while its conductances go on decaying, and arrivals are
//! taken in at the step boundary.

use super::{Current, Dynamics, NeuronModel, Receptor, State, StepIo};
use crate::engine::kernel::{self, multiversion};
use crate::error::Result;
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::SynapseKind;

/// NEST's `iaf_cond_exp`.
pub struct IafCondExp;

impl NeuronModel for IafCondExp {
    const NAME: &'static str = "iaf_cond_exp";
    const ABOUT: &'static str =
        "NEST's iaf_cond_exp: conductance-based exponential synapses, RK4 at dt";
    const STATE: &'static [&'static str] = &["v", "g#"];

    fn accepts(kind: &SynapseKind) -> bool {
        matches!(kind, SynapseKind::Conductance { .. })
    }

    fn build<T: Real>(
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>> {
        let channels = receptors
            .iter()
            .map(|r| {
                let SynapseKind::Conductance { tau_syn, e_rev } = r.kind else {
                    unreachable!("checked")
                };
                Channel {
                    e_rev: T::from_f64(e_rev),
                    half: T::from_f64(libm::exp(-0.5 * dt / tau_syn)),
                    full: T::from_f64(libm::exp(-dt / tau_syn)),
                }
            })
            .collect();
        let mut names = vec!["v".to_string()];
        names.extend(receptors.iter().map(|r| format!("g{}", r.channel)));
        Ok(Box::new(Cond::<T> {
            c: Constants::new(dt, p),
            channels,
            names,
        }))
    }
}

/// One conductance channel's constants.
#[derive(Clone, Copy, Debug)]
struct Channel<T> {
    e_rev: T,
    /// Its decay over half a step and over a whole one.
    half: T,
    full: T,
}

/// The membrane's constants. Written as `dV/dt = b - a V` with
/// `a = (1 + r G) / tau_m` and `b = (v_rest + r (G E + i_ext)) / tau_m`
/// (`G` the total conductance, `G E` the sum of `g_c e_rev_c`).
#[derive(Clone, Copy, Debug)]
struct Constants<T> {
    h: T,
    /// `h / 2` and `h / 6`.
    half_h: T,
    sixth_h: T,
    inv_tau: T,
    /// `v_rest / tau_m`.
    b_rest: T,
    /// `r / tau_m`.
    r_tau: T,
    theta: T,
    reset: T,
}

impl<T: Real> Constants<T> {
    fn new(dt: f64, p: &Population) -> Self {
        Self {
            h: T::from_f64(dt),
            half_h: T::from_f64(dt / 2.0),
            sixth_h: T::from_f64(dt / 6.0),
            inv_tau: T::from_f64(1.0 / p.tau_m),
            b_rest: T::from_f64(p.v_rest / p.tau_m),
            r_tau: T::from_f64(p.r / p.tau_m),
            theta: T::from_f64(p.v_thresh),
            reset: T::from_f64(p.v_reset),
        }
    }
}

struct Cond<T> {
    c: Constants<T>,
    channels: Vec<Channel<T>>,
    names: Vec<String>,
}

impl<T: Real> Dynamics<T> for Cond<T> {
    fn model(&self) -> &'static str {
        IafCondExp::NAME
    }

    fn state_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn initial(&self, v: f64) -> T {
        T::from_f64(v)
    }

    fn voltage(&self, x: T) -> f64 {
        x.to_f64()
    }

    fn reset(&self) -> T {
        self.c.reset
    }

    fn update(&self, mut state: State<'_, T>, io: &mut StepIo<'_, T>) {
        // g_c is state 1 + c.
        for k in 0..self.channels.len() {
            if io.arrivals.fresh(k) {
                let [g] = state.arrays([1 + k]);
                let [row] = io.arrivals.rows([Some(k)]);
                take_in(io.isa, g, row.expect("a row"));
            }
        }
        let free = Free {
            until: io.until,
            now: io.now,
        };
        match self.channels.as_slice() {
            [a, b] => {
                let [v, ga, gb] = state.arrays([0, 1, 2]);
                let cf = (self.c, free);
                match io.current {
                    Current::Uniform(e) => {
                        step2::<T, false>(io.isa, v, ga, gb, [*a, *b], &[], e, cf)
                    }
                    Current::PerNeuron(e) => {
                        step2::<T, true>(io.isa, v, ga, gb, [*a, *b], e, T::ZERO, cf)
                    }
                }
            }
            _ => self.step_any(&mut state, io.current, free),
        }
        let [v] = state.arrays([0]);
        kernel::detect(v, self.c.theta, io.base, io.ids, &mut io.count);
    }

    fn direct_input(&self, r: usize) -> Option<usize> {
        Some(r + 1)
    }
}

impl<T: Real> Cond<T> {
    /// Any number of channels: the conductance sums at the three stage times
    /// first (per neuron: G and G e_rev at t_k, t_k + h/2, t_k + h), then the
    /// same RK4 step.
    fn step_any(&self, state: &mut State<'_, T>, current: Current<'_, T>, free: Free<'_>) {
        let mut sums = vec![[T::ZERO; 6]; state.len()];
        for (k, ch) in self.channels.iter().enumerate() {
            let [g] = state.arrays([1 + k]);
            for (s, g) in sums.iter_mut().zip(g.iter_mut()) {
                let (g0, gh, g1) = (*g, *g * ch.half, *g * ch.full);
                s[0] = s[0] + g0;
                s[1] = s[1] + g0 * ch.e_rev;
                s[2] = s[2] + gh;
                s[3] = s[3] + gh * ch.e_rev;
                s[4] = s[4] + g1;
                s[5] = s[5] + g1 * ch.e_rev;
                *g = g1;
            }
        }
        let [v] = state.arrays([0]);
        for (k, (v, s)) in v.iter_mut().zip(&sums).enumerate() {
            let e = match current {
                Current::Uniform(x) => x,
                Current::PerNeuron(x) => x[k],
            };
            *v = if free.now >= free.until[k] {
                rk4(*v, [s[0], s[2], s[4]], [s[1], s[3], s[5]], e, &self.c)
            } else {
                self.c.reset
            };
        }
    }
}

/// What the membrane update needs to tell free neurons from held ones.
#[derive(Clone, Copy)]
struct Free<'a> {
    until: &'a [f64],
    now: f64,
}

/// One RK4 step of the potential, given the total conductance `g` and
/// `g e_rev` sum `ge` at `t_k`, `t_k + h/2`, `t_k + h` and the current `e`.
/// NEST caps the potential that drives the currents at the threshold, so
/// each stage's slope is `b - a min(V, theta)`.
#[inline(always)]
fn rk4<T: Real>(v: T, g: [T; 3], ge: [T; 3], e: T, c: &Constants<T>) -> T {
    let a = g.map(|g| c.inv_tau + c.r_tau * g);
    let b = ge.map(|ge| c.b_rest + c.r_tau * (ge + e));
    let cap = |v: T| if v < c.theta { v } else { c.theta };
    let k1 = b[0] - a[0] * cap(v);
    let k2 = b[1] - a[1] * cap(v + c.half_h * k1);
    let k3 = b[1] - a[1] * cap(v + c.half_h * k2);
    let k4 = b[2] - a[2] * cap(v + c.h * k3);
    v + c.sixth_h * ((k1 + k4) + (k2 + k3) + (k2 + k3))
}

multiversion! {
    /// `g += arriving; arriving = 0`.
    fn take_in<T: Real>(g: &mut [T], arriving: &mut [T]) {
        for (g, a) in g.iter_mut().zip(arriving.iter_mut()) {
            *g = *g + *a;
            *a = T::ZERO;
        }
    }
}

multiversion! {
    /// The step of every neuron with two channels (excitatory and
    /// inhibitory, as NEST's model has), in one vectorised pass; `PER`: one
    /// external current per neuron (`i_ext`), else `i_const` for all.
    #[allow(clippy::too_many_arguments)] // the state, the constants, the input
    fn step2<T: Real, const PER: bool>(v: &mut [T], ga: &mut [T], gb: &mut [T], ch: [Channel<T>; 2], i_ext: &[T], i_const: T, cf: (Constants<T>, Free<'_>)) {
        let [a, b] = ch;
        let (c, free) = cf;
        let n = v.len();
        let (ga, gb, until) = (&mut ga[..n], &mut gb[..n], &free.until[..n]);
        let i_ext = if PER { &i_ext[..n] } else { i_ext };
        for i in 0..n {
            let e = if PER { i_ext[i] } else { i_const };
            let (a0, b0) = (ga[i], gb[i]);
            let (ah, bh) = (a0 * a.half, b0 * b.half);
            let (a1, b1) = (a0 * a.full, b0 * b.full);
            let g = [a0 + b0, ah + bh, a1 + b1];
            let ge = [
                a0 * a.e_rev + b0 * b.e_rev,
                ah * a.e_rev + bh * b.e_rev,
                a1 * a.e_rev + b1 * b.e_rev,
            ];
            let next = rk4(v[i], g, ge, e, &c);
            v[i] = if free.now >= until[i] { next } else { c.reset };
            ga[i] = a1;
            gb[i] = b1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: f64 = 100.0;
    const V_REST: f64 = -60.0;
    const INV_TAU: f64 = 1.0 / 20.0;

    fn constants() -> Constants<f64> {
        let mut p = Population::example(crate::neuron::Model::IafCondExp);
        (p.tau_m, p.r, p.v_rest, p.v_thresh, p.v_reset) = (20.0, R, V_REST, -50.0, -60.0);
        Constants::new(0.1, &p)
    }

    /// With constant conductances (tau_syn very long) the potential relaxes
    /// exponentially to the conductance-weighted mean of the reversal
    /// potentials: RK4 at dt = 0.1 ms follows the exact solution to 1e-8 mV.
    #[test]
    fn rk4_follows_the_exact_relaxation() {
        let c = constants();
        let (g, e_rev, i_ext) = (0.01, -80.0, 0.05);
        // tau_m dV/dt = -(V - v_rest) + r (g (e_rev - V) + i_ext)
        let k = (1.0 + R * g) * INV_TAU;
        let v_inf = (V_REST + R * (g * e_rev + i_ext)) / (1.0 + R * g);
        let mut v = -52.0f64;
        for step in 1..=400 {
            v = rk4(v, [g; 3], [g * e_rev; 3], i_ext, &c);
            let exact = v_inf + (-52.0 - v_inf) * (-k * 0.1 * step as f64).exp();
            assert!((v - exact).abs() < 1e-8, "step {step}: {v} vs {exact}");
            assert!(v < c.theta);
        }
    }

    /// A decaying conductance: RK4 against a fine Euler reference.
    #[test]
    fn rk4_follows_a_decaying_conductance() {
        let c = constants();
        let (tau_s, e_rev) = (5.0f64, -80.0);
        let (half, full) = ((-0.05f64 / tau_s).exp(), (-0.1f64 / tau_s).exp());
        let (mut v, mut g) = (-55.0f64, 0.05f64);
        let (mut v_ref, mut g_ref) = (-55.0f64, 0.05f64);
        let fine = 10_000;
        for _ in 0..100 {
            let gs = [g, g * half, g * full];
            v = rk4(v, gs, gs.map(|x| x * e_rev), 0.0, &c);
            g *= full;
            for _ in 0..fine {
                let dv = ((V_REST - v_ref) + R * g_ref * (e_rev - v_ref)) * INV_TAU;
                v_ref += dv * 0.1 / fine as f64;
                g_ref *= (-0.1 / fine as f64 / tau_s).exp();
            }
        }
        assert!((v - v_ref).abs() < 1e-4, "{v} vs {v_ref}");
    }
}
