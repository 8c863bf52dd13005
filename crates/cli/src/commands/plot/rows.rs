//! Which raster row each neuron is drawn on, and in which colour: a band of
//! rows per population (the spike file's populations, or one for all), each
//! in its own colour, optionally only the first K neurons of each (NEST's
//! Brunel example plots 50 per population). A file that holds some
//! neurons' spikes only (its recorded ranges) has rows for those alone.

use lifsim_core::io::recorded::{self, IdRanges};
use lifsim_core::io::spikes::SpikeTrain;
use plotters::style::RGBColor;

/// Population colours, in id order: the single-population ink first, then
/// colours that stay apart for colour-blind readers (Okabe-Ito).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(24, 36, 96),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(120, 120, 120),
];

/// One population's rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    /// The population's name (empty for a file without populations).
    pub name: String,
    /// Its first neuron id.
    pub start: u64,
    /// Neurons drawn: its first `shown` (of the recorded ones, where the
    /// file says which).
    pub shown: u64,
    /// Recorded neurons of earlier bands (0 where every neuron is recorded).
    rank0: u64,
    /// The row of its first neuron (row 0 at the bottom).
    pub row0: u64,
    /// Its colour.
    pub color: RGBColor,
}

/// The raster's rows: bands in id order, bottom up.
#[derive(Clone, Debug)]
pub struct Rows {
    /// The bands, one per population.
    pub bands: Vec<Band>,
    /// Rows in all.
    pub rows: u64,
    /// The file's recorded ranges and, for each, the recorded neurons
    /// before it (None: every neuron recorded).
    recorded: Option<(IdRanges, Vec<u64>)>,
}

impl Rows {
    /// The rows of `train`: every neuron, or the first `per_population` of each.
    pub fn new(train: &SpikeTrain, per_population: Option<u64>) -> Rows {
        let pops: Vec<(String, u64, u64)> = if train.populations.is_empty() {
            vec![(String::new(), 0, train.n as u64)]
        } else {
            let p = &train.populations;
            p.iter()
                .map(|p| (p.name.clone(), p.start, p.stop))
                .collect()
        };
        let recorded = train.recorded.clone().map(|r| {
            let before = r
                .iter()
                .scan(0, |sum, x| {
                    let b = *sum;
                    *sum += x[1] - x[0];
                    Some(b)
                })
                .collect();
            (r, before)
        });
        let mut row0 = 0;
        let bands = pops
            .into_iter()
            .enumerate()
            .map(|(k, (name, start, stop))| {
                let (size, rank0) = match &recorded {
                    None => (stop - start, 0),
                    Some((r, _)) => (
                        recorded::count_within(r, start, stop),
                        recorded::count_within(r, 0, start),
                    ),
                };
                let shown = per_population.map_or(size, |m| m.min(size));
                let band = Band {
                    name,
                    start,
                    shown,
                    rank0,
                    row0,
                    color: PALETTE[k % PALETTE.len()],
                };
                row0 += shown;
                band
            })
            .collect();
        Rows {
            bands,
            rows: row0,
            recorded,
        }
    }

    /// The row and band of neuron `id`, or None where it is not drawn.
    pub fn of(&self, id: u64) -> Option<(u64, usize)> {
        // Bands are few (a network's populations): a partition point is enough.
        let k = self
            .bands
            .partition_point(|b| b.start <= id)
            .checked_sub(1)?;
        let b = &self.bands[k];
        // The neuron's place among the band's drawn neurons.
        let local = match &self.recorded {
            None => id - b.start,
            Some((r, before)) => {
                let j = r.partition_point(|x| x[1] <= id);
                let x = r.get(j).filter(|x| x[0] <= id)?;
                before[j] + id - x[0] - b.rank0
            }
        };
        (local < b.shown).then(|| (b.row0 + local, k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifsim_core::io::spikes::SpikeFileKind;
    use lifsim_core::io::stream::PopulationRange;

    fn train(pops: &[(&str, u64, u64)]) -> SpikeTrain {
        SpikeTrain {
            kind: SpikeFileKind::Events,
            n: pops.last().map_or(7, |p| p.2 as usize),
            dt: Some(0.1),
            duration_ms: 1.0,
            times: vec![],
            ids: vec![],
            population: None,
            populations: pops
                .iter()
                .map(|&(name, start, stop)| PopulationRange {
                    name: name.into(),
                    start,
                    stop,
                })
                .collect(),
            recorded: None,
            complete: true,
        }
    }

    #[test]
    fn every_neuron_has_its_own_row_without_a_subset() {
        let r = Rows::new(&train(&[("E", 0, 8), ("I", 8, 10)]), None);
        assert_eq!((r.rows, r.bands.len()), (10, 2));
        assert_eq!(r.of(0), Some((0, 0)));
        assert_eq!(r.of(7), Some((7, 0)));
        assert_eq!(r.of(8), Some((8, 1)));
        assert_eq!(r.of(9), Some((9, 1)));
        assert_eq!(r.of(10), None);
        assert_ne!(r.bands[0].color, r.bands[1].color);
    }

    #[test]
    fn a_subset_keeps_the_first_k_of_each_population() {
        let r = Rows::new(&train(&[("E", 0, 8), ("I", 8, 10)]), Some(3));
        // E's 0, 1, 2 on rows 0-2; I has only 2, on rows 3-4.
        assert_eq!(r.rows, 5);
        assert_eq!(r.of(2), Some((2, 0)));
        assert_eq!(r.of(3), None);
        assert_eq!(r.of(8), Some((3, 1)));
        assert_eq!(r.of(9), Some((4, 1)));
    }

    #[test]
    fn a_file_of_recorded_neurons_has_their_rows_only() {
        // E records 2, 3, 5 of 0..8, I records 9 of 8..10.
        let mut t = train(&[("E", 0, 8), ("I", 8, 10)]);
        t.recorded = Some(vec![[2, 4], [5, 6], [9, 10]]);
        let r = Rows::new(&t, None);
        assert_eq!(r.rows, 4);
        let rows: Vec<Option<(u64, usize)>> = (0..10).map(|i| r.of(i)).collect();
        let want = [
            None,
            None,
            Some((0, 0)),
            Some((1, 0)),
            None,
            Some((2, 0)),
            None,
            None,
            None,
            Some((3, 1)),
        ];
        assert_eq!(rows, want);
        // The first 2 recorded of each population.
        let r = Rows::new(&t, Some(2));
        assert_eq!(r.rows, 3);
        assert_eq!(
            (r.of(3), r.of(5), r.of(9)),
            (Some((1, 0)), None, Some((2, 1)))
        );
    }

    #[test]
    fn a_file_without_populations_is_one_band() {
        let r = Rows::new(&train(&[]), Some(5));
        assert_eq!(
            (r.rows, r.bands.len(), r.bands[0].name.as_str()),
            (5, 1, "")
        );
        assert_eq!(r.of(6), None);
        assert_eq!(r.of(4), Some((4, 0)));
    }
}
