//! Horizontal bar charts as SVG, drawn with plotters' SVG backend.
//!
//! Layout needs no text measurement: each bar has its label on a line of its own above it
//! and its value just right of it, so long sub-outcome labels never collide with bars or
//! axes. plotters is built without a font feature (no `ttf`, no `ab_glyph`): its built-in
//! font backend only estimates text size, which this layout never relies on, and the SVG
//! backend writes text as `<text>` elements that the browser (or printer) sets in its own
//! sans-serif font. So no system font or bundled font file is needed, and the SVG bytes are
//! the same on every machine.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Chart;

pub const WIDTH: u32 = 720;
const ROW: u32 = 44;
const TOP: u32 = 8;
const LABEL_CHARS: usize = 90;
/// Bar colour: GSS "dark blue" (#12436D), 4.5:1 contrast or better on white.
const BAR: RGBColor = RGBColor(0x12, 0x43, 0x6d);
const TEXT: RGBColor = RGBColor(0x0b, 0x0c, 0x0c);

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_string()
    } else {
        let s: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}…", s.trim_end())
    }
}

/// The chart as an `<svg>` element (no XML declaration), or None when it has no bars.
pub fn svg(chart: &Chart) -> Option<String> {
    if chart.bars.is_empty() {
        return None;
    }
    let height = TOP + ROW * chart.bars.len() as u32 + 4;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let share = |b: &super::Bar| if b.base == 0 { 0.0 } else { b.n as f64 / b.base as f64 };
        // Scale: the largest share, rounded up to a multiple of 10%, fills the bar area.
        let max = chart.bars.iter().map(share).fold(0.0, f64::max);
        let scale_max = ((max * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
        let bar_area = (WIDTH - 130) as f64;
        let label_style = ("sans-serif", 15).into_font().color(&TEXT).pos(Pos::new(HPos::Left, VPos::Top));
        let value_style = ("sans-serif", 14).into_font().color(&TEXT).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, b) in chart.bars.iter().enumerate() {
            let y = (TOP + ROW * i as u32) as i32;
            root.draw(&Text::new(short(&b.label), (2, y), label_style.clone())).ok()?;
            let w = ((share(b) / scale_max) * bar_area).round().max(if b.n > 0 { 1.0 } else { 0.0 }) as i32;
            let (y0, y1) = (y + 20, y + 38);
            if w > 0 {
                root.draw(&Rectangle::new([(2, y0), (2 + w, y1)], BAR.filled())).ok()?;
            }
            let pct = if b.base == 0 { "-".to_string() } else { format!("{:.1}%", 100.0 * share(b)) };
            root.draw(&Text::new(format!("{pct} ({})", b.n), (8 + w, (y0 + y1) / 2), value_style.clone())).ok()?;
        }
        root.present().ok()?;
    }
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Bar;

    #[test]
    fn bars_and_labels_are_in_the_svg() {
        let c = Chart {
            title: "t".into(),
            bars: vec![
                Bar { label: "5.1 Parks & <green> spaces".into(), n: 30, base: 100 },
                Bar { label: "5.2 Bins".into(), n: 5, base: 100 },
            ],
            base_note: String::new(),
        };
        let s = svg(&c).unwrap();
        assert!(s.starts_with("<svg"), "{s}");
        assert!(s.contains("5.1 Parks &amp; &lt;green&gt; spaces"), "{s}");
        assert!(s.contains("30.0% (30)") && s.contains("5.0% (5)"));
        assert_eq!(s.matches("<rect").count(), 3, "background and two bars");
        assert_eq!(svg(&c).unwrap(), s, "deterministic");
    }
}
