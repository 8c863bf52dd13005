use super::*;
use crate::network::description::Rule;

const MINI: &str = r#"
        duration = 10.0
        [[population]]
        name = "E"
        size = 8
        [[population]]
        name = "I"
        size = 2
        [[projection]]
        source = "E"
        target = ["E", "I"]
        rule = "fixed_indegree"
        indegree = 3
        weight = 0.5
        delay = 1.0
        [[input]]
        type = "poisson"
        target = "E"
        rate = 100.0
        weight = 0.2
"#;

fn parse(text: &str) -> Result<NetworkDescription> {
    NetworkDescription::from_toml(text, Path::new(""), "test")
}

#[test]
fn reads_a_small_network() {
    let d = parse(MINI).unwrap();
    assert_eq!(d.n(), 10);
    assert_eq!(d.steps(), 100);
    assert_eq!(d.dt, 0.1);
    assert_eq!(d.projections[0].rule, Rule::FixedIndegree { indegree: 3 });
    assert_eq!(
        d.ranges(&["I".into(), "E".into()]).unwrap(),
        vec![8..10, 0..8]
    );
    assert_eq!(d.inputs[0].kind, InputKind::Poisson { rate_hz: 100.0 });
    assert_eq!(d.populations[0].v_rest, -65.0);
}

#[test]
fn mistakes_are_named() {
    let cases = [
        (MINI.replace("indegree = 3", "indegree = 3\np = 0.1"), "invalid parameter p: projection 1 (E -> E, I): is not a parameter of rule \"fixed_indegree\""),
        (MINI.replace("target = [\"E\", \"I\"]", "target = [\"E\", \"X\"]"), "no population named \"X\""),
        (MINI.replace("delay = 1.0", "delay = 0.0"), "below the minimum of 1 step(s)"),
        (MINI.replace("rate = 100.0", "rate = -1.0"), "invalid parameter rate"),
        (MINI.replace("size = 2", "size = 2\nt_ref = 0.05"), "invalid parameter t_ref"),
        (MINI.replace("size = 2", "size = 2\nvthresh = 1"), "unknown field `vthresh`"),
        (MINI.replace("rule = \"fixed_indegree\"", "rule = \"ring\""), "unknown rule \"ring\""),
        (MINI.replace("weight = 0.5", ""), "needs a weight"),
        (
            MINI.replace("target = [\"E\", \"I\"]", "target = \"I\"")
                .replace("source = \"E\"", "source = \"I\"")
                .replace("size = 2", "size = 1")
                .replace("indegree = 3", "indegree = 3\nallow_autapses = false"),
            "the only source is the target itself",
        ),
    ];
    for (text, want) in cases {
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{err}\n  wanted: {want}");
    }
}

#[test]
fn silent_mistakes_are_refused() {
    let cases = [
        (
            MINI.replace("name = \"I\"", "name = \"\""),
            "invalid parameter name: population \"\": must not be empty",
        ),
        (
            MINI.replace("name = \"I\"", "name = \"a/b\""),
            "population \"a/b\": must not contain '/'",
        ),
        (
            MINI.replace("name = \"I\"", "name = \"I\\u0007\""),
            "must not contain control characters",
        ),
        (
            MINI.replace("name = \"I\"", "name = \" I\""),
            "must not begin or end with a space",
        ),
        (
            MINI.replace("name = \"I\"", "name = \"E\""),
            "population \"E\": is defined twice",
        ),
        (
            MINI.replace("target = [\"E\", \"I\"]", "target = [\"E\", \"E\"]"),
            "projection 1 (E -> E, E): target names population \"E\" twice",
        ),
        (
            MINI.replace("source = \"E\"", "source = [\"I\", \"I\"]"),
            "source names population \"I\" twice",
        ),
        (
            MINI.replace("target = \"E\"\n", "target = [\"I\", \"I\"]\n"),
            "input 1 (poisson -> I, I): target names population \"I\" twice",
        ),
        (
            MINI.replace("rate = 100.0", "rate = 100.0\nneurons = [0, 3, 5, 3]"),
            "invalid parameter neurons: input 1 (poisson -> E): index 3 is listed twice",
        ),
    ];
    for (text, want) in cases {
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{err}\n  wanted: {want}");
    }
    let ok = MINI.replace("rate = 100.0", "rate = 100.0\nneurons = [0, 3, 5]");
    assert_eq!(parse(&ok).unwrap().inputs[0].neurons, Some(vec![0, 3, 5]));
}

#[test]
fn distribution_mistakes_name_the_field_and_line() {
    let cases = [
        (
            "weight = { distribution = \"normal\", mean = 1, sdt = 0.1 }",
            "invalid parameter weight: projection 1 (E -> E, I), line 14: unknown key \"sdt\" in a distribution table; the keys are distribution, low and high",
        ),
        (
            "weight = { mean = 1, std = 0.1 }",
            "weight: projection 1 (E -> E, I), line 14: a distribution table needs distribution",
        ),
        (
            "weight = { distribution = \"normal\", mean = \"1\", std = 0.1 }",
            "weight: projection 1 (E -> E, I), line 14: invalid type: string \"1\", expected a number",
        ),
        (
            "weight = \"0.5\"",
            "line 14: invalid type: string \"0.5\", expected a number, a table like",
        ),
        (
            "weight = 0.5\n[projection.delay]\ndistribution = \"uniform\"\nlow = 1.0",
            "invalid parameter delay: projection 1 (E -> E, I), line 15: distribution \"uniform\" needs high",
        ),
    ];
    for (line, want) in cases {
        let text = MINI.replace("weight = 0.5\n        delay = 1.0", line);
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains(want), "{err}\n  wanted: {want}");
    }
    let text = MINI.replace(
        "size = 8",
        "size = 8\nv0 = { distribution = \"uniform\", low = -70, hgh = -60 }",
    );
    let err = parse(&text).unwrap_err().to_string();
    assert!(
        err.contains("invalid parameter v0: population \"E\", line 6: unknown key \"hgh\""),
        "{err}"
    );
    // Errors that serde reports itself say the right line too.
    let err = parse(&MINI.replace("size = 2", "size = 2\nvthresh = 1")).unwrap_err();
    assert!(err.to_string().contains("line 9: "), "{err}");
}

#[test]
fn absurd_durations_are_refused() {
    let err = parse(&MINI.replace("duration = 10.0", "duration = 1e16\ndt = 1e5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid parameter duration: the network: must be at most 1e15 ms"),
        "{err}"
    );
    for d in ["nan", "inf", "-1.0", "1e300"] {
        let err = parse(&MINI.replace("duration = 10.0", &format!("duration = {d}")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid parameter duration"), "{d}: {err}");
    }
}

#[test]
fn exponential_synapses_may_have_no_delay() {
    let text = MINI.replace(
        "delay = 1.0",
        "delay = 0.0\nsynapse = \"exponential\"\ntau_syn = 5.0",
    );
    let d = parse(&text).unwrap();
    assert_eq!(
        d.projections[0].synapse,
        SynapseKind::Exponential { tau_syn: 5.0 }
    );
}

/// A value of the wrong type names its key beside the line (a network built
/// from Python's keywords has no line the user wrote).
#[test]
fn a_value_of_the_wrong_type_names_its_key() {
    let cases = [
        (
            "size = 8",
            "size = \"x\"",
            "line 5: invalid type: string \"x\", expected usize (the value of size)",
        ),
        (
            "rate = 100.0",
            "rate =  [1]",
            "invalid type: sequence, expected f64 (the value of rate)",
        ),
        (
            "indegree = 3",
            "indegree = -3",
            "invalid value: integer `-3`, expected usize (the value of indegree)",
        ),
    ];
    for (from, to, want) in cases {
        let err = parse(&MINI.replace(from, to)).unwrap_err().to_string();
        assert!(err.ends_with(want), "{to}: {err}");
    }
    // Errors that are not about a value keep their words.
    let err = parse(&MINI.replace("        rule = \"fixed_indegree\"\n", ""))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("missing field `rule`"), "{err}");
}
