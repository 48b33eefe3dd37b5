//! The speed-vs-accuracy figure as SVG, written by hand (no plotting dependency):
//! x = texts/s with all threads (log scale), y = English average score, circle area
//! proportional to the parameter count, one label per model.

use std::fmt::Write as _;

use crate::report::{Report, human_params};

const W: f64 = 960.0;
const H: f64 = 600.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 70.0;
const BOTTOM: f64 = 70.0;

/// A point of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Label.
    pub label: String,
    /// Texts per second (x, log scale); must be > 0.
    pub speed: f64,
    /// Average score (y).
    pub score: f64,
    /// Parameters (circle area).
    pub params: usize,
    /// Fill colour.
    pub color: &'static str,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn color_for(implementation: &str) -> &'static str {
    if implementation.contains("Python") {
        "#2ca02c"
    } else if implementation.contains("model2vec-rs") {
        "#9467bd"
    } else if implementation.contains("teacher") {
        "#d62728"
    } else if implementation.contains("baseline") {
        "#7f7f7f"
    } else {
        "#1f77b4"
    }
}

/// The points of a report: models with an average over every English task and an
/// all-threads speed.
pub fn points(rep: &Report) -> Vec<Point> {
    rep.models
        .iter()
        .filter_map(|m| {
            let score = m.average(&rep.tasks, None)?;
            let speed = m.speed_all.as_ref()?.texts_per_s;
            (speed > 0.0).then(|| Point {
                label: format!("{} ({})", m.name, m.implementation),
                speed,
                score,
                params: m.params,
                color: color_for(&m.implementation),
            })
        })
        .collect()
}

fn fmt_speed(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

/// Renders the figure; `title` and `subtitle` go on top.
pub fn svg(points: &[Point], title: &str, subtitle: &str, threads: usize) -> String {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let lx: Vec<f64> = points.iter().map(|p| p.speed.log10()).collect();
    let (mut x0, mut x1) = (
        lx.iter().copied().fold(f64::INFINITY, f64::min).floor(),
        lx.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil(),
    );
    if !x0.is_finite() || !x1.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let sy: Vec<f64> = points.iter().map(|p| p.score).collect();
    let (mut y0, mut y1) = (
        ((sy.iter().copied().fold(f64::INFINITY, f64::min) - 3.0) / 5.0).floor() * 5.0,
        ((sy.iter().copied().fold(f64::NEG_INFINITY, f64::max) + 3.0) / 5.0).ceil() * 5.0,
    );
    if !y0.is_finite() || !y1.is_finite() {
        (y0, y1) = (0.0, 100.0);
    }
    let px = |v: f64| LEFT + (v.log10() - x0) / (x1 - x0) * pw;
    let py = |v: f64| TOP + (y1 - v) / (y1 - y0) * ph;
    let pmax = points.iter().map(|p| p.params).max().unwrap_or(0).max(1) as f64;
    let radius = |p: usize| 5.0 + 35.0 * (p as f64 / pmax).sqrt();

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Arial, Helvetica, sans-serif">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" font-size="18" text-anchor="middle">{}</text>"#,
        W / 2.0,
        esc(title)
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="50" font-size="12" fill="#555" text-anchor="middle">{}</text>"##,
        W / 2.0,
        esc(subtitle)
    );
    // Grid and ticks.
    let mut d = x0;
    while d <= x1 + 1e-9 {
        let x = LEFT + (d - x0) / (x1 - x0) * pw;
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{}" stroke="#ddd"/>"##,
            TOP + ph
        );
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{}" font-size="12" text-anchor="middle">{}</text>"#,
            TOP + ph + 18.0,
            fmt_speed(10f64.powf(d).round())
        );
        d += 1.0;
    }
    let step = if y1 - y0 > 40.0 { 10.0 } else { 5.0 };
    let mut v = y0;
    while v <= y1 + 1e-9 {
        let y = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##,
            LEFT + pw
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" font-size="12" text-anchor="end">{v:.0}</text>"#,
            LEFT - 8.0,
            y + 4.0
        );
        v += step;
    }
    let _ = writeln!(
        s,
        r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="black"/>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" font-size="14" text-anchor="middle">texts per second, {threads} threads (log scale)</text>"#,
        LEFT + pw / 2.0,
        H - 22.0
    );
    let _ = writeln!(
        s,
        r#"<text x="22" y="{}" font-size="14" text-anchor="middle" transform="rotate(-90 22 {})">English average (all English tasks)</text>"#,
        TOP + ph / 2.0,
        TOP + ph / 2.0
    );
    // Largest circles first so small ones stay visible.
    let mut order: Vec<&Point> = points.iter().collect();
    order.sort_by_key(|p| std::cmp::Reverse(p.params));
    for p in &order {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="{}" fill-opacity="0.45" stroke="{}"/>"#,
            px(p.speed),
            py(p.score),
            radius(p.params),
            p.color,
            p.color
        );
    }
    // Two short lines per label (model · params, then the implementation) so that
    // neighbouring points overlap less.
    for p in &order {
        let (name, imp) = match p.label.split_once(" (") {
            Some((n, rest)) => (n, rest.strip_suffix(')').unwrap_or(rest)),
            None => (p.label.as_str(), ""),
        };
        let x = px(p.speed) + radius(p.params).min(12.0) + 3.0;
        let y = py(p.score) - 2.0;
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="11">{} · {}</text>"#,
            esc(name),
            human_params(p.params)
        );
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" font-size="10" fill="#444">{}</text>"##,
            y + 12.0,
            esc(imp)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The figure of a report.
pub fn report_svg(rep: &Report) -> String {
    let m = &rep.machine;
    svg(
        &points(rep),
        &format!(
            "Speed vs accuracy ({} English tasks, {} mode)",
            rep.tasks.iter().filter(|t| t.group.is_english()).count(),
            rep.mode
        ),
        &format!(
            "{} · {} logical CPUs · {} · circle area ∝ parameters",
            m.cpu, m.logical_cpus, rep.date
        ),
        rep.threads,
    )
}

/// Rasterises an SVG (such as [`svg`]'s) to a PNG file with `resvg` (pure Rust;
/// fonts from the system font folders through `fontdb`, no C font libraries). When no
/// font is found the PNG has no text; the SVG is the reference rendering.
pub fn render_png(svg: &str, path: &std::path::Path, scale: f32) -> Result<(), crate::Error> {
    use resvg::{tiny_skia, usvg};
    let mut opt = usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    let bad = |what: String| crate::Error::Plot {
        path: path.to_path_buf(),
        what,
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| bad(e.to_string()))?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(scale)
        .ok_or_else(|| bad("bad size".into()))?;
    let mut pm = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| bad("cannot allocate the image".into()))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pm.as_mut(),
    );
    pm.save_png(path).map_err(|e| bad(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_places_points() {
        let pts = vec![
            Point {
                label: "fast <static>".into(),
                speed: 10_000.0,
                score: 60.0,
                params: 7_500_000,
                color: "#1f77b4",
            },
            Point {
                label: "slow".into(),
                speed: 100.0,
                score: 70.0,
                params: 22_700_000,
                color: "#d62728",
            },
        ];
        let s = svg(&pts, "t", "s", 2);
        assert!(s.starts_with("<svg"));
        assert!(s.contains("fast &lt;static&gt;"));
        // x axis spans decades 10^2..10^4: the slow model on the left edge, the fast
        // one on the right edge; y spans 55..75.
        assert!(s.contains(&format!(r#"cx="{LEFT:.1}""#)), "{s}");
        assert!(s.contains(&format!(r#"cx="{:.1}""#, W - RIGHT)), "{s}");
        assert!(s.contains(">1k</text>"));
        // The biggest model gets the biggest circle (5 + 35).
        assert!(s.contains(r#"r="40.0""#));
        assert!(s.trim_end().ends_with("</svg>"));
    }
}
