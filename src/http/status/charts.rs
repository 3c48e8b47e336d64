//! Charts as inline SVG drawn on the server: no script needed, styled by class from status.css (the CSP
//! allows no inline styles), each bar titled with its figures for a hover tooltip.

use maud::{html, Markup};

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 160.0;
const BOTTOM: f64 = 18.0;

/// One bar: accepted and refused counts, and its label (shown as tooltip).
pub struct Bar {
    pub accepted: u64,
    pub refused: u64,
    pub label: String,
}

/// Stacked bars (accepted below, refused on top) with a caption for the first and last bar.
pub fn stacked_bars(id: &str, bars: &[Bar], first: &str, last: &str) -> Markup {
    let max = bars
        .iter()
        .map(|b| b.accepted + b.refused)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let plot = HEIGHT - BOTTOM;
    let step = WIDTH / bars.len().max(1) as f64;
    let width = (step * 0.8).max(1.0);
    html! {
        svg.chart id=(id) viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img"
            aria-label="partials over time: accepted and refused" {
            line.axis x1="0" y1=(plot) x2=(WIDTH) y2=(plot) {}
            @for (i, b) in bars.iter().enumerate() {
                @let x = i as f64 * step;
                @let ha = b.accepted as f64 / max * plot;
                @let hr = b.refused as f64 / max * plot;
                g {
                    title { (b.label) ": " (b.accepted) " accepted, " (b.refused) " refused" }
                    @if b.accepted > 0 {
                        rect.acc x=(fmt(x)) y=(fmt(plot - ha)) width=(fmt(width)) height=(fmt(ha)) {}
                    }
                    @if b.refused > 0 {
                        rect.rej x=(fmt(x)) y=(fmt(plot - ha - hr)) width=(fmt(width)) height=(fmt(hr)) {}
                    }
                }
            }
            text x="0" y=(HEIGHT - 4.0) { (first) }
            text x=(WIDTH) y=(HEIGHT - 4.0) text-anchor="end" { (last) }
            text x="0" y="10" { "max " (max as u64) " per bar" }
        }
    }
}

/// Horizontal bars: (label, count).
pub fn histogram(id: &str, rows: &[(String, u64)]) -> Markup {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1) as f64;
    let row_h = 18.0;
    let height = row_h * rows.len().max(1) as f64;
    let label_w = 150.0;
    html! {
        svg.chart id=(id) viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label="distribution" {
            @for (i, (label, n)) in rows.iter().enumerate() {
                @let y = i as f64 * row_h;
                @let w = *n as f64 / max * (WIDTH - label_w - 60.0);
                g {
                    title { (label) ": " (n) }
                    text x="0" y=(fmt(y + 13.0)) { (label) }
                    rect.acc x=(label_w) y=(fmt(y + 3.0)) width=(fmt(w.max(1.0))) height="12" {}
                    text x=(fmt(label_w + w + 6.0)) y=(fmt(y + 13.0)) { (n) }
                }
            }
        }
    }
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_and_labels_escaped() {
        let bars = vec![
            Bar {
                accepted: 2,
                refused: 0,
                label: "<b>".into(),
            },
            Bar {
                accepted: 1,
                refused: 1,
                label: "x".into(),
            },
        ];
        let svg = stacked_bars("c", &bars, "a", "b").into_string();
        assert!(svg.contains("&lt;b&gt;"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(
            svg.contains("height=\"142.0\""),
            "the tallest bar fills the plot: {svg}"
        );
    }
}
