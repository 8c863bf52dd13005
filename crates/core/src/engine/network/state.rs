//! Checkpoints of the network engine: every partition's named arrays, cut
//! and joined by neuron so that a state saved with one partitioning restores
//! into any other.
//!
//! Per neuron: the neuron models' state arrays (by the names the models give
//! them, `y`, `isyn0`, `v`, `g1`, ...), `until`, each channel's ring buffer
//! (`ring<c>`, `slots` values) and dirty flags (`dirty<c>`: the partition's
//! flags, repeated per neuron), and each Poisson input's generator state
//! (`poisson<q>`, 4 words per target neuron, zeros elsewhere). Spike-time
//! inputs need nothing: how far each has gone follows from the step.

use super::part::Part;
use crate::checkpoint::{EngineState, PartitionState, StateArray, StateData};
use crate::error::{Error, Result};
use crate::model::Real;
use crate::rng::Xoshiro256pp;

impl<T: Real> Part<T> {
    /// This range's dynamic state.
    pub(super) fn save_state(&self, names: &[String], slots: usize) -> PartitionState {
        let len = self.range.len();
        let f = |v: &[T]| StateData::F64(v.iter().map(|&x| x.to_f64()).collect());
        let mut arrays: Vec<StateArray> = names
            .iter()
            .zip(&self.arrays)
            .map(|(n, a)| StateArray::new(n, 1, f(a)))
            .collect();
        arrays.push(StateArray::new(
            "until",
            1,
            StateData::F64(self.until.clone()),
        ));
        for (ch, ring) in self.ring.iter().enumerate() {
            // Slot-major rows to neuron-major values.
            let mut by_neuron = vec![0.0f64; len * slots];
            for slot in 0..slots {
                for i in 0..len {
                    by_neuron[i * slots + slot] = ring[slot * len + i].to_f64();
                }
            }
            arrays.push(StateArray::new(
                &format!("ring{ch}"),
                slots,
                StateData::F64(by_neuron),
            ));
            let flags: Vec<u8> = (0..len)
                .flat_map(|_| self.dirty[ch].iter().map(|&d| u8::from(d)))
                .collect();
            arrays.push(StateArray::new(
                &format!("dirty{ch}"),
                slots,
                StateData::U8(flags),
            ));
        }
        for (q, input) in self.inputs.poisson.iter().enumerate() {
            let mut words = vec![0u64; len * 4];
            for (&i, rng) in input.targets.iter().zip(&input.rngs) {
                words[i as usize * 4..i as usize * 4 + 4].copy_from_slice(&rng.state());
            }
            arrays.push(StateArray::new(
                &format!("poisson{q}"),
                4,
                StateData::U64(words),
            ));
        }
        PartitionState {
            range: self.range.clone(),
            arrays,
        }
    }

    /// Restores [`Self::save_state`]'s state (of these neurons, cut from the
    /// network-wide state) after `step` steps; `pending` spike at the next.
    pub(super) fn restore_state(
        &mut self,
        st: &PartitionState,
        names: &[String],
        step: u64,
        pending: &[u32],
        slots: usize,
    ) -> Result<()> {
        let len = self.range.len();
        let bad = |name: &str| {
            Error::param(
                "checkpoint",
                format!("state array {name} has the wrong type"),
            )
        };
        let floats = |name: &str, width: usize| -> Result<&Vec<f64>> {
            match st.array(name, width)? {
                StateData::F64(v) => Ok(v),
                _ => Err(bad(name)),
            }
        };
        for (name, a) in names.iter().zip(self.arrays.iter_mut()) {
            *a = floats(name, 1)?.iter().map(|&x| T::from_f64(x)).collect();
        }
        self.until = floats("until", 1)?.clone();
        for ch in 0..self.ring.len() {
            let values = floats(&format!("ring{ch}"), slots)?;
            for slot in 0..slots {
                for i in 0..len {
                    self.ring[ch][slot * len + i] = T::from_f64(values[i * slots + slot]);
                }
            }
            let name = format!("dirty{ch}");
            let StateData::U8(flags) = st.array(&name, slots)? else {
                return Err(bad(&name));
            };
            // A row is dirty here if it was in any partition it came from:
            // taking in a row of zeros changes nothing, so this is exact
            // whatever the old and new partitions.
            for slot in 0..slots {
                self.dirty[ch][slot] = (0..len).any(|i| flags[i * slots + slot] != 0);
            }
        }
        for (q, input) in self.inputs.poisson.iter_mut().enumerate() {
            let name = format!("poisson{q}");
            let StateData::U64(words) = st.array(&name, 4)? else {
                return Err(bad(&name));
            };
            for (&i, rng) in input.targets.iter().zip(input.rngs.iter_mut()) {
                let w: [u64; 4] = words[i as usize * 4..i as usize * 4 + 4]
                    .try_into()
                    .expect("4 words");
                if w == [0; 4] {
                    return Err(Error::param(
                        "checkpoint",
                        format!(
                            "has no generator state for Poisson input {q} of neuron {}",
                            self.range.start + i as usize
                        ),
                    ));
                }
                *rng = Xoshiro256pp::from_state(w);
            }
        }
        for seg in &mut self.segments {
            seg.state_was_set(&self.until[seg.local.clone()]);
        }
        self.inputs.rewind(step);
        self.fired.clear();
        self.fired
            .extend(EngineState::pending_in(pending, &self.range));
        Ok(())
    }
}
