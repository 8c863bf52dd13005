//! The CLI against the parameter table (`lifsim_core::params`): its flags,
//! their help and defaults, the config file's keys, the flags refused with
//! network files, and every parameter reaching the run from a flag and
//! from a config file.

use super::resolve::ConfigFile;
use super::*;
use clap::CommandFactory;
use lifsim_core::io::spikes::OutputFormat;
use lifsim_core::params::{self, Front, Kind, ParamSpec, PARAMETERS};
use lifsim_core::workloads;
use lifsim_core::{Dtype, ExternalCurrent, InitialVoltage, LifParams, RecordMode};

fn takes(front: Front) -> Vec<&'static str> {
    PARAMETERS
        .iter()
        .filter(|s| s.takes(front))
        .map(|s| s.name)
        .collect()
}

fn parse(args: &[&str]) -> ModelArgs {
    let argv = ["lifsim", "run"].iter().chain(args);
    match Cli::try_parse_from(argv).unwrap().command {
        Command::Run(r) => r.model,
        _ => unreachable!(),
    }
}

/// A valid value of each flag of the table, for the parser.
fn sample(spec: &ParamSpec) -> &'static str {
    match spec.name {
        "weights" => "w.npy",
        "workload" => "seed-active",
        "v0" => "uniform",
        "dtype" => "float32",
        _ => "1",
    }
}

/// `run` and `bench` have one flag per parameter of the table marked
/// `Front::Flag` (and `--config`), with the table's help line, default
/// and placeholder.
#[test]
fn the_model_flags_are_the_tables() {
    let model = ModelArgs::augment_args(clap::Command::new("model"));
    let mut ids: Vec<&str> = model.get_arguments().map(|a| a.get_id().as_str()).collect();
    ids.retain(|id| *id != "config");
    assert_eq!(ids, takes(Front::Flag));
    let cli = Cli::command();
    for command in ["run", "bench"] {
        let command = cli.find_subcommand(command).unwrap();
        for spec in PARAMETERS.iter().filter(|s| s.takes(Front::Flag)) {
            let arg = command
                .get_arguments()
                .find(|a| a.get_id() == spec.name)
                .unwrap_or_else(|| panic!("no flag {}", spec.flag()));
            assert_eq!(format!("--{}", arg.get_long().unwrap()), spec.flag());
            assert_eq!(
                arg.get_help().unwrap().to_string(),
                spec.cli_help(),
                "{}",
                spec.name
            );
            assert!(arg.get_long_help().is_none(), "{}", spec.name);
            let value_name = arg.get_value_names().map(|v| v[0].to_string());
            match spec.value_name {
                Some(v) => assert_eq!(value_name.as_deref(), Some(v), "{}", spec.name),
                // clap's own: the name in capitals (`--t-max <T_MAX>`).
                None => assert_eq!(value_name, Some(spec.name.to_uppercase()), "{}", spec.name),
            }
            // No clap default: a flag left out falls back to the config
            // file, then the workload, then the table (shown in the help).
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|d| d.to_string_lossy().into_owned())
                .collect();
            match spec.default {
                params::DefaultValue::Word(w) if spec.name == "workload" => {
                    assert_eq!(defaults, [w])
                }
                _ => assert!(defaults.is_empty(), "{}", spec.name),
            }
        }
    }
    let bench = cli.find_subcommand("bench").unwrap();
    let runs = bench
        .get_arguments()
        .find(|a| a.get_id() == "runs")
        .unwrap();
    assert!(runs
        .get_help()
        .unwrap()
        .to_string()
        .ends_with(&format!("[default: {}]", params::NUM_SIMULATIONS.default)));
    let run = cli.find_subcommand("run").unwrap();
    let format = run
        .get_arguments()
        .find(|a| a.get_id() == "format")
        .unwrap();
    assert_eq!(format.get_value_names().unwrap()[0], OutputFormat::CHOICES);
}

/// A config file's keys are the parameters marked `Front::Config`, and
/// the README lists them.
#[test]
fn config_keys_are_the_tables() {
    let json = serde_json::to_value(ConfigFile::default()).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = takes(Front::Config);
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("A config file takes the same names as the flags (")
        .expect("the README's config paragraph");
    let list = &readme[start..][..readme[start..].find(')').unwrap()];
    let mut listed: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    listed.sort_unstable();
    assert_eq!(listed, want, "README.md's config-file paragraph");
}

/// Every flag of the table is seen as given, and refused with a network
/// file unless it is marked `Front::NetworkFlag`.
#[test]
fn flags_given_are_named_and_refused_with_network_files() {
    assert_eq!(parse(&[]).given(), Vec::<&str>::new());
    assert!(parse(&[]).check_for_network_file().is_ok());
    for spec in PARAMETERS.iter().filter(|s| s.takes(Front::Flag)) {
        let flag = spec.flag();
        let m = parse(&[&flag, sample(spec)]);
        assert_eq!(m.given(), [spec.name]);
        match m.check_for_network_file() {
            Ok(()) => assert!(spec.takes(Front::NetworkFlag), "{flag} is not refused"),
            Err(e) => {
                assert!(!spec.takes(Front::NetworkFlag), "{flag}: {e}");
                let instead = match spec.name {
                    "t_max" => ": its simulated time is --duration MS".to_string(),
                    name if spec.takes(Front::Population) => {
                        format!(": change a population's with --set POP.{name}=VALUE")
                    }
                    _ => String::new(),
                };
                assert_eq!(e.to_string(), format!("{flag} is a flag of the seed model; a network file sets its parameters itself{instead} (the flags of the model that apply to network files are --dt, --seed, --dtype, --threads, --duration and --set)"));
            }
        }
    }
    let e = parse(&["--config", "c.toml"])
        .check_for_network_file()
        .unwrap_err();
    assert!(e
        .to_string()
        .starts_with("--config is a flag of the seed model"));
}

/// With nothing given, the run takes the table's defaults.
#[test]
fn defaults_are_the_tables() {
    let r = parse(&[]).resolve(RecordMode::Counts).unwrap();
    for spec in PARAMETERS.iter().filter(|s| s.kind == Kind::Number) {
        let got = r.spec.params.get(spec.name).unwrap();
        let want = match spec.default {
            params::DefaultValue::Number(x) => x,
            _ => r.spec.params.v_reset,
        };
        assert_eq!(got, want, "{}", spec.name);
    }
    assert_eq!(r.spec.params, LifParams::default());
    assert_eq!(r.dtype.name(), params::DTYPE.default.word());
    assert_eq!(
        r.spec.i_ext,
        ExternalCurrent::Constant(params::I_EXT.default.number())
    );
    assert_eq!(r.spec.v0, InitialVoltage::Reset);
    assert_eq!(r.spec.options.threads, None);
    assert_eq!(r.label, params::WORKLOAD.default.word());
    let uniform = parse(&["--v0", "uniform"])
        .resolve(RecordMode::Counts)
        .unwrap();
    assert_eq!(
        uniform.spec.v0,
        InitialVoltage::Uniform {
            seed: params::SEED.default.count()
        }
    );
}

/// Every parameter of the table reaches the run from its flag and from a
/// config file, wherever the table says it can be given.
#[test]
fn every_parameter_reaches_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path().join("w.npy");
    lifsim_core::io::save_npy(&w, &[0.0f64; 9], &[3, 3], true).unwrap();
    let w = w.to_str().unwrap().to_string();
    type Expect = fn(&Resolved) -> bool;
    // (name, value on the command line, value in TOML, other flags, what the run gets)
    let cases: Vec<(&str, &str, String, &[&str], Expect)> = vec![
        ("weights", &w, format!("{w:?}"), &[], |r| {
            matches!(&r.weights, WeightSource::File(f) if f.ends_with("w.npy")) && r.n == 3
        }),
        ("workload", "seed-active", String::new(), &[], |r| {
            r.label == "seed-active"
        }),
        ("dt", "0.02", "0.02".into(), &[], |r| {
            r.spec.params.dt == 0.02
        }),
        ("t_max", "50", "50.0".into(), &[], |r| {
            r.spec.params.t_max == 50.0
        }),
        ("tau_m", "10", "10.0".into(), &[], |r| {
            r.spec.params.tau_m == 10.0
        }),
        ("v_reset", "-70", "-70.0".into(), &[], |r| {
            r.spec.params.v_reset == -70.0
        }),
        ("v_thresh", "-40", "-40.0".into(), &[], |r| {
            r.spec.params.v_thresh == -40.0
        }),
        ("r", "2", "2.0".into(), &[], |r| r.spec.params.r == 2.0),
        ("v_rest", "-60", "-60.0".into(), &[], |r| {
            r.spec.params.v_rest == Some(-60.0)
        }),
        ("i_ext", "5", "5.0".into(), &[], |r| {
            r.spec.i_ext == ExternalCurrent::Constant(5.0)
        }),
        ("v0", "uniform", "\"uniform\"".into(), &[], |r| {
            r.spec.v0 == InitialVoltage::Uniform { seed: 1 }
        }),
        ("t_ref", "0.5", "0.5".into(), &[], |r| {
            r.spec.params.t_ref == 0.5
        }),
        ("seed", "7", "7".into(), &["--v0", "uniform"], |r| {
            r.spec.v0 == InitialVoltage::Uniform { seed: 7 }
        }),
        ("dtype", "float32", "\"float32\"".into(), &[], |r| {
            r.dtype == Dtype::Float32
        }),
        ("threads", "2", String::new(), &[], |r| {
            r.spec.options.threads == Some(2)
        }),
        ("num_simulations", "", "5".into(), &[], |r| {
            r.num_simulations == Some(5)
        }),
    ];
    let mut names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let mut want: Vec<&str> = PARAMETERS
        .iter()
        .filter(|s| s.takes(Front::Flag) || s.takes(Front::Config))
        .map(|s| s.name)
        .collect();
    names.sort_unstable();
    want.sort_unstable();
    assert_eq!(names, want, "every parameter of the CLI needs a case here");
    for (name, flag_value, toml_value, extra, expect) in cases {
        let spec = params::spec(name).unwrap();
        if spec.takes(Front::Flag) {
            let flag = spec.flag();
            let mut args = vec![flag.as_str(), flag_value];
            args.extend_from_slice(extra);
            let r = parse(&args).resolve(RecordMode::Counts).unwrap();
            assert!(expect(&r), "{flag} {flag_value}");
            let base = parse(extra).resolve(RecordMode::Counts).unwrap();
            assert!(!expect(&base), "{name}: the case's value is the default");
        }
        if spec.takes(Front::Config) {
            let conf = dir.path().join(format!("{name}.toml"));
            std::fs::write(&conf, format!("{name} = {toml_value}\n")).unwrap();
            let mut args = vec!["--config", conf.to_str().unwrap()];
            args.extend_from_slice(extra);
            let r = parse(&args).resolve(RecordMode::Counts).unwrap();
            assert!(expect(&r), "config {name} = {toml_value}");
        }
    }
}

/// A number as `v0` sets every neuron, from a flag and from a config file
/// (as a network file's `v0 = -60.0` does); a word or a file keeps its meaning.
#[test]
fn a_scalar_v0_sets_every_neuron() {
    let n = params::WORKLOAD.default.word();
    let size = workloads::by_name(n).unwrap().weights.n;
    let r = parse(&["--v0", "-60.5"])
        .resolve(RecordMode::Counts)
        .unwrap();
    assert_eq!(r.spec.v0, InitialVoltage::Values(vec![-60.5; size]));
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        ("v0 = -60.5\n", InitialVoltage::Values(vec![-60.5; size])),
        ("v0 = -60\n", InitialVoltage::Values(vec![-60.0; size])),
        ("v0 = \"reset\"\n", InitialVoltage::Reset),
    ] {
        let conf = dir.path().join("c.toml");
        std::fs::write(&conf, text).unwrap();
        let r = parse(&["--config", conf.to_str().unwrap()])
            .resolve(RecordMode::Counts)
            .unwrap();
        assert_eq!(r.spec.v0, want, "{text}");
    }
    let e = parse(&["--v0", "nan"])
        .resolve(RecordMode::Counts)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "invalid parameter v0: must be finite, got NaN"
    );
    let conf = dir.path().join("bad.toml");
    std::fs::write(&conf, "v0 = true\n").unwrap();
    let e = parse(&["--config", conf.to_str().unwrap()])
        .resolve(RecordMode::Counts)
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: v0 must be reset, uniform, a number or the path of an .npy file",
            conf.display()
        )
    );
}
