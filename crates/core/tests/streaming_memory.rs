//! Streaming spike output keeps memory flat: a run ten times longer needs no
//! more heap. Measured with a counting global allocator, so this file holds a
//! single test (no other test's allocations run beside it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use lifsim_core::io::spikes::{OutputFormat, SpikeOutput};
use lifsim_core::io::stream::StreamHeader;
use lifsim_core::progress::{Driver, Silent};
use lifsim_core::{
    DenseView, EngineOptions, ExternalCurrent, InitialVoltage, LifParams, RecordMode, Recorder,
    Simulation,
};

struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = NOW.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        NOW.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Heap bytes at the peak of `f`, above what was allocated before it.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = NOW.load(Relaxed);
    PEAK.store(base, Relaxed);
    f();
    PEAK.load(Relaxed) - base
}

const N: usize = 200;

fn params(t_max: f64) -> LifParams {
    LifParams {
        dt: 0.1,
        t_max,
        ..LifParams::default()
    }
}

fn sim<'w>(w: &'w [f64], p: &LifParams) -> Simulation<'w, f64> {
    // i_ext = 40: every neuron fires at about 100 Hz.
    Simulation::new(
        DenseView::new(N, w).unwrap(),
        p,
        &ExternalCurrent::Constant(40.0),
        &InitialVoltage::Uniform { seed: 3 },
        &EngineOptions {
            threads: Some(1),
            isa: None,
        },
    )
    .unwrap()
}

#[test]
fn a_ten_times_longer_run_needs_no_more_memory() {
    let w: Vec<f64> = (0..N * N)
        .map(|k| ((k * 31 % 13) as f64 - 6.0) / 64.0)
        .collect();
    let dir = tempfile::tempdir().unwrap();

    let streamed = |t_max: f64| -> (usize, u64) {
        let p = params(t_max);
        let mut s = sim(&w, &p);
        let out = dir.path().join(format!("s{t_max}.npz"));
        let mut total = 0;
        let peak = peak_of(|| {
            let header = StreamHeader {
                n: N as u64,
                dt: p.dt,
                steps: s.steps(),
                population: "lifsim".into(),
                populations: Vec::new(),
                recorded: None,
            };
            let mut o = SpikeOutput::create(OutputFormat::Events, &out, header).unwrap();
            let _ = Driver::new(p.dt).run(&mut s, u64::MAX, &mut o, &mut Silent);
            total = o.finish().unwrap().total;
        });
        (peak, total)
    };
    let (short, short_spikes) = streamed(5_000.0);
    let (long, long_spikes) = streamed(50_000.0);
    assert!(
        short_spikes > 70_000,
        "{short_spikes}: enough spikes to fill the read chunks"
    );
    assert!(long_spikes > 9 * short_spikes);
    assert!(
        long <= short + 64 * 1024,
        "streaming: {short} bytes for 5 s, {long} bytes for 50 s"
    );

    // The control: keeping the events in memory grows with the run, by the
    // 12 bytes of each spike, so the measurement above can tell.
    let in_memory = |t_max: f64| {
        let p = params(t_max);
        let mut s = sim(&w, &p);
        peak_of(|| {
            let mut r = Recorder::new(RecordMode::Events, N, p.steps()).unwrap();
            s.run(&mut r);
            drop(r.finish(p.dt));
        })
    };
    let grown = in_memory(50_000.0) - in_memory(5_000.0);
    eprintln!("peak heap: streamed {short} B (5 s) and {long} B (50 s); in memory grew {grown} B");
    assert!(
        grown as u64 > (long_spikes - short_spikes) * 12,
        "in memory grew by only {grown} bytes"
    );
}
