//! Log output: JSON lines for machines (one object a line, fields at the top level) or the
//! pretty format for people, colours only on a terminal. Logs go to standard error, which
//! leaves standard output to what the sub-commands print (`token`, `openapi`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Installs the process's subscriber: `RUST_LOG` filters (default `info`), `format` or, when
/// not given, pretty on a terminal and JSON elsewhere (a file, a pipe, a container's log).
pub fn init(format: Option<LogFormat>) {
    let terminal = std::io::stderr().is_terminal();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format.unwrap_or(if terminal { LogFormat::Pretty } else { LogFormat::Json }) {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
        // Colour codes are for terminals; in a file they are noise.
        LogFormat::Pretty => builder.with_ansi(terminal).init(),
    }
}
