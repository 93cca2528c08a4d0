//! The table model of the summary: a table is built once, from a report, and each format (plain
//! text, GitHub Markdown, HTML) only supplies its syntax.

/// A titled table with optional notes under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
    /// Every column left-aligned (prose rather than figures).
    pub prose: bool,
}

impl Table {
    pub(super) fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
            prose: false,
        }
    }

    /// Plain text with aligned columns.
    pub fn to_text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|col| {
                std::iter::once(&self.headers)
                    .chain(&self.rows)
                    .map(|row| row.get(col).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (cell, width))| {
                    if i == 0 || self.prose {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            format!("  {}", padded.join("  ").trim_end())
        };
        let mut out = format!("{}\n{}\n", self.title, line(&self.headers));
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        for note in &self.notes {
            out.push_str(&format!("  {note}\n"));
        }
        out
    }

    /// A GitHub-flavoured Markdown table under a level-3 heading.
    pub fn to_markdown(&self) -> String {
        let escape = |cell: &String| cell.replace('|', "\\|");
        let mut out = format!("### {}\n\n", self.title);
        out.push_str(&format!(
            "| {} |\n",
            self.headers
                .iter()
                .map(escape)
                .collect::<Vec<_>>()
                .join(" | ")
        ));
        out.push_str(&format!(
            "|{}|\n",
            self.headers
                .iter()
                .enumerate()
                .map(|(i, _)| if i == 0 || self.prose {
                    " --- "
                } else {
                    " ---: "
                })
                .collect::<Vec<_>>()
                .join("|")
        ));
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter().map(escape).collect::<Vec<_>>().join(" | ")
            ));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                out.push_str(&format!("- {}\n", note.replace('|', "\\|")));
            }
        }
        out.push('\n');
        out
    }
}

impl Table {
    /// An HTML table under a level-3 heading, notes as a list below it.
    pub fn to_html(&self) -> String {
        use crate::plot::xml_escape;
        let mut out = format!("<h3>{}</h3>\n<table>\n<tr>", xml_escape(&self.title));
        for header in &self.headers {
            out.push_str(&format!("<th>{}</th>", xml_escape(header)));
        }
        out.push_str("</tr>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let class = if i == 0 || self.prose {
                    ""
                } else {
                    " class=\"num\""
                };
                out.push_str(&format!("<td{class}>{}</td>", xml_escape(cell)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        if !self.notes.is_empty() {
            out.push_str("<ul class=\"notes\">\n");
            for note in &self.notes {
                out.push_str(&format!("<li>{}</li>\n", xml_escape(note)));
            }
            out.push_str("</ul>\n");
        }
        out
    }
}
