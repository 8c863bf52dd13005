//! Many simulations of one network at once: repeated runs and parameter
//! sweeps, one simulation per core.
//!
//! Each simulation runs on one thread and never shares mutable state, so a
//! batch gives exactly the bits its simulations give one after another.

use rayon::prelude::*;

use crate::engine::EngineOptions;
use crate::error::Result;
use crate::model::Real;
use crate::network::DenseView;
use crate::run::{run_view, RunOutput, RunSpec};

/// Runs every spec on `view` with `threads` simulations at a time; results
/// come back in the order of `specs`.
pub fn run_batch<T: Real>(
    view: DenseView<'_, T>,
    specs: &[RunSpec],
    threads: usize,
) -> Result<Vec<RunOutput>> {
    crate::engine::thread_pool(threads)?.install(|| {
        specs
            .par_iter()
            .with_max_len(1)
            .map(|spec| {
                // One core per simulation: splitting each as well would only
                // make the simulations compete for the same cores.
                let single = RunSpec {
                    options: EngineOptions {
                        threads: Some(1),
                        ..spec.options.clone()
                    },
                    ..spec.clone()
                };
                run_view(view, &single)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{ExternalCurrent, InitialVoltage};
    use crate::recording::RecordMode;
    use crate::{LifParams, WeightSpec};

    #[test]
    fn a_batch_gives_the_bits_of_sequential_runs() {
        let n = 300;
        let spec = WeightSpec {
            n,
            mean: 0.0,
            std: 60.0,
            p: 0.3,
            quantum: None,
            seed: 2,
        };
        let w = spec.column_major::<f64>().unwrap();
        let view = DenseView::new(n, &w).unwrap();
        let specs: Vec<RunSpec> = [
            (18.0, 20.0, 1),
            (22.0, 10.0, 2),
            (25.0, 20.0, 3),
            (20.0, 15.0, 1),
        ]
        .into_iter()
        .map(|(i_ext, tau_m, seed)| RunSpec {
            params: LifParams {
                t_max: 40.0,
                tau_m,
                ..LifParams::default()
            },
            i_ext: ExternalCurrent::Constant(i_ext),
            v0: InitialVoltage::Uniform { seed },
            record: RecordMode::Events,
            options: EngineOptions::default(),
        })
        .collect();
        let batch = run_batch(view, &specs, 3).unwrap();
        for (spec, out) in specs.iter().zip(&batch) {
            let alone = run_view(view, spec).unwrap();
            assert!(alone.record.total > 0);
            assert_eq!(out.record.events, alone.record.events);
        }
        assert_ne!(batch[0].record.events, batch[1].record.events);
    }
}
