//! The runtime's error type: every error is one line that says what failed and why.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// config.json is invalid: the JSON path of the field and what is wrong with it.
    #[error("{file}: {field}: {problem}")]
    Config {
        file: String,
        field: String,
        problem: String,
    },
    /// A syscall or file operation failed while doing `context` (shown without the
    /// " (os error N)" that io::Error appends: the text already says it).
    #[error("{context}: {}", crate::spec::io_text(source))]
    Io { context: String, source: io::Error },
    /// No container has this id.
    #[error("container {0} does not exist")]
    NotFound(String),
    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Msg(String),
}

impl Error {
    pub fn msg(m: impl Into<String>) -> Self {
        Error::Msg(m.into())
    }

    pub fn config(
        file: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Error::Config {
            file: file.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Attach what we were doing to an `io::Result`.
pub trait Context<T> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context<S: Into<String>>(self, what: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: what().into(),
            source,
        })
    }
}
