//! Collecting field errors while parsing a wire DTO into a domain input.
//!
//! ```
//! use nexus_core::validation::Validator;
//! let mut v = Validator::new();
//! let name = v.text("/name", Some("  Acme  ".to_string()), 2, 100);
//! v.finish().unwrap();
//! assert_eq!(name.as_deref(), Some("Acme"));
//! ```

use crate::error::{Error, FieldError};

#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    pub fn error(&mut self, pointer: &str, code: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::new(pointer, code, detail));
    }

    /// A required, trimmed text field of `min..=max` characters without control characters.
    pub fn text(
        &mut self,
        pointer: &str,
        value: Option<String>,
        min: usize,
        max: usize,
    ) -> Option<String> {
        let Some(raw) = value else {
            self.error(
                pointer,
                "required",
                format!("{} is required", field_name(pointer)),
            );
            return None;
        };
        let value = raw.trim().to_owned();
        let len = value.chars().count();
        if len < min {
            self.error(
                pointer,
                "too_short",
                format!("{} must be at least {min} characters", field_name(pointer)),
            );
            None
        } else if len > max {
            self.error(
                pointer,
                "too_long",
                format!("{} must be at most {max} characters", field_name(pointer)),
            );
            None
        } else if value.chars().any(char::is_control) {
            self.error(
                pointer,
                "invalid_format",
                format!(
                    "{} must not contain control characters",
                    field_name(pointer)
                ),
            );
            None
        } else {
            Some(value)
        }
    }

    /// A required value parsed by `parse`, whose error message becomes the detail.
    pub fn parse<T, E: std::fmt::Display>(
        &mut self,
        pointer: &str,
        value: Option<&str>,
        code: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let Some(raw) = value else {
            self.error(
                pointer,
                "required",
                format!("{} is required", field_name(pointer)),
            );
            return None;
        };
        match parse(raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(pointer, code, e.to_string());
                None
            }
        }
    }

    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when nothing was wrong, else [`Error::Validation`] with every field.
    pub fn finish(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.errors))
        }
    }
}

fn field_name(pointer: &str) -> &str {
    pointer
        .rsplit(['/', '.'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("value")
}

/// Parse a closed set of lower-case values (`"brand" | "agency"`), with a
/// detail that lists the allowed ones.
pub fn one_of<T: Copy>(value: &str, allowed: &[(&str, T)]) -> Result<T, String> {
    allowed
        .iter()
        .find(|(k, _)| *k == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            format!(
                "'{}' is not one of: {}",
                value.chars().take(40).collect::<String>(),
                allowed
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_every_field_error() {
        let mut v = Validator::new();
        assert_eq!(v.text("/name", None, 1, 5), None);
        assert_eq!(v.text("/title", Some("x".into()), 2, 5), None);
        assert_eq!(v.text("/bio", Some("toolong".into()), 1, 5), None);
        assert_eq!(v.text("/ok", Some(" ok ".into()), 1, 5), Some("ok".into()));
        assert_eq!(v.text("/ctl", Some("a\u{0007}b".into()), 1, 5), None);
        let Err(Error::Validation(errs)) = v.finish() else {
            panic!("expected validation error")
        };
        let codes: Vec<_> = errs
            .iter()
            .map(|e| (e.pointer.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            codes,
            [
                ("/name", "required"),
                ("/title", "too_short"),
                ("/bio", "too_long"),
                ("/ctl", "invalid_format")
            ]
        );
    }

    #[test]
    fn one_of_lists_allowed_values() {
        let allowed = [("brand", 1), ("agency", 2)];
        assert_eq!(one_of("agency", &allowed), Ok(2));
        let e = one_of("nope", &allowed).unwrap_err();
        assert!(e.contains("brand, agency"));
    }
}
