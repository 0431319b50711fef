//! The chart of `BENCHMARKS.md`: `client_credentials` tokens per second (left panel) and p99
//! latency (right panel) against concurrent connections, one line per backend, drawn as SVG
//! with plotters into [`CHART_PATH`].

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::report::{CHART_PATH, thousands};
use super::suite::{Backend, Endpoint, Point, Run, TOKEN_CONNECTIONS};
use crate::root;

/// The whole picture, in pixels.
const SIZE: (u32, u32) = (1000, 420);

/// Each backend's line colour (colour-blind safe blue and orange).
fn colour(backend: Backend) -> RGBColor {
    match backend {
        Backend::Sqlite => RGBColor(0, 114, 178),
        Backend::Postgres => RGBColor(230, 159, 0),
    }
}

/// One panel's figure of a point.
#[derive(Debug, Clone, Copy)]
struct Panel {
    caption: &'static str,
    y_desc: &'static str,
    value: fn(&Point) -> f64,
    label: fn(f64) -> String,
}

const PANELS: [Panel; 2] = [
    Panel {
        caption: "client_credentials tokens/s",
        y_desc: "tokens per second",
        value: |p| p.per_second,
        label: thousands,
    },
    Panel { caption: "client_credentials p99 latency", y_desc: "p99 latency (ms)", value: |p| p.p99_ms, label: ms },
];

/// Milliseconds with one decimal below 10, none above, and no `.0`.
fn ms(value: f64) -> String {
    let text = if value < 10.0 { format!("{value:.1}") } else { format!("{value:.0}") };
    text.strip_suffix(".0").map_or_else(|| text.clone(), str::to_owned)
}

/// A run's `client_credentials` points as (x position, figure).
fn line(run: &Run, value: fn(&Point) -> f64) -> Vec<(SegmentValue<usize>, f64)> {
    TOKEN_CONNECTIONS
        .iter()
        .enumerate()
        .filter_map(|(i, &c)| run.point(Endpoint::ClientCredentials, c).map(|p| (SegmentValue::CenterOf(i), value(p))))
        .collect()
}

/// Whether two positions on the x axis are the same (`SegmentValue` has no `PartialEq`).
fn same_position(a: &SegmentValue<usize>, b: &SegmentValue<usize>) -> bool {
    match (a, b) {
        (SegmentValue::CenterOf(a), SegmentValue::CenterOf(b)) | (SegmentValue::Exact(a), SegmentValue::Exact(b)) => {
            a == b
        }
        (SegmentValue::Last, SegmentValue::Last) => true,
        _ => false,
    }
}

/// The x axis label of a position: its connection count.
fn connections_label(position: &SegmentValue<usize>) -> String {
    match position {
        SegmentValue::CenterOf(i) => TOKEN_CONNECTIONS.get(*i).map(ToString::to_string).unwrap_or_default(),
        _ => String::new(),
    }
}

fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: Panel, runs: &[Run]) -> anyhow::Result<()> {
    let highest = runs.iter().flat_map(|run| line(run, panel.value)).map(|(_, y)| y).fold(0.0, f64::max);
    // Headroom above the highest point for its label and the legend.
    let top = if highest > 0.0 { highest * 1.3 } else { 1.0 };
    // Integer ranges are inclusive: three segments, one per connection count.
    let last = TOKEN_CONNECTIONS.len() - 1;
    let mut chart = ChartBuilder::on(area)
        .caption(panel.caption, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
        .map_err(|e| anyhow!("laying out {}: {e}", panel.caption))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(1)
        .x_desc("concurrent connections")
        .y_desc(panel.y_desc)
        .x_label_formatter(&connections_label)
        .y_label_formatter(&|y| (panel.label)(*y))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| anyhow!("drawing the axes of {}: {e}", panel.caption))?;
    let lines: Vec<_> = runs.iter().map(|run| line(run, panel.value)).collect();
    for (n, run) in runs.iter().enumerate() {
        let style = colour(run.backend).stroke_width(3);
        let points = lines[n].clone();
        chart
            .draw_series(LineSeries::new(points.clone(), style).point_size(5))
            .map_err(|e| anyhow!("drawing {}: {e}", run.backend.name()))?
            .label(run.backend.name())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 24, y)], style));
        // Each figure above its point when it is the highest at that x, below otherwise, so that
        // the figures of close lines do not overlap.
        let font = ("sans-serif", 14).into_font().color(&colour(run.backend));
        let labels = points.into_iter().map(|(x, y)| {
            let highest = lines.iter().enumerate().all(|(m, other)| {
                m == n
                    || other
                        .iter()
                        .find(|(at, _)| same_position(at, &x))
                        .is_none_or(|&(_, theirs)| y > theirs || (y == theirs && n < m))
            });
            let (vertical, offset) = if highest { (VPos::Bottom, -10) } else { (VPos::Top, 10) };
            let text = font.clone().pos(Pos::new(HPos::Center, vertical));
            EmptyElement::at((x, y)) + Text::new((panel.label)(y), (0, offset), text)
        });
        chart.draw_series(labels).map_err(|e| anyhow!("labelling {}: {e}", run.backend.name()))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(|e| anyhow!("drawing the legend of {}: {e}", panel.caption))?;
    Ok(())
}

/// The chart as SVG text.
pub(crate) fn svg(runs: &[Run]) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| anyhow!("filling the chart: {e}"))?;
        for (part, panel) in area.split_evenly((1, PANELS.len())).iter().zip(PANELS) {
            draw_panel(part, panel, runs)?;
        }
        area.present().map_err(|e| anyhow!("finishing the chart: {e}"))?;
    }
    Ok(svg)
}

/// Draws the chart into [`CHART_PATH`] (creating its directory) and returns the path.
pub(crate) fn draw(runs: &[Run]) -> anyhow::Result<PathBuf> {
    let path = root().join(CHART_PATH);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, svg(runs)?).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::{ms, svg};
    use crate::bench::suite::{Backend, Endpoint, Point, Run};

    #[test]
    fn milliseconds_are_short() {
        assert_eq!(ms(0.0), "0");
        assert_eq!(ms(2.0), "2");
        assert_eq!(ms(4.56), "4.6");
        assert_eq!(ms(11.9), "12");
    }

    fn run(backend: Backend, rates: [f64; 3]) -> Run {
        let points = [1, 16, 64]
            .into_iter()
            .zip(rates)
            .map(|(connections, per_second)| Point {
                endpoint: Endpoint::ClientCredentials,
                connections,
                per_second,
                p50_ms: 1.0,
                p99_ms: 2.0,
                errors: 0,
                rss_kib: 1,
            })
            .collect();
        Run { backend, database: String::new(), points, rss_run_kib: 1, rss_hwm_kib: None }
    }

    #[test]
    fn both_backends_are_drawn_and_labelled() {
        let svg = svg(&[
            run(Backend::Sqlite, [1_800.0, 9_700.0, 13_400.0]),
            run(Backend::Postgres, [900.0, 5_000.0, 6_000.0]),
        ])
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in ["SQLite", "Postgres", "client_credentials tokens/s", "concurrent connections", "13,400", "\n64\n"]
        {
            assert!(svg.contains(text), "no {text} in the chart");
        }
    }
}
