//! Which raster row each neuron is drawn on, and in which colour: a band of
//! rows per population (the spike file's populations, or one for all), each
//! in its own colour, optionally only the first K neurons of each (NEST's
//! Brunel example plots 50 per population).

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
    /// Neurons drawn: its first `shown`.
    pub shown: u64,
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
        let mut row0 = 0;
        let bands = pops
            .into_iter()
            .enumerate()
            .map(|(k, (name, start, stop))| {
                let shown = per_population.map_or(stop - start, |m| m.min(stop - start));
                let band = Band {
                    name,
                    start,
                    shown,
                    row0,
                    color: PALETTE[k % PALETTE.len()],
                };
                row0 += shown;
                band
            })
            .collect();
        Rows { bands, rows: row0 }
    }

    /// The row and band of neuron `id`, or None where it is not drawn.
    pub fn of(&self, id: u64) -> Option<(u64, usize)> {
        // Bands are few (a network's populations): a partition point is enough.
        let k = self
            .bands
            .partition_point(|b| b.start <= id)
            .checked_sub(1)?;
        let b = &self.bands[k];
        (id - b.start < b.shown).then(|| (b.row0 + id - b.start, k))
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
