//! Criterion benchmarks of one dense step (`Partition::advance`): the
//! membrane update, threshold test and event-driven synaptic input, for
//! networks of 1,000 to 20,000 neurons and 0 to N/10 spikes per step.
//!
//! `cargo bench -p lifsim-core --bench step`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use lifsim_core::engine::{Isa, Partition};
use lifsim_core::inputs::Drive;
use lifsim_core::model::Coefficients;
use lifsim_core::rng::{self, Purpose};
use lifsim_core::{DenseView, LifParams};

fn step(c: &mut Criterion) {
    let params = LifParams::default();
    let coeffs = Coefficients::<f64>::new(&params).unwrap();
    let isa = Isa::detect();
    let mut group = c.benchmark_group("dense_step_f64");
    for n in [1_000usize, 2_000, 5_000, 10_000, 20_000] {
        // The values do not matter for timing; small weights keep V subthreshold.
        let w = vec![1e-3f64; n * n];
        let view = DenseView::new(n, &w).unwrap();
        for spikes in [0, 1, n / 100, n / 10] {
            let fired = random_subset(n, spikes);
            let mut part = Partition::new(0..n, vec![-60.0; n], Drive::Constant(0.0), &coeffs);
            // Criterion calls the routine several times (warm-up, samples): the
            // step count must keep going forward across calls, as time does in a
            // simulation, or refractory entries would never expire.
            let mut k = 0u64;
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("n={n}"), spikes),
                &fired,
                |b, fired| {
                    b.iter(|| {
                        part.advance(k, &view, fired, &coeffs, isa);
                        k += 1;
                    })
                },
            );
        }
    }
    group.finish();
}

/// `k` distinct sorted neuron ids out of `n`, from a fixed stream.
fn random_subset(n: usize, k: usize) -> Vec<u32> {
    let mut rng = rng::stream(0, Purpose::Connectivity, n as u64);
    let mut ids: Vec<u32> = (0..n as u32).collect();
    for i in 0..k {
        let j = i + rng.below((n - i) as u64) as usize;
        ids.swap(i, j);
    }
    ids.truncate(k);
    ids.sort_unstable();
    ids
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(2));
    targets = step
}
criterion_main!(benches);
