use super::*;
use crate::rng::{stream, Purpose};

#[derive(Deserialize)]
struct T {
    w: Value,
}

fn parse(s: &str) -> std::result::Result<Value, String> {
    toml::from_str::<T>(s)
        .map(|t| t.w)
        .map_err(|e| e.to_string())
}

#[test]
fn parses_constants_and_distributions() {
    assert_eq!(parse("w = 1.5").unwrap(), Value::Constant(1.5));
    assert_eq!(parse("w = 2").unwrap(), Value::Constant(2.0));
    assert_eq!(
        parse("w = { distribution = \"uniform\", low = -60.0, high = -50.0 }").unwrap(),
        Value::Uniform {
            low: -60.0,
            high: -50.0
        }
    );
    assert_eq!(
        parse("w = { distribution = \"normal\", mean = 1, std = 0.5 }").unwrap(),
        Value::Normal {
            mean: 1.0,
            std: 0.5
        }
    );
    let e = parse("w = { distribution = \"normal\", mean = 1 }").unwrap_err();
    assert!(e.contains("needs std"), "{e}");
    let e = parse("w = { distribution = \"gamma\", mean = 1 }").unwrap_err();
    assert!(e.contains("unknown distribution \"gamma\""), "{e}");
    let e = parse("w = { distribution = \"uniform\", low = 0, high = 1, std = 1 }").unwrap_err();
    assert!(e.contains("takes no std"), "{e}");
}

#[test]
fn samples_stay_in_bounds_and_validate() {
    let v = Value::Uniform {
        low: 1.0,
        high: 2.0,
    };
    let mut rng = stream(1, Purpose::Weights, 0);
    let mut n = Normal::new();
    for _ in 0..1000 {
        let x = v.sample(&mut rng, &mut n);
        assert!((1.0..2.0).contains(&x));
    }
    assert!(Value::Uniform {
        low: 2.0,
        high: 1.0
    }
    .validate("weight")
    .is_err());
    assert!(Value::Constant(f64::NAN).validate("weight").is_err());
}

fn bounded(mean: f64, std: f64, min: f64, max: f64, bound: Bound) -> Value {
    Value::Bounded {
        base: Box::new(Value::Normal { mean, std }),
        min,
        max,
        bound,
    }
}

#[test]
fn bounds_parse_in_nests_words_and_round_trip() {
    let v = parse(
        "w = { distribution = \"normal\", mean = 87.8, std = 8.78, min = 0.0, bound = \"redraw\" }",
    )
    .unwrap();
    assert_eq!(v, bounded(87.8, 8.78, 0.0, f64::INFINITY, Bound::Redraw));
    assert_eq!(v.bounds(), (0.0, f64::INFINITY));
    assert_eq!(v.to_string(), "normal(87.8, 8.78) redrawn within [0, inf]");
    let v = parse(
        "w = { distribution = \"uniform\", low = -1, high = 1, max = 0.5, bound = \"clip\" }",
    )
    .unwrap();
    assert_eq!(v.bounds(), (-1.0, 0.5));
    let v2 = parse("w = { distribution = \"normal\", mean = -1, std = 1, max = -0.0, min = -inf, bound = \"redraw\" }").unwrap();
    assert_eq!(v2.bounds(), (f64::NEG_INFINITY, 0.0));
    // Through TOML and back.
    for v in [v, v2] {
        #[derive(Serialize)]
        struct W<'a> {
            w: &'a Value,
        }
        let text = toml::to_string(&W { w: &v }).unwrap();
        assert_eq!(parse(&text).unwrap(), v, "{text}");
    }
}

#[test]
fn bound_mistakes_are_named() {
    let cases = [
        ("min = 0", "min and max need bound = \"redraw\""),
        ("bound = \"redraw\"", "bound needs min, max or both"),
        ("min = 0, bound = \"reflect\"", "unknown bound \"reflect\"; choose redraw or clip"),
        ("min = 0, bound = 1", "invalid type: integer `1`, expected a string"),
        ("mn = 0", "the keys are distribution, low and high (uniform), mean and std (normal), min, max and bound (redraw or clip)"),
        ("min = 0, min = 1, bound = \"clip\"", "duplicate key"),
    ];
    for (extra, want) in cases {
        let text = format!("w = {{ distribution = \"normal\", mean = 1, std = 1, {extra} }}");
        let e = parse(&text).unwrap_err();
        assert!(e.contains(want), "{text}: {e}\n  wanted: {want}");
    }
    let refused = [
        (
            bounded(1.0, 1.0, 2.0, 1.0, Bound::Clip),
            "needs min <= max, got min = 2 and max = 1",
        ),
        (
            bounded(1.0, 1.0, f64::NAN, 1.0, Bound::Redraw),
            "needs min <= max",
        ),
        (
            bounded(1.0, 0.0, 2.0, 3.0, Bound::Redraw),
            "no draw of normal(1, 0) can fall within [2, 3], so a redraw would never end",
        ),
        (
            Value::Bounded {
                base: Box::new(Value::Uniform {
                    low: 0.0,
                    high: 1.0,
                }),
                min: 1.0,
                max: 2.0,
                bound: Bound::Redraw,
            },
            "no draw of uniform(0, 1) can fall within [1, 2]",
        ),
        // 3.5 standard deviations out keeps 2.3e-4 of the draws.
        (
            bounded(0.0, 1.0, 3.5, f64::INFINITY, Bound::Redraw),
            "the bounds keep 2.33e-4 of the draws, so a value would take more than 1000 redraws",
        ),
        (
            bounded(0.0, 1.0, -50.0, -40.0, Bound::Redraw),
            "no draw of normal(0, 1) can fall within [-50, -40]",
        ),
        (
            bounded(f64::NAN, 1.0, 0.0, 1.0, Bound::Redraw),
            "needs finite numbers",
        ),
    ];
    for (v, want) in refused {
        let e = v.validate("weight").unwrap_err().to_string();
        assert!(
            e.starts_with("invalid parameter weight: ") && e.contains(want),
            "{e}\n  wanted: {want}"
        );
    }
    // Clipping keeps any bounds; 3 standard deviations out still redraws.
    bounded(0.0, 1.0, 40.0, 50.0, Bound::Clip)
        .validate("w")
        .unwrap();
    bounded(0.0, 1.0, 3.0, f64::INFINITY, Bound::Redraw)
        .validate("w")
        .unwrap();
}

/// Phi(z) by the textbook's erfc, the reference for the kept shares.
fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

#[test]
fn kept_shares_are_the_distributions_mass_within_the_bounds() {
    let n = Value::Normal {
        mean: 0.0,
        std: 1.0,
    };
    assert!((n.kept_within(0.0, f64::INFINITY) - 0.5).abs() < 1e-15);
    assert!((n.kept_within(1.959_963_984_540_054, f64::INFINITY) - 0.025).abs() < 1e-12);
    assert!((n.kept_within(-1.0, 1.0) - 0.682_689_492_137_085_9).abs() < 1e-12);
    // Far in the upper tail the difference of erfc keeps its digits.
    let far = n.kept_within(8.0, 9.0);
    assert!((far / (phi(-8.0) - phi(-9.0)) - 1.0).abs() < 1e-9, "{far}");
    let u = Value::Uniform {
        low: 0.0,
        high: 4.0,
    };
    assert_eq!(u.kept_within(1.0, 2.0), 0.25);
    assert_eq!(u.kept_within(-5.0, 1.0), 0.25);
    assert_eq!(u.kept_within(5.0, 6.0), 0.0);
}

/// A redrawn normal is the normal conditioned on its bounds: PD14's delays
/// (mean 1.5 ms, relative std 0.5, kept >= 0.05 ms) have the truncated
/// normal's mean and variance; clipping piles the cut mass on the bound.
#[test]
fn redraw_gives_the_truncated_normal_and_clip_the_censored_one() {
    let (mu, sigma, lo): (f64, f64, f64) = (1.5, 0.75, 0.05);
    let a = (lo - mu) / sigma;
    let pdf = (-0.5 * a * a).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let lam = pdf / (1.0 - phi(a));
    let t_mean = mu + sigma * lam;
    let t_var = sigma * sigma * (1.0 + a * lam - lam * lam);
    let draws = 200_000;
    let v = bounded(mu, sigma, lo, f64::INFINITY, Bound::Redraw);
    let mut rng = stream(2, Purpose::Delays, 0);
    let mut normal = Normal::new();
    let (mut s, mut s2) = (0.0, 0.0);
    for _ in 0..draws {
        let x = v.sample(&mut rng, &mut normal);
        assert!(x >= lo);
        s += x;
        s2 += x * x;
    }
    let mean = s / draws as f64;
    let var = s2 / draws as f64 - mean * mean;
    let se = (t_var / draws as f64).sqrt();
    assert!((mean - t_mean).abs() < 5.0 * se, "mean {mean} vs {t_mean}");
    assert!((var / t_var - 1.0).abs() < 0.02, "var {var} vs {t_var}");
    // Plain normal draws differ: the test tells the two apart.
    assert!((mu - t_mean).abs() > 20.0 * se);

    let v = bounded(mu, sigma, lo, f64::INFINITY, Bound::Clip);
    let at_bound = (0..draws)
        .filter(|_| v.sample(&mut rng, &mut normal) == lo)
        .count() as f64
        / draws as f64;
    let want = phi(a);
    let se = (want * (1.0 - want) / draws as f64).sqrt();
    assert!((at_bound - want).abs() < 5.0 * se, "{at_bound} vs {want}");
}

#[test]
fn a_normals_reach_is_where_the_sampler_ends() {
    let v = Value::Normal {
        mean: 1.5,
        std: 0.75,
    };
    assert_eq!(v.bounds(), (f64::NEG_INFINITY, f64::INFINITY));
    let (lo, hi) = v.reach();
    assert_eq!(
        (lo, hi),
        (1.5 - 0.75 * NORMAL_MAX_ABS, 1.5 + 0.75 * NORMAL_MAX_ABS)
    );
    let b = bounded(1.5, 0.75, 0.05, f64::INFINITY, Bound::Redraw);
    assert_eq!(b.reach(), (0.05, hi));
}
