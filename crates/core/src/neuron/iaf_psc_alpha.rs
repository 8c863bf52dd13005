//! `iaf_psc_alpha`: NEST's leaky integrate-and-fire neuron with alpha-shaped
//! synaptic currents, integrated exactly with NEST's propagators
//! (`models/iaf_psc_alpha.cpp`, `libnestutil/iaf_propagator.cpp`).
//!
//! A spike of weight `w` (nA) arriving at `t_a` adds the current
//! `w (t - t_a)/tau_syn e^{1 - (t - t_a)/tau_syn}`, which peaks at `w` after
//! `tau_syn`. Each alpha channel `c` is two state variables, `dI_c` and `I_c`
//! (NEST's `dI_ex`, `I_ex`); over step `k`, for a neuron that is not refractory:
//!
//! ```text
//! dI_c += e / tau_c * (weights arriving at t_k)
//! y     = P30 i_ext + sum_c (P31_c dI_c + P32_c I_c) + expm1(-dt/tau_m) y + y
//! I_c   = P21_c dI_c + P22_c I_c;  dI_c *= P11_c
//! ```
//!
//! with `y = V - v_rest`, the sum formed in NEST's order. (NEST takes in the
//! arrivals at the end of the step before; nothing happens in between, so
//! the numbers are the same.) A refractory neuron is held at `v_reset`, its
//! currents go on.

use super::{Current, Dynamics, NeuronModel, Receptor, State, StepIo};
use crate::engine::kernel::{self, multiversion};
use crate::error::Result;
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::{self, SynapseKind};

/// NEST's `iaf_psc_alpha`.
pub struct IafPscAlpha;

impl NeuronModel for IafPscAlpha {
    const NAME: &'static str = "iaf_psc_alpha";
    const ABOUT: &'static str =
        "NEST's iaf_psc_alpha: exact integration, alpha-shaped current synapses";
    const STATE: &'static [&'static str] = &["y", "disyn#", "isyn#"];

    fn accepts(kind: &SynapseKind) -> bool {
        matches!(kind, SynapseKind::Alpha { .. })
    }

    fn build<T: Real>(
        p: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>> {
        let channels = receptors
            .iter()
            .map(|r| {
                let SynapseKind::Alpha { tau_syn } = r.kind else {
                    unreachable!("checked")
                };
                Channel::new(dt, p.tau_m, tau_syn, p.r)
            })
            .collect();
        let mut names = vec!["y".to_string()];
        for r in receptors {
            names.push(format!("disyn{}", r.channel));
            names.push(format!("isyn{}", r.channel));
        }
        Ok(Box::new(Alpha::<T> {
            v_rest: p.v_rest,
            p30: T::from_f64(synapses::p_current(dt, p.tau_m, p.r)),
            expm1_tau_m: T::from_f64(libm::expm1(-dt / p.tau_m)),
            theta: T::from_f64(p.v_thresh - p.v_rest),
            reset: T::from_f64(p.v_reset - p.v_rest),
            channels,
            names,
        }))
    }
}

/// The propagators of one alpha channel.
#[derive(Clone, Copy, Debug)]
struct Channel<T> {
    /// `e / tau_syn`: `dI` per unit of arriving weight.
    initial: T,
    p11: T,
    p21: T,
    p22: T,
    p31: T,
    p32: T,
}

impl<T: Real> Channel<T> {
    /// NEST's `IAFPropagatorAlpha(tau_syn, tau_m, C_m).evaluate(h)` with
    /// `C_m = tau_m / r`, and the rest of `iaf_psc_alpha::pre_run_hook`.
    fn new(h: f64, tau_m: f64, tau_syn: f64, r: f64) -> Self {
        let c_m = tau_m / r;
        let beta = tau_syn * tau_m / (tau_m - tau_syn);
        let gamma = beta / c_m;
        let inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m);
        let exp_h_tau_syn = libm::exp(-h / tau_syn);
        let expm1_h_tau = libm::expm1(h * inv_beta);
        let p32 = gamma * exp_h_tau_syn * expm1_h_tau;
        let p32 = if p32.is_normal() && p32 > 0.0 {
            p32
        } else {
            h / c_m * libm::exp(-h / tau_m)
        };
        let h_min_regular = 1e-7 * tau_m * tau_m / (tau_m - tau_syn).abs();
        let p31 = if h > h_min_regular {
            gamma * exp_h_tau_syn * (beta * expm1_h_tau - h)
        } else {
            0.5 * h * h / c_m * libm::exp(-h / tau_m)
        };
        let p11 = libm::exp(-h / tau_syn);
        Self {
            initial: T::from_f64(std::f64::consts::E / tau_syn),
            p11: T::from_f64(p11),
            p21: T::from_f64(h * p11),
            p22: T::from_f64(p11),
            p31: T::from_f64(p31),
            p32: T::from_f64(p32),
        }
    }
}

/// The constants of one population.
struct Alpha<T> {
    v_rest: f64,
    p30: T,
    expm1_tau_m: T,
    theta: T,
    reset: T,
    channels: Vec<Channel<T>>,
    names: Vec<String>,
}

impl<T: Real> Dynamics<T> for Alpha<T> {
    fn model(&self) -> &'static str {
        IafPscAlpha::NAME
    }

    fn state_names(&self) -> Vec<String> {
        self.names.clone()
    }

    fn initial(&self, v: f64) -> T {
        T::from_f64(v - self.v_rest)
    }

    fn voltage(&self, x: T) -> f64 {
        x.to_f64() + self.v_rest
    }

    fn reset(&self) -> T {
        self.reset
    }

    fn update(&self, mut state: State<'_, T>, io: &mut StepIo<'_, T>) {
        // dI_c is state 1 + 2c, I_c state 2 + 2c.
        for (k, c) in self.channels.iter().enumerate() {
            if io.arrivals.fresh(k) {
                let [di] = state.arrays([1 + 2 * k]);
                let [row] = io.arrivals.rows([Some(k)]);
                take_in(io.block.isa, di, row.expect("a row"), c.initial);
            }
        }
        let acc = &mut *io.scratch;
        {
            let [y] = state.arrays([0]);
            membrane(io.block.isa, acc, y, io.current, self.p30);
        }
        for (k, c) in self.channels.iter().enumerate() {
            let [di, i] = state.arrays([1 + 2 * k, 2 + 2 * k]);
            synaptic(io.block.isa, acc, di, i, c.p31, c.p32);
        }
        let free = Free {
            until: io.block.until,
            now: io.block.now,
            reset: self.reset,
        };
        let [y] = state.arrays([0]);
        leak(io.block.isa, acc, y, self.expm1_tau_m, free);
        for (k, c) in self.channels.iter().enumerate() {
            let [di, i] = state.arrays([1 + 2 * k, 2 + 2 * k]);
            propagate(io.block.isa, di, i, *c);
        }
        let [y] = state.arrays([0]);
        kernel::detect(y, self.theta, io.block.base, io.block.ids, &mut io.block.count);
    }

    fn direct_input(&self, _: usize) -> Option<usize> {
        // An arrival adds e / tau_syn times its weight, not the weight itself.
        None
    }
}

/// What the membrane update needs to tell free neurons from held ones.
#[derive(Clone, Copy)]
struct Free<'a, T> {
    until: &'a [f64],
    now: f64,
    reset: T,
}

multiversion! {
    /// `dI += initial * arriving; arriving = 0`.
    fn take_in<T: Real>(di: &mut [T], arriving: &mut [T], initial: T) {
        for (d, a) in di.iter_mut().zip(arriving.iter_mut()) {
            *d = *d + initial * *a;
            *a = T::ZERO;
        }
    }
}

multiversion! {
    /// `acc = P30 i_ext`: the first term of NEST's sum.
    fn membrane<T: Real>(acc: &mut [T], y: &[T], current: Current<'_, T>, p30: T) {
        match current {
            Current::Uniform(e) => acc.iter_mut().for_each(|a| *a = p30 * e),
            Current::PerNeuron(e) => {
                for (a, &e) in acc.iter_mut().zip(&e[..y.len()]) {
                    *a = p30 * e;
                }
            }
        }
    }
}

multiversion! {
    /// `acc += P31 dI + P32 I` for one channel, in NEST's order.
    fn synaptic<T: Real>(acc: &mut [T], di: &[T], i: &[T], p31: T, p32: T) {
        for ((a, &d), &i) in acc.iter_mut().zip(di).zip(i) {
            *a = *a + p31 * d + p32 * i;
        }
    }
}

multiversion! {
    /// `y = acc + expm1 y + y` for free neurons, `reset` for held ones.
    fn leak<T: Real>(acc: &mut [T], y: &mut [T], expm1_tau_m: T, free: Free<'_, T>) {
        for ((y, &a), &u) in y.iter_mut().zip(acc.iter()).zip(free.until) {
            let v = a + expm1_tau_m * *y + *y;
            *y = if free.now >= u { v } else { free.reset };
        }
    }
}

multiversion! {
    /// `I = P21 dI + P22 I; dI *= P11`.
    fn propagate<T: Real>(di: &mut [T], i: &mut [T], c: Channel<T>) {
        for (d, i) in di.iter_mut().zip(i.iter_mut()) {
            *i = c.p21 * *d + c.p22 * *i;
            *d = *d * c.p11;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The PSC of one spike peaks at its weight after tau_syn, as NEST's
    /// normalisation promises; checked by stepping the two state variables.
    #[test]
    fn the_current_peaks_at_the_weight_after_tau_syn() {
        let (h, tau_s) = (0.01, 0.5);
        let c = Channel::<f64>::new(h, 20.0, tau_s, 80.0);
        let (mut di, mut i) = (c.initial * 1.0, 0.0f64);
        let mut peak = (0.0, 0.0);
        for k in 1..=200 {
            i = c.p21 * di + c.p22 * i;
            di *= c.p11;
            if i > peak.1 {
                peak = (k as f64 * h, i);
            }
        }
        assert!((peak.0 - tau_s).abs() < 1e-9, "{peak:?}");
        assert!((peak.1 - 1.0).abs() < 1e-9, "{peak:?}");
    }

    /// The propagators against the closed form of the membrane's response to
    /// an alpha current (tau_m != tau_syn), and at the singularity.
    #[test]
    fn propagators_match_the_closed_form() {
        let (h, tm, ts, r) = (0.1f64, 10.0f64, 2.0f64, 40.0f64);
        let c = Channel::<f64>::new(h, tm, ts, r);
        let cm = tm / r;
        // V(h) from I(0) = 1, dI(0) = 0: the response to e^{-t/ts}.
        let p32 = ts * tm / (cm * (tm - ts)) * ((-h / tm).exp() - (-h / ts).exp());
        assert!((c.p32 - p32).abs() < 1e-14, "{} {p32}", c.p32);
        // From dI(0) = 1, I(0) = 0: I(t) = t e^{-t/ts}.
        let n = 100_000;
        let mut integral = 0.0;
        for k in 0..n {
            let t = (k as f64 + 0.5) * h / n as f64;
            integral += t * (-t / ts).exp() * (-(h - t) / tm).exp() / cm * (h / n as f64);
        }
        assert!((c.p31 - integral).abs() < 1e-10, "{} {integral}", c.p31);
        let s = Channel::<f64>::new(h, tm, tm, r);
        assert!((s.p32 - h / cm * (-h / tm).exp()).abs() < 1e-15);
    }
}
