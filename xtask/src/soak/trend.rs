//! The trends of a soak: whether memory grows (the least-squares slope of the server's RSS over
//! the intervals, the first left out as warm-up) and whether latency drifts (the median p99 of
//! the last third of the intervals over that of the first third).

/// The least-squares slope of `points` (x, y); `None` with fewer than two distinct x.
pub(crate) fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > f64::EPSILON).then(|| sxy / sxx)
}

/// The median of `values`; `None` when empty.
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// RSS growth in MB per minute: `samples` are (minutes since the start, MB) at each interval's
/// end; the first is left out as warm-up.
pub(crate) fn rss_slope(samples: &[(f64, f64)]) -> Option<f64> {
    slope(samples.get(1..)?)
}

/// The median p99 of the last third of `p99s` over that of the first third (a third is at least
/// one interval); `None` with fewer than two intervals or a first-third median of zero.
pub(crate) fn p99_drift(p99s: &[f64]) -> Option<f64> {
    if p99s.len() < 2 {
        return None;
    }
    let third = (p99s.len() / 3).max(1);
    let first = median(&p99s[..third])?;
    let last = median(&p99s[p99s.len() - third..])?;
    (first > 0.0).then(|| last / first)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::{median, p99_drift, rss_slope, slope};

    #[test]
    fn the_slope_fits_a_line() {
        assert!((slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap() - 2.0).abs() < 1e-12);
        assert!((slope(&[(0.0, 1.0), (1.0, 2.0), (2.0, 1.0)]).unwrap()).abs() < 1e-12);
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        assert_eq!(slope(&[(1.0, 1.0), (1.0, 2.0)]), None, "no spread in x");
    }

    #[test]
    fn the_warm_up_is_left_out_of_the_rss_slope() {
        // A jump during the first interval, flat afterwards.
        let samples = [(0.5, 10.0), (1.0, 40.0), (1.5, 40.0), (2.0, 40.0)];
        assert!(rss_slope(&samples).unwrap().abs() < 1e-12);
        assert_eq!(rss_slope(&samples[..2]), None);
        assert_eq!(rss_slope(&[]), None);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn drift_compares_the_last_third_with_the_first() {
        assert_eq!(p99_drift(&[1.0]), None);
        assert_eq!(p99_drift(&[2.0, 3.0]), Some(1.5));
        // Thirds of three: [1, 9, 1] [2, 2, 2] [2, 9, 2] -> 2 / 1.
        let p99s = [1.0, 9.0, 1.0, 2.0, 2.0, 2.0, 2.0, 9.0, 2.0];
        assert_eq!(p99_drift(&p99s), Some(2.0));
        assert_eq!(p99_drift(&[0.0, 1.0]), None);
    }
}
