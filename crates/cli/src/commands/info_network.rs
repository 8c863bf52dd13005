//! `lifsim info NETWORK.toml`: what a network file describes and what it
//! will take to run, before running it: its populations, each projection's
//! expected synapses (from its rule, without drawing them; a matrix file's
//! are counted), the bytes per synapse as the engine stores them
//! (`network::sparse`), and an estimate of the memory of synapses, ring
//! buffers and neuron state against the memory available.

use std::path::Path;

use anyhow::Result;
use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::network::description::Rule;
use lifsim_core::network::{Recipe, Value};
use lifsim_core::{Dtype, EngineOptions, NetworkDescription, Real};
use serde::Serialize;

/// One population.
#[derive(Serialize, Debug)]
pub struct PopulationInfo {
    /// Its name.
    pub name: String,
    /// Neurons.
    pub size: usize,
    /// The neuron model.
    pub model: String,
}

/// One projection and what its synapses will hold.
#[derive(Serialize, Debug)]
pub struct ProjectionInfo {
    /// `E -> E, I`.
    pub label: String,
    /// The connection rule, with its number (`fixed_indegree 1000`).
    pub rule: String,
    /// Synapses expected: exact for every rule but `fixed_probability`
    /// (its mean), counted for a matrix file.
    pub synapses: u64,
    /// Bytes each synapse takes: a `u32` target, a weight where weights
    /// vary, a delay where delays vary.
    pub bytes_per_synapse: u64,
}

/// Everything `lifsim info NETWORK.toml` says.
#[derive(Serialize, Debug)]
pub struct NetworkInfo {
    /// The network file.
    pub file: String,
    /// The network's name.
    pub network: String,
    /// Neurons.
    pub neurons: usize,
    /// Time step (ms).
    pub dt_ms: f64,
    /// Simulated time (ms).
    pub duration_ms: f64,
    /// Steps.
    pub steps: usize,
    /// Float type.
    pub dtype: String,
    /// Threads (partitions) a run takes by default on this machine.
    pub threads: usize,
    /// The populations.
    pub populations: Vec<PopulationInfo>,
    /// The projections.
    pub projections: Vec<ProjectionInfo>,
    /// Synapses expected in all.
    pub synapses: u64,
    /// Bytes of the synapses as stored (per synapse, and each partition's
    /// row offsets): what a run reports as `synapse_bytes`.
    pub synapse_bytes: u64,
    /// Bytes of the synaptic ring buffers.
    pub ring_buffer_bytes: u64,
    /// Bytes of the neurons' state.
    pub state_bytes: u64,
    /// The monitors (`[record]`'s state and rate entries), one line each.
    pub monitors: Vec<String>,
    /// Bytes the monitors' samples take by the end of the run.
    pub monitor_bytes: u64,
    /// What the spike file holds: `[record]`'s `spikes` (events, dense,
    /// counts) and whose spikes (`[[record.spikes_from]]`).
    pub spikes: String,
    /// The sum of the four.
    pub estimated_bytes: u64,
    /// Memory available to this process now (bytes), if the system says.
    pub available_bytes: Option<u64>,
}

/// Whether `path` names a network file (`.toml`), which `lifsim info`
/// describes here.
pub fn is_network_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Prints what `path` describes (as one line of JSON with `json`).
pub fn describe_network(path: &Path, json: bool) -> Result<()> {
    let info = network_info(path)?;
    if json {
        println!("{}", serde_json::to_string(&info)?);
    } else {
        print_info(&info);
    }
    Ok(())
}

/// The description of the network file at `path`.
pub fn network_info(path: &Path) -> Result<NetworkInfo> {
    let desc = NetworkDescription::load(path)?;
    match desc.dtype {
        Dtype::Float64 => estimate::<f64>(&desc, path),
        Dtype::Float32 => estimate::<f32>(&desc, path),
    }
}

fn estimate<T: Real>(desc: &NetworkDescription, path: &Path) -> Result<NetworkInfo> {
    // The recipe lays out neurons, channels and inputs; it draws no synapse.
    let recipe = Recipe::<T>::new(desc)?;
    let (monitors, monitor_bytes) = monitors(desc)?;
    let n = recipe.n();
    let threads = EngineOptions::default()
        .threads_for(n)?
        .clamp(1, n.div_ceil(64).max(1));
    let size_of_t = std::mem::size_of::<T>() as u64;
    let mut projections = Vec::new();
    let (mut synapses, mut synapse_bytes) = (0u64, 0u64);
    let mut longest_delay = 1u64;
    for (k, p) in desc.projections.iter().enumerate() {
        let n_src = sizes(desc, &p.source) as u64;
        let n_tgt = sizes(desc, &p.target) as u64;
        // Pairs a neuron would make with itself, refused without autapses.
        let own = if p.allow_autapses {
            0
        } else {
            overlap(desc, &p.source, &p.target) as u64
        };
        let (rule, count, per_synapse) = match &p.rule {
            Rule::AllToAll => ("all_to_all".to_string(), n_src * n_tgt - own, None),
            Rule::OneToOne => ("one_to_one".to_string(), n_tgt, None),
            Rule::FixedProbability { p: prob } => (
                format!("fixed_probability {prob}"),
                (prob * (n_src * n_tgt - own) as f64).round() as u64,
                None,
            ),
            Rule::FixedIndegree { indegree } => (
                format!("fixed_indegree {indegree}"),
                *indegree as u64 * n_tgt,
                None,
            ),
            Rule::FixedOutdegree { outdegree } => (
                format!("fixed_outdegree {outdegree}"),
                *outdegree as u64 * n_src,
                None,
            ),
            Rule::FixedTotalNumber { n } => (format!("fixed_total_number {n}"), *n, None),
            Rule::File { path, .. } => {
                // A matrix's synapses are its entries: read them as a run does.
                let c = recipe.connections_onto(k, 0..n)?;
                let len = c.csr.len() as u64;
                let offsets = (c.csr.n_sources() as u64 + 1) * 8;
                let each = (c.csr.bytes() as u64 - offsets)
                    .checked_div(len)
                    .unwrap_or(4);
                (format!("from_file {}", path.display()), len, Some(each))
            }
            // Only built in memory (the seed's run), never read from a file.
            Rule::Given => (
                "given".into(),
                n_src * n_tgt,
                Some(std::mem::size_of::<T>() as u64),
            ),
        };
        let bytes_each = per_synapse
            .unwrap_or_else(|| 4 + weight_bytes(&p.weight) + delay_bytes(&p.delay, desc.dt, count));
        if count > 0 {
            longest_delay = longest_delay.max(longest_delay_steps(&p.delay, desc.dt, count));
        }
        synapses += count;
        // Each partition holds a row offset per source for each projection.
        synapse_bytes += count * bytes_each + threads as u64 * (n_src + 1) * 8;
        projections.push(ProjectionInfo {
            label: p.label(),
            rule,
            synapses: count,
            bytes_per_synapse: bytes_each,
        });
    }
    // As the engine sizes them: a power of two above the longest delay, one
    // ring per synapse channel, a value per neuron and slot.
    let slots = (longest_delay + 2).next_power_of_two();
    let ring_buffer_bytes = recipe.channels.len() as u64 * slots * n as u64 * size_of_t;
    let mut state_bytes = 0u64;
    for (pop, receptors) in desc.populations.iter().zip(&recipe.receptors) {
        let arrays = pop
            .model
            .build::<T>(pop, desc.dt, receptors)?
            .state_names()
            .len() as u64;
        // Its state arrays, external current and scratch (T each), the end
        // of its refractory period (f64), an id (u32), and the recipe's
        // initial voltage and current (f64 each).
        state_bytes += pop.size as u64 * ((arrays + 2) * size_of_t + 8 + 4 + 16);
    }
    let available = lifsim_core::resources::available_bytes();
    Ok(NetworkInfo {
        file: path.display().to_string(),
        network: desc.name.clone(),
        neurons: n,
        dt_ms: desc.dt,
        duration_ms: desc.duration,
        steps: desc.steps(),
        dtype: desc.dtype.to_string(),
        threads,
        populations: desc
            .populations
            .iter()
            .map(|p| PopulationInfo {
                name: p.name.clone(),
                size: p.size,
                model: p.model.to_string(),
            })
            .collect(),
        projections,
        synapses,
        synapse_bytes,
        ring_buffer_bytes,
        state_bytes,
        monitors,
        monitor_bytes,
        spikes: format!(
            "{} of {}",
            OutputFormat::of_record(desc.record),
            lifsim_core::monitor::spikes::describe(desc)?
        ),
        estimated_bytes: synapse_bytes + ring_buffer_bytes + state_bytes + monitor_bytes,
        available_bytes: (available != u64::MAX).then_some(available),
    })
}

/// One line per monitor, and the bytes of all their samples (f64 each; the
/// rate: a count and a rate per population and bin).
fn monitors(desc: &NetworkDescription) -> Result<(Vec<String>, u64)> {
    let steps = desc.steps() as u64;
    let (mut lines, mut bytes) = (Vec::new(), 0u64);
    for spec in &desc.monitors.state {
        let plan = spec.plan(desc)?;
        let window = plan.stop.min(steps).saturating_sub(plan.start);
        let samples = window / plan.every;
        let values = samples * plan.ids.len() as u64 * plan.variables.len() as u64;
        bytes += values * 8 + samples * 8;
        lines.push(format!(
            "{}: {} of {} neuron(s) every {} ms, {} samples",
            plan.name,
            plan.variables.join(", "),
            plan.ids.len(),
            plan.every as f64 * desc.dt,
            samples
        ));
    }
    if let Some(rate) = &desc.monitors.rate {
        let bin = rate.bin_steps(desc)?;
        let bins = steps.div_ceil(bin);
        bytes += bins * 8 * (1 + 2 * desc.populations.len() as u64);
        lines.push(format!(
            "rate: every population, bins of {} ms, {} bins",
            bin as f64 * desc.dt,
            bins
        ));
    }
    Ok((lines, bytes))
}

/// Neurons of the named populations together.
fn sizes(desc: &NetworkDescription, names: &[String]) -> usize {
    desc.populations
        .iter()
        .filter(|p| names.contains(&p.name))
        .map(|p| p.size)
        .sum()
}

/// Neurons both among `a` and `b`.
fn overlap(desc: &NetworkDescription, a: &[String], b: &[String]) -> usize {
    desc.populations
        .iter()
        .filter(|p| a.contains(&p.name) && b.contains(&p.name))
        .map(|p| p.size)
        .sum()
}

/// Bytes a synapse's weight takes: none when one weight serves all, a
/// single-precision float when drawn (`network::sparse::Weights`).
fn weight_bytes(w: &Value) -> u64 {
    match w {
        Value::Constant(_) => 0,
        _ => 4,
    }
}

/// Bytes a synapse's delay takes: none when one delay serves all, one byte
/// below 256 steps, else two (`network::sparse::Delays`).
fn delay_bytes(d: &Value, dt: f64, draws: u64) -> u64 {
    match d {
        Value::Constant(_) => 0,
        _ if longest_delay_steps(d, dt, draws) < 256 => 1,
        _ => 2,
    }
}

/// The longest of `draws` delays from `d`, in steps: for a normal
/// distribution the expected largest of that many draws, `mean + sqrt(2 ln
/// draws) std` (the engine sizes its rings by the longest delay drawn).
fn longest_delay_steps(d: &Value, dt: f64, draws: u64) -> u64 {
    let ms = match d {
        Value::Constant(x) => *x,
        Value::Uniform { high, .. } => *high,
        Value::Normal { mean, std } => mean + (2.0 * (draws.max(2) as f64).ln()).sqrt() * std,
        Value::Bounded { base, max, .. } => {
            let base = longest_delay_steps(base, dt, draws) as f64 * dt;
            base.min(*max)
        }
        Value::PerNeuron(v) => v.iter().copied().fold(0.0, f64::max),
    };
    (ms / dt).round().max(1.0) as u64
}

fn print_info(i: &NetworkInfo) {
    let size = lifsim_core::error::human_bytes;
    println!("{}: network file, {}", i.file, i.network);
    let row = |k: &str, v: String| println!("  {k:<12} {v}");
    row(
        "neurons",
        format!(
            "{} in {} population(s), {}",
            i.neurons,
            i.populations.len(),
            i.dtype
        ),
    );
    row(
        "steps",
        format!("{} (dt {} ms, {} ms)", i.steps, i.dt_ms, i.duration_ms),
    );
    for p in &i.populations {
        row(
            "population",
            format!("{}: {} neurons, {}", p.name, p.size, p.model),
        );
    }
    for (k, p) in i.projections.iter().enumerate() {
        row(
            "projection",
            format!(
                "{} ({}): {}, {} synapses of {} B",
                k + 1,
                p.label,
                p.rule,
                p.synapses,
                p.bytes_per_synapse
            ),
        );
    }
    row(
        "synapses",
        format!("{} ({})", i.synapses, size(i.synapse_bytes)),
    );
    row("ring buffers", size(i.ring_buffer_bytes));
    row("state", size(i.state_bytes));
    row("spikes", i.spikes.clone());
    for m in &i.monitors {
        row("monitor", m.clone());
    }
    if !i.monitors.is_empty() {
        row("samples", size(i.monitor_bytes));
    }
    let available = match i.available_bytes {
        Some(a) => format!(" of {} available", size(a)),
        None => String::new(),
    };
    row(
        "memory",
        format!(
            "about {} on {} thread(s){available}{}",
            size(i.estimated_bytes),
            i.threads,
            match i.available_bytes {
                Some(a) if i.estimated_bytes > a => ": it will not fit",
                _ => "",
            }
        ),
    );
}
