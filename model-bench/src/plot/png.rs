//! PNG copies of the charts: the SVG rasterised by resvg, its text set in a system font.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::error::{Error, Result};

/// The system's fonts, loaded once per process.
pub struct PngFonts {
    database: Arc<usvg::fontdb::Database>,
    /// The family that stands in for `sans-serif`, when any font was found.
    pub sans_serif: Option<String>,
}

/// Families tried for `sans-serif`, in order, before any other installed family.
const SANS_SERIF: [&str; 6] = [
    "DejaVu Sans",
    "Liberation Sans",
    "Noto Sans",
    "Arial",
    "Helvetica",
    "FreeSans",
];

impl PngFonts {
    pub fn system() -> &'static PngFonts {
        static FONTS: OnceLock<PngFonts> = OnceLock::new();
        FONTS.get_or_init(|| {
            let mut database = usvg::fontdb::Database::new();
            database.load_system_fonts();
            if let Some(path) = std::env::var_os("MODEL_BENCH_FONT") {
                // A missing or unreadable file leaves the system fonts to choose from.
                let _ = database.load_font_file(path);
            }
            let families: Vec<String> = database
                .faces()
                .flat_map(|face| face.families.iter().map(|(name, _)| name.clone()))
                .collect();
            let sans_serif = SANS_SERIF
                .iter()
                .map(|name| name.to_string())
                .find(|name| families.contains(name))
                .or_else(|| families.first().cloned());
            if let Some(family) = &sans_serif {
                database.set_sans_serif_family(family.clone());
            }
            PngFonts {
                database: Arc::new(database),
                sans_serif,
            }
        })
    }
}

/// Rasterises `svg` (a chart named `chart`) to PNG bytes at its own pixel size. Without any system
/// font the PNG has no text (the SVG keeps it); the caller says so.
pub fn to_png(chart: &str, svg: &str, fonts: &PngFonts) -> Result<Vec<u8>> {
    let error = |message: String| Error::Plot {
        chart: chart.to_string(),
        message,
    };
    let options = usvg::Options {
        fontdb: Arc::clone(&fonts.database),
        font_family: fonts
            .sans_serif
            .clone()
            .unwrap_or_else(|| "sans-serif".into()),
        ..usvg::Options::default()
    };
    let tree =
        usvg::Tree::from_str(svg, &options).map_err(|e| error(format!("SVG unreadable: {e}")))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| error(format!("empty size {}x{}", size.width(), size.height())))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| error(format!("PNG encoding: {e}")))
}
