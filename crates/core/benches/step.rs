//! Criterion benchmarks of the seed's step on the engine (`Simulation`, the
//! seed's run as a network): the membrane update, threshold test and the
//! synaptic input of the spikes found by the step before, for networks of
//! 1,000 to 20,000 neurons, silent (`i_ext = 0`: every step quiet) and
//! driven (`i_ext = 25`, potentials spread uniformly: about N/1,800 spikes a
//! step, each adding its column of `W`).
//!
//! `cargo bench -p lifsim-core --bench step`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim_core::engine::EngineOptions;
use lifsim_core::inputs::{ExternalCurrent, InitialVoltage};
use lifsim_core::recording::SpikeSink;
use lifsim_core::{DenseView, LifParams, Simulation};

/// Counts spikes, keeps nothing.
struct Count(u64);

impl SpikeSink for Count {
    fn record(&mut self, _: usize, fired: &[u32]) {
        self.0 += fired.len() as u64;
    }
}

fn step(c: &mut Criterion) {
    let params = LifParams {
        t_max: 1e9,
        ..LifParams::default()
    };
    let one = EngineOptions {
        threads: Some(1),
        isa: None,
    };
    let mut group = c.benchmark_group("seed_step_f64");
    for n in [1_000usize, 5_000, 20_000] {
        // Small weights keep the network from synchronising.
        let w = vec![1e-3f64; n * n];
        let view = DenseView::new(n, &w).unwrap();
        for (name, i_ext) in [("silent", 0.0), ("driven", 25.0)] {
            let current = ExternalCurrent::Constant(i_ext);
            let v0 = InitialVoltage::Uniform { seed: 1 };
            let mut sim = Simulation::new(view, &params, &current, &v0, &one).unwrap();
            let mut sink = Count(0);
            // Criterion calls the routine many times: the run goes on.
            group.throughput(Throughput::Elements(n as u64));
            group.bench_function(BenchmarkId::new(format!("n={n}"), name), |b| {
                b.iter(|| {
                    let k = sim.step_index();
                    sim.run_until(k + 1, &mut sink);
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = step
}
criterion_main!(benches);
