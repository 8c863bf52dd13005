//! Spike recorders: what a run keeps of its spikes, and how it is saved.
//!
//! The spikes of step `k` (0-based) are the neurons with `V >= v_thresh` at the
//! start of that step, and belong to time `(k + 1) * dt` (SPEC section 1).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::{self, npz};
use crate::resources;

/// Receives the spikes of each step, in step order.
pub trait SpikeSink {
    /// `fired`: the ids (ascending) of the neurons that spiked at step `step`.
    fn record(&mut self, step: usize, fired: &[u32]);

    /// Whether the sink can take no more (its file could not be written):
    /// the run stops at the next chunk instead of simulating on for nothing.
    fn failed(&self) -> bool {
        false
    }
}

/// What a run records beyond spike counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordMode {
    /// The seed's dense boolean array of shape (steps, N).
    Dense,
    /// Spike events: (time, neuron id) pairs sorted by time, then id.
    #[default]
    Events,
    /// Only the number of spikes per neuron.
    Counts,
}

impl std::str::FromStr for RecordMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dense" => Ok(RecordMode::Dense),
            "events" => Ok(RecordMode::Events),
            "counts" => Ok(RecordMode::Counts),
            other => Err(Error::param(
                "record",
                format!("must be dense, events or counts, got {other:?}"),
            )),
        }
    }
}

/// The recorder every run uses: counts per neuron always, plus a dense raster
/// or an event list as asked.
pub struct Recorder {
    mode: RecordMode,
    n: usize,
    steps: usize,
    counts: Vec<u64>,
    raster: Vec<bool>,
    event_steps: Vec<u64>,
    event_ids: Vec<u32>,
}

impl Recorder {
    /// A recorder for `steps` steps of `n` neurons; refuses a dense raster the
    /// machine cannot hold.
    pub fn new(mode: RecordMode, n: usize, steps: usize) -> Result<Self> {
        let raster = if mode == RecordMode::Dense {
            resources::zeroed_vec(
                &format!("the dense spike array ({steps} steps x {n} neurons)"),
                steps.saturating_mul(n),
                "record events instead (--format events / record=\"events\")",
            )?
        } else {
            Vec::new()
        };
        Ok(Self {
            mode,
            n,
            steps,
            counts: vec![0; n],
            raster,
            event_steps: Vec::new(),
            event_ids: Vec::new(),
        })
    }

    /// The record of the run, with `dt` to place spikes in time.
    pub fn finish(self, dt: f64) -> SpikeRecord {
        SpikeRecord {
            n: self.n,
            steps: self.steps,
            dt,
            total: self.counts.iter().sum(),
            counts: self.counts,
            raster: (self.mode == RecordMode::Dense).then_some(self.raster),
            events: (self.mode == RecordMode::Events).then_some(Events {
                steps: self.event_steps,
                ids: self.event_ids,
            }),
            unrecorded: Vec::new(),
        }
    }
}

impl SpikeSink for Recorder {
    #[inline]
    fn record(&mut self, step: usize, fired: &[u32]) {
        for &i in fired {
            self.counts[i as usize] += 1;
        }
        match self.mode {
            RecordMode::Dense => {
                let row = &mut self.raster[step * self.n..(step + 1) * self.n];
                for &i in fired {
                    row[i as usize] = true;
                }
            }
            RecordMode::Events => {
                self.event_steps
                    .extend(std::iter::repeat_n(step as u64, fired.len()));
                self.event_ids.extend_from_slice(fired);
            }
            RecordMode::Counts => {}
        }
    }
}

/// Spike events: parallel arrays of step index and neuron id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Events {
    /// The step of each spike (time `(step + 1) * dt`).
    pub steps: Vec<u64>,
    /// The neuron of each spike.
    pub ids: Vec<u32>,
}

/// Everything a run recorded.
#[derive(Clone, Debug)]
pub struct SpikeRecord {
    /// Number of neurons.
    pub n: usize,
    /// Number of steps.
    pub steps: usize,
    /// Time step (ms).
    pub dt: f64,
    /// Total number of spikes.
    pub total: u64,
    /// Spikes per neuron.
    pub counts: Vec<u64>,
    /// The dense raster, row-major (steps, n), when recorded.
    pub raster: Option<Vec<bool>>,
    /// The events, when recorded.
    pub events: Option<Events>,
    /// Per population, the spikes of neurons whose spikes were not written
    /// (`[[record.spikes_from]]`): `counts` and `total` hold those written
    /// only. Empty when every neuron's spikes are.
    pub unrecorded: Vec<u64>,
}

impl SpikeRecord {
    /// Simulated time covered (ms).
    pub fn duration_ms(&self) -> f64 {
        self.steps as f64 * self.dt
    }

    /// Mean firing rate over all neurons (Hz).
    pub fn mean_rate_hz(&self) -> f64 {
        rate_hz(self.total, self.n, self.duration_ms())
    }

    /// Firing rate of each neuron (Hz).
    pub fn rates_hz(&self) -> Vec<f64> {
        self.counts
            .iter()
            .map(|&c| rate_hz(c, 1, self.duration_ms()))
            .collect()
    }

    /// Spike times of the events (ms): `(step + 1) * dt`.
    pub fn event_times_ms(&self) -> Option<Vec<f64>> {
        let dt = self.dt;
        self.events
            .as_ref()
            .map(|e| e.steps.iter().map(|&k| step_time_ms(k, dt)).collect())
    }

    /// Saves the dense raster as the seed's `.npy` (bool, shape (steps, N)).
    pub fn save_dense(&self, path: &Path) -> Result<()> {
        let raster = self
            .raster
            .as_ref()
            .ok_or_else(|| Error::file(path, "the run did not record the dense spike array"))?;
        io::save_npy(path, raster, &[self.steps, self.n], false)
    }

    /// Saves the events as `.npz` with `times` (float64, ms) and `ids` (uint32).
    pub fn save_events(&self, path: &Path) -> Result<()> {
        let times = self
            .event_times_ms()
            .ok_or_else(|| Error::file(path, "the run did not record spike events"))?;
        let ids = &self
            .events
            .as_ref()
            .expect("events exist when times do")
            .ids;
        npz::save_npz(path, |npz| {
            npz.add("times", &times, &[times.len()])?;
            npz.add("ids", ids, &[ids.len()])
        })
    }
}

/// The time of a spike recorded at step `k` (ms): the end of the step,
/// `(k + 1) * dt`, as the seed places it.
#[inline]
pub fn step_time_ms(k: u64, dt: f64) -> f64 {
    (k + 1) as f64 * dt
}

/// `spikes` spread over `neurons` neurons and `duration_ms`, in Hz.
pub fn rate_hz(spikes: u64, neurons: usize, duration_ms: f64) -> f64 {
    if neurons == 0 || duration_ms <= 0.0 {
        return 0.0;
    }
    spikes as f64 / neurons as f64 / (duration_ms * 1e-3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_each_mode() {
        for mode in [RecordMode::Dense, RecordMode::Events, RecordMode::Counts] {
            let mut r = Recorder::new(mode, 3, 2).unwrap();
            r.record(0, &[0, 2]);
            r.record(1, &[2]);
            let rec = r.finish(0.5);
            assert_eq!(rec.counts, vec![1, 0, 2]);
            assert_eq!(rec.total, 3);
            assert_eq!(rec.mean_rate_hz(), 3.0 / 3.0 / 1e-3);
            match mode {
                RecordMode::Dense => {
                    assert_eq!(
                        rec.raster.unwrap(),
                        vec![true, false, true, false, false, true]
                    )
                }
                RecordMode::Events => {
                    assert_eq!(rec.event_times_ms().unwrap(), vec![0.5, 0.5, 1.0]);
                    assert_eq!(rec.events.unwrap().ids, vec![0, 2, 2]);
                }
                RecordMode::Counts => assert!(rec.raster.is_none() && rec.events.is_none()),
            }
        }
    }

    #[test]
    fn refuses_a_raster_that_cannot_fit() {
        let err = Recorder::new(RecordMode::Dense, 1 << 20, 1 << 40)
            .err()
            .unwrap();
        assert!(err.to_string().contains("record events instead"), "{err}");
    }
}
