//! The memory verdict: the RSS samples after warm-up must stay within a bound and fit a flat line.

use serde::Serialize;

use crate::stats::r3;

/// Least-squares slope of (t seconds, MB) samples, in MB per minute (`None` under 2 samples or
/// when they all share one time).
pub fn slope_mb_per_min(samples: &[(f64, f64)]) -> Option<f64> {
    let n = samples.len() as f64;
    if samples.len() < 2 {
        return None;
    }
    let mt = samples.iter().map(|s| s.0).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.1).sum::<f64>() / n;
    let sxx: f64 = samples.iter().map(|s| (s.0 - mt).powi(2)).sum();
    let sxy: f64 = samples.iter().map(|s| (s.0 - mt) * (s.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx * 60.0)
}

/// The warm-up of a load of `load_s` seconds: its first 15 s or first 20%, whichever is shorter.
pub fn warmup_seconds(load_s: f64) -> f64 {
    (0.2 * load_s).min(15.0)
}

/// The memory verdict over the load's samples (seconds since the load started, MB).
#[derive(Clone, Debug, Serialize)]
pub struct RssVerdict {
    pub warmup_s: f64,
    /// The first sample after the warm-up.
    pub start_mb: Option<f64>,
    pub peak_mb: Option<f64>,
    /// The last sample of the load.
    pub end_mb: Option<f64>,
    pub growth_mb: Option<f64>,
    pub slope_mb_per_min: Option<f64>,
    pub post_warmup_samples: usize,
    pub bound_mb: f64,
    pub slope_limit_mb_per_min: Option<f64>,
    pub end_within_bound: bool,
    pub slope_small: bool,
}

/// Judges `samples` of a load that lasted `load_s` seconds: the end may exceed the post-warm-up
/// start by at most `bound_mb`, and the post-warm-up slope may not exceed `slope_limit` (default:
/// `bound_mb` over the post-warm-up window).
pub fn rss_verdict(
    samples: &[(f64, f64)],
    load_s: f64,
    bound_mb: f64,
    slope_limit: Option<f64>,
) -> RssVerdict {
    let warmup_s = warmup_seconds(load_s);
    let during: Vec<(f64, f64)> = samples
        .iter()
        .copied()
        .filter(|&(t, _)| t <= load_s + 1e-6)
        .collect();
    let post: Vec<(f64, f64)> = during
        .iter()
        .copied()
        .filter(|&(t, _)| t >= warmup_s)
        .collect();
    let start_mb = post.first().map(|s| s.1);
    let end_mb = during.last().map(|s| s.1);
    let growth_mb = start_mb.zip(end_mb).map(|(s, e)| e - s);
    let slope = slope_mb_per_min(&post);
    let window_min = match (post.first(), post.last()) {
        (Some(a), Some(b)) => (b.0 - a.0) / 60.0,
        _ => 0.0,
    };
    let slope_limit = slope_limit.or((window_min > 0.0).then(|| bound_mb / window_min));
    RssVerdict {
        warmup_s: r3(warmup_s),
        start_mb: start_mb.map(r3),
        peak_mb: during.iter().map(|s| s.1).reduce(f64::max).map(r3),
        end_mb: end_mb.map(r3),
        growth_mb: growth_mb.map(r3),
        slope_mb_per_min: slope.map(r3),
        post_warmup_samples: post.len(),
        bound_mb,
        slope_limit_mb_per_min: slope_limit.map(r3),
        end_within_bound: growth_mb.is_some_and(|g| g <= bound_mb),
        slope_small: matches!((slope, slope_limit), (Some(s), Some(l)) if s <= l),
    }
}
