//! Neuron models: what a population's neurons do between spikes, at
//! threshold and after it, one model per file.
//!
//! A model is a type implementing [`NeuronModel`]: its name (NEST's, where
//! NEST has the model), the synapse types it accepts, and a constructor of its
//! [`Dynamics`] for one population. The engine owns each neuron's state as
//! named arrays (struct of arrays, one `Vec` per name, see
//! [`Dynamics::state_names`]), so checkpoints and recording need no code of
//! their own per model; the model owns the block update of those arrays over
//! one step ([`Dynamics::update`]), and the reset after a spike.
//!
//! Every model shares the population parameters of
//! [`crate::network::description::Population`] (`tau_m`, `r`, `v_rest`,
//! `v_reset`, `v_thresh`, `t_ref`, `i_ext`, `v0`; [`PARAMETERS`] lists them
//! with their units); what is particular to a synapse (`tau_syn`, `e_rev`)
//! belongs to the synapse type ([`SynapseKind`]).
//!
//! # Adding a model
//!
//! 1. Write `neuron/my_model.rs` with a unit struct implementing
//!    [`NeuronModel`] and a struct implementing [`Dynamics`] (see
//!    `iaf_psc_alpha.rs`: about 300 lines with its tests).
//! 2. Add one line, `MyModel => my_model::MyModel,`, to the `models!` list
//!    below (it declares the module too). Network files can then say
//!    `model = "my_model"`.

mod psc;

use std::ops::Range;

use crate::engine::Isa;
use crate::error::{Error, Result};
use crate::model::Real;
use crate::network::description::Population;
use crate::synapses::SynapseKind;

/// A neuron model: its name, what it accepts, and how to build its dynamics.
pub trait NeuronModel {
    /// The name network files use (`model = "iaf_psc_alpha"`).
    const NAME: &'static str;
    /// One line on what it is, for `--help` and error messages.
    const ABOUT: &'static str;
    /// The names of its state arrays, `#` standing for a channel number
    /// (`isyn#`): what [`Dynamics::state_names`] can give.
    const STATE: &'static [&'static str];

    /// Whether its neurons can receive synapses of `kind`.
    fn accepts(kind: &SynapseKind) -> bool;

    /// The dynamics of population `pop` with time step `dt` (ms), whose
    /// neurons receive the synapse channels `receptors` (each of a kind the
    /// model accepts: [`Model::build`] checks).
    fn build<T: Real>(
        pop: &Population,
        dt: f64,
        receptors: &[Receptor],
    ) -> Result<Box<dyn Dynamics<T>>>;
}

/// One synapse channel a population receives: its index among the network's
/// channels (into the engine's ring buffers) and its type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Receptor {
    /// The channel's index among the network's channels.
    pub channel: usize,
    /// Its synapse type.
    pub kind: SynapseKind,
}

/// The external current of a block of neurons over a step.
#[derive(Clone, Copy, Debug)]
pub enum Current<'a, T> {
    /// The same for every neuron (the fast path).
    Uniform(T),
    /// One value per neuron.
    PerNeuron(&'a [T]),
}

/// The state arrays of a block of neurons: the engine's arrays (one per
/// name, over a partition) seen through the model's list of names.
pub struct State<'a, T> {
    arrays: &'a mut [Vec<T>],
    /// The engine's array of each of the model's state names.
    slots: &'a [usize],
    range: Range<usize>,
}

impl<'a, T> State<'a, T> {
    /// The block `range` of `arrays`, the model's names at `slots`.
    pub(crate) fn new(arrays: &'a mut [Vec<T>], slots: &'a [usize], range: Range<usize>) -> Self {
        Self {
            arrays,
            slots,
            range,
        }
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the block is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }

    /// The arrays of the model's state names `which` (distinct indices into
    /// [`Dynamics::state_names`]), each one value per neuron of the block.
    pub fn arrays<const N: usize>(&mut self, which: [usize; N]) -> [&mut [T]; N] {
        let want = which.map(|k| self.slots[k]);
        let range = self.range.clone();
        self.arrays
            .get_disjoint_mut(want)
            .expect("distinct state arrays")
            .map(|a| &mut a[range.clone()])
    }
}

/// The weights arriving at a block of neurons for one step, per receptor.
pub struct Arrivals<'a, T> {
    ring: &'a mut [Vec<T>],
    dirty: &'a [Vec<bool>],
    receptors: &'a [Receptor],
    /// Slots of the ring (times the partition's length): arrivals at `t_k`
    /// and at `t_{k+1}`...
    now: usize,
    next: usize,
    now_slot: usize,
    next_slot: usize,
    /// ...and the block within the partition.
    range: Range<usize>,
    /// A column arriving at `t_k` that is read in place ([`Lent`]).
    lent: Option<Lent<'a, T>>,
}

/// The weights that arrive at `t_k` on `channel` for a whole partition, lent
/// where they are (one spike's column of a dense projection) instead of
/// copied into the ring row, which stays clean (zeros). [`Arrivals::lent`]
/// reads them there; [`Arrivals::rows`] copies them into the row first.
#[derive(Clone, Copy)]
pub(crate) struct Lent<'a, T> {
    pub(crate) channel: usize,
    pub(crate) column: &'a [T],
}

impl<'a, T: Copy> Arrivals<'a, T> {
    /// What the ring buffers `ring` (with flags `dirty`, partitions of
    /// `len` neurons) hold for the block `range` at step `k` (`mask`: slots - 1).
    pub(crate) fn new(
        ring: &'a mut [Vec<T>],
        dirty: &'a [Vec<bool>],
        receptors: &'a [Receptor],
        k: u64,
        mask: u64,
        len: usize,
        range: Range<usize>,
    ) -> Self {
        let (now_slot, next_slot) = ((k & mask) as usize, ((k + 1) & mask) as usize);
        Self {
            ring,
            dirty,
            receptors,
            now: now_slot * len,
            next: next_slot * len,
            now_slot,
            next_slot,
            range,
            lent: None,
        }
    }

    /// With `lent`, the weights arriving at `t_k` on its channel.
    pub(crate) fn lending(mut self, lent: Option<Lent<'a, T>>) -> Self {
        self.lent = lent;
        self
    }

    /// For receptor `r`, if what arrives on it at `t_k` is lent (`Lent`):
    /// those weights, one per neuron, to be read where they are (not
    /// changed); its ring row is clean. `None` otherwise (then
    /// [`Arrivals::rows`] has them).
    pub fn lent(&self, r: usize) -> Option<&[T]> {
        let lent = self.lent?;
        let rec = &self.receptors[r];
        (rec.channel == lent.channel && !rec.kind.is_jump())
            .then(|| &lent.column[self.range.clone()])
    }

    /// Whether anything arrived for receptor `r` (else its row is all zero).
    pub fn fresh(&self, r: usize) -> bool {
        let rec = &self.receptors[r];
        let slot = if rec.kind.is_jump() {
            self.next_slot
        } else {
            self.now_slot
        };
        self.dirty[rec.channel][slot]
    }

    /// The weights arriving for receptors `which` (distinct), one per neuron,
    /// to be taken in and set to zero: for a jump receptor (delta) those
    /// arriving at `t_{k+1}`, for any other those arriving at `t_k`.
    pub fn rows<const N: usize>(&mut self, which: [Option<usize>; N]) -> [Option<&mut [T]>; N] {
        let channels = which.map(|r| r.map(|r| self.receptors[r].channel));
        let jumps = which.map(|r| r.is_some_and(|r| self.receptors[r].kind.is_jump()));
        if let Some(lent) = self.lent {
            if (0..N).any(|k| channels[k] == Some(lent.channel) && !jumps[k]) {
                // The lent weights, into their (clean) row after all.
                let at = self.now + self.range.start..self.now + self.range.end;
                self.ring[lent.channel][at].copy_from_slice(&lent.column[self.range.clone()]);
                self.lent = None;
            }
        }
        let picked = pick(self.ring, channels);
        let mut k = 0;
        picked.map(|row| {
            let at = if jumps[k] { self.next } else { self.now };
            k += 1;
            row.map(|v| &mut v[at + self.range.start..at + self.range.end])
        })
    }
}

/// What one step of a block of neurons reads and where its spikes go.
pub struct StepIo<'a, T> {
    /// The step, who is held, the bounds and where the spikes go.
    pub block: Block<'a, T>,
    /// The external current (nA).
    pub current: Current<'a, T>,
    /// What arrives, per receptor.
    pub arrivals: Arrivals<'a, T>,
    /// One value per neuron the update may use as it likes.
    pub scratch: &'a mut [T],
}

/// What every step of a block of neurons has, with or without input
/// ([`StepIo`], [`Dynamics::update_quiet`]): the step, which neurons are
/// held, the bounds a model may keep, and where the spikes go.
pub struct Block<'a, T> {
    /// The step number `k` (the step advances from `t_k` to `t_{k+1}`), as a
    /// float so that the refractory test vectorises.
    pub now: f64,
    /// The first step at which each neuron integrates again (`now >= until`:
    /// free; otherwise it is held at `v_reset`).
    pub until: &'a [f64],
    /// The global id of the block's first neuron.
    pub base: u32,
    /// For a model that lists its held neurons ([`Dynamics::lists_held`]):
    /// the neurons of the block (indices into it) that may be held this
    /// step, every neuron whose `until` is above `now` among them, so that
    /// it can look at these instead of every `until`; empty otherwise.
    pub held: &'a [u32],
    /// Upper bounds of the first state variable, one per block of
    /// `kernel::BLOCK` neurons, that a model may keep from step to step
    /// (the seed's kernels skip the threshold test of blocks whose bound
    /// is below it); `+inf` is unknown, and the engine sets them all to
    /// unknown whenever it sets the state itself (restore, update). A
    /// model that keeps none leaves them alone.
    pub bounds: &'a mut [T],
    /// Room for one id per neuron: the ids at threshold after the step go
    /// here, ascending...
    pub ids: &'a mut [u32],
    /// ...and how many there are.
    pub count: usize,
    /// The instruction set to compile the block's loops for.
    pub isa: Isa,
}

/// The dynamics of one population: constants only; the state lives in the
/// engine's named arrays ([`State`]).
pub trait Dynamics<T: Real>: Send + Sync {
    /// The model's name ([`NeuronModel::NAME`]).
    fn model(&self) -> &'static str;

    /// Names of the state arrays, one value per neuron each; the first is the
    /// membrane potential in the model's own coordinates, the others start
    /// at zero. A name means the same in every model that has it (`y`:
    /// `V - v_rest`; `isyn<c>`: the current of channel `c`).
    fn state_names(&self) -> Vec<String>;

    /// The first state value of a neuron at potential `v` (mV).
    fn initial(&self, v: f64) -> T;

    /// The potential (mV) of a neuron whose first state value is `x`.
    fn voltage(&self, x: T) -> f64;

    /// The first state value after a spike (`v_reset` in its coordinates).
    fn reset(&self) -> T;

    /// One step of a block of neurons (see [`StepIo`]): take in what arrives,
    /// advance every free neuron from `t_k` to `t_{k+1}` and hold the others
    /// at the reset value, decay the synaptic variables, and write the ids of
    /// the neurons at threshold.
    fn update(&self, state: State<'_, T>, io: &mut StepIo<'_, T>);

    /// For receptor `r`: the state array (an index into
    /// [`Dynamics::state_names`]) that a weight arriving at `t_k` is added to
    /// unchanged, if the model takes arrivals in that way (an exponential
    /// current or conductance), so that a spike without delay can go there
    /// directly instead of through a ring buffer.
    fn direct_input(&self, r: usize) -> Option<usize>;

    /// Whether the update reads `Block::held` (the engine keeps the list
    /// only for models that do: it costs a look at each held neuron a step).
    fn lists_held(&self) -> bool {
        false
    }

    /// Whether the model takes quiet steps by [`Dynamics::update_quiet`]:
    /// steps in which nothing arrives on any receptor (no ring row to take
    /// in, no input) and every neuron of the block has the same external
    /// current. The engine asks once, when it builds the population, and
    /// then gives it every quiet step.
    fn quiet_steps(&self) -> bool {
        false
    }

    /// One quiet step of a block of neurons whose external current is
    /// `i_ext` (nA), for a model with [`Dynamics::quiet_steps`]: the same
    /// bits as [`Dynamics::update`] on that step, by a shorter path (a
    /// quiet network spends most of its steps here, and the seed's run at
    /// about 100 ns a step feels every call the general step makes).
    fn update_quiet(&self, _state: State<'_, T>, _i_ext: T, _io: &mut Block<'_, T>) {
        unreachable!("a model without quiet steps is given none")
    }
}

/// Mutable references to up to `N` distinct elements of `v`, without allocating.
pub(crate) fn pick<V, const N: usize>(
    v: &mut [V],
    want: [Option<usize>; N],
) -> [Option<&mut V>; N] {
    let mut out: [Option<&mut V>; N] = std::array::from_fn(|_| None);
    for (i, x) in v.iter_mut().enumerate() {
        if let Some(k) = want.iter().position(|&w| w == Some(i)) {
            out[k] = Some(x);
        }
    }
    out
}

/// The population parameters every model reads: name, unit, meaning.
pub const PARAMETERS: &[(&str, &str, &str)] = &[
    ("tau_m", "ms", "membrane time constant"),
    ("r", "MOhm", "membrane resistance (1 / g_L; tau_m / C_m)"),
    (
        "v_rest",
        "mV",
        "resting (leak reversal) potential, NEST's E_L",
    ),
    ("v_reset", "mV", "potential after a spike"),
    (
        "v_thresh",
        "mV",
        "threshold: a neuron spikes when V >= v_thresh",
    ),
    (
        "t_ref",
        "ms",
        "absolute refractory period, V held at v_reset",
    ),
    ("i_ext", "nA", "constant external current, NEST's I_e"),
    ("v0", "mV", "initial potential"),
];

/// Generates the registry: [`Model`] (one variant per model), its names,
/// what each accepts and the constructor of its dynamics.
macro_rules! models {
    ($($variant:ident => $module:ident::$ty:ident,)*) => {
        $(mod $module;)*
        /// Every neuron model lifsim has.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Model {
            $(
                #[doc = concat!("`", stringify!($module), "`")]
                $variant,
            )*
        }

        impl Model {
            /// Every model, in the order of the registry.
            pub const ALL: &'static [Model] = &[$(Model::$variant),*];

            /// The name network files use.
            pub fn name(self) -> &'static str {
                match self { $(Model::$variant => <$module::$ty as NeuronModel>::NAME,)* }
            }

            /// One line on what it is.
            pub fn about(self) -> &'static str {
                match self { $(Model::$variant => <$module::$ty as NeuronModel>::ABOUT,)* }
            }

            /// Its state arrays' names, `#` for a channel number.
            pub fn state(self) -> &'static [&'static str] {
                match self { $(Model::$variant => <$module::$ty as NeuronModel>::STATE,)* }
            }

            /// Whether its neurons can receive synapses of `kind`.
            pub fn accepts(self, kind: &SynapseKind) -> bool {
                match self { $(Model::$variant => <$module::$ty as NeuronModel>::accepts(kind),)* }
            }

            /// The dynamics of `pop` (see [`NeuronModel::build`]); refuses
            /// receptors of a kind the model does not accept (the network is
            /// checked before it is built; this guards the constructors).
            pub fn build<T: Real>(
                self,
                pop: &Population,
                dt: f64,
                receptors: &[Receptor],
            ) -> Result<Box<dyn Dynamics<T>>> {
                if let Some(r) = receptors.iter().find(|r| !self.accepts(&r.kind)) {
                    return Err(Error::param(
                        "synapse",
                        format!("{} neurons do not accept {} synapses", self.name(), r.kind.name()),
                    ));
                }
                match self { $(Model::$variant => <$module::$ty as NeuronModel>::build::<T>(pop, dt, receptors),)* }
            }
        }
    };
}

models! {
    LifEuler => lif_euler::LifEuler,
    IafPscDelta => iaf_psc_delta::IafPscDelta,
    IafPscExp => iaf_psc_exp::IafPscExp,
    IafPscAlpha => iaf_psc_alpha::IafPscAlpha,
    IafCondExp => iaf_cond_exp::IafCondExp,
}

impl std::str::FromStr for Model {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Model::ALL
            .iter()
            .copied()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
                Error::param(
                    "model",
                    format!("unknown neuron model {s:?}; choose {}", names.join(", ")),
                )
            })
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The names of every state array any model can have, with `#` for a
/// channel number (`isyn#`): what a checkpoint of the network engine may hold.
pub fn state_name_patterns() -> Vec<&'static str> {
    let mut names = Vec::new();
    for m in Model::ALL {
        for n in m.state() {
            if !names.contains(n) {
                names.push(*n);
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_is_registered_by_name() {
        for m in Model::ALL {
            assert_eq!(m.name().parse::<Model>().unwrap(), *m);
            assert!(!m.about().is_empty());
        }
        let err = "iaf_psc_beta".parse::<Model>().unwrap_err().to_string();
        assert!(err.contains("choose lif_euler, iaf_psc_delta"), "{err}");
    }

    #[test]
    fn state_names_cover_every_model() {
        let names = state_name_patterns();
        for want in ["y", "isyn#", "disyn#", "v", "g#"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
    }
}
