//! A form field that failed to parse: which one, and what to fix.

use std::fmt;

/// `title: is too long (129 characters, at most 128)`. The field is the form
/// name, so a page can show the problem next to its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: &'static str,
    pub problem: String,
}

impl FieldError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// Every problem of one form at once, so the author fixes them in one go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn field(&self, name: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == name)
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// Trimmed text of `min..=max` characters (not bytes: Cyrillic is two).
pub(crate) fn bounded_text(field: &'static str, raw: &str, min: usize, max: usize) -> Result<String, FieldError> {
    let s = raw.replace("\r\n", "\n");
    let s = s.trim();
    let n = s.chars().count();
    if n < min {
        return Err(if n == 0 {
            FieldError::new(field, "must not be empty")
        } else {
            FieldError::new(field, format!("is too short ({n} characters, at least {min})"))
        });
    }
    if n > max {
        return Err(FieldError::new(
            field,
            format!("is too long ({n} characters, at most {max})"),
        ));
    }
    Ok(s.to_string())
}
