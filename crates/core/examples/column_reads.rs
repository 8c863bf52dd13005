//! The memory ceiling of a dense spiking run: read the weight columns a run
//! reads, with the engine's own column kernels and nothing else (no membrane
//! update, no threshold test, no barrier), on one thread over all rows and on
//! several threads over their row ranges, as the engine splits a step.
//!
//! A dense step adds one column of W per spike; on a large network those
//! reads from memory are most of the run. How much faster they go on two
//! threads than on one bounds what two threads can give a whole run on this
//! machine. `bench/threads.py` runs this beside `lifsim bench` in one run.
//!
//!     cargo run --release -p lifsim-core --example column_reads -- \
//!         W.npy float64 SPIKES STEPS [THREADS] [ROUNDS]
//!
//! SPIKES columns, chosen by a fixed generator, are spread evenly over STEPS
//! steps; the times printed are medians over ROUNDS (default 7), one thread
//! and THREADS threads (default 2) alternating. The last line is JSON.

use std::path::Path;
use std::time::Instant;

use lifsim_core::engine::{kernel, split};
use lifsim_core::{DenseView, DenseWeights, Isa, Real};

fn main() {
    if let Err(e) = run() {
        eprintln!("column_reads: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(4..=6).contains(&args.len()) {
        return Err(
            "usage: column_reads W.npy float64|float32 SPIKES STEPS [THREADS] [ROUNDS]".into(),
        );
    }
    let number = |i: usize, default: usize| -> Result<usize, String> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse()
                .map_err(|_| format!("{s:?} is not a whole number"))
        })
    };
    let (spikes, steps) = (number(2, 0)?, number(3, 0)?.max(1));
    let (threads, rounds) = (number(4, 2)?.max(1), number(5, 7)?.max(1));
    let path = Path::new(&args[0]);
    match args[1].as_str() {
        "float64" => measure::<f64>(path, spikes, steps, threads, rounds),
        "float32" => measure::<f32>(path, spikes, steps, threads, rounds),
        other => Err(format!("dtype {other:?}: use float64 or float32")),
    }
}

fn measure<T: Real>(
    path: &Path,
    spikes: usize,
    steps: usize,
    threads: usize,
    rounds: usize,
) -> Result<(), String> {
    let w = DenseWeights::<T>::load(path).map_err(|e| e.to_string())?;
    let view = w.view();
    let schedule = schedule(view.n(), spikes, steps);
    let isa = Isa::detect();
    let bytes = (spikes * view.n() * std::mem::size_of::<T>()) as f64;
    let (mut one, mut many) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        one.push(time(|| read_rows(&view, &schedule, 0..view.n(), isa)));
        many.push(time(|| {
            std::thread::scope(|s| {
                for rows in split(view.n(), threads) {
                    let (view, schedule) = (&view, &schedule);
                    s.spawn(move || read_rows(view, schedule, rows, isa));
                }
            })
        }));
    }
    let (t1, tn) = (median(&mut one), median(&mut many));
    println!(
        "{} columns of {} over {steps} steps ({:.0} MB), {:?} kernels",
        spikes,
        path.display(),
        bytes / 1e6,
        isa
    );
    println!(
        "  1 thread:   {:8.2} ms  {:5.1} GB/s",
        t1 * 1e3,
        bytes / t1 / 1e9
    );
    println!(
        "  {threads} threads:  {:8.2} ms  {:5.1} GB/s  ({:.2}x)",
        tn * 1e3,
        bytes / tn / 1e9,
        t1 / tn
    );
    println!("{{\"one_thread_s\": {t1}, \"threads\": {threads}, \"threads_s\": {tn}, \"bytes\": {bytes}, \"mapped\": {}}}", w.is_mapped());
    Ok(())
}

/// The columns of each step: `spikes` ids from a fixed 64-bit LCG, spread
/// as evenly as whole numbers allow over `steps` steps.
fn schedule(n: usize, spikes: usize, steps: usize) -> Vec<Vec<usize>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    (0..steps)
        .map(|k| {
            (spikes * k / steps..spikes * (k + 1) / steps)
                .map(|_| next())
                .collect()
        })
        .collect()
}

/// Sums, step by step, the rows `rows` of each step's columns as the engine
/// does (`engine/network/delivery.rs`, `deliver_columns`): the first two with `sum2`,
/// the rest four at a time; a lone column is read once.
fn read_rows<T: Real>(
    w: &DenseView<'_, T>,
    schedule: &[Vec<usize>],
    rows: std::ops::Range<usize>,
    isa: Isa,
) {
    let mut acc = vec![T::ZERO; rows.len()];
    let col = |j: usize| w.column(j, rows.clone());
    for step in schedule {
        let rest = match step.as_slice() {
            [] => continue,
            [j] => {
                kernel::accumulate(isa, &mut acc, col(*j));
                &[]
            }
            [j0, j1, rest @ ..] => {
                kernel::sum2(isa, &mut acc, col(*j0), col(*j1));
                rest
            }
        };
        let mut fours = rest.chunks_exact(4);
        for f in &mut fours {
            kernel::accumulate4(isa, &mut acc, col(f[0]), col(f[1]), col(f[2]), col(f[3]));
        }
        for &j in fours.remainder() {
            kernel::accumulate(isa, &mut acc, col(j));
        }
        std::hint::black_box(&acc);
    }
}

fn time(f: impl FnOnce()) -> f64 {
    let start = Instant::now();
    f();
    start.elapsed().as_secs_f64()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
