//! Field-level validation errors, reported all at once.

/// One problem with one input field. `index` locates the item inside a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The offending field's wire name, e.g. `end_time`.
    pub field: String,
    /// A human sentence saying what is wrong.
    pub message: String,
    /// The position of the item in a batch request, when there is one.
    pub index: Option<usize>,
}

impl FieldError {
    /// A problem with `field`, outside any batch.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            index: None,
        }
    }

    /// The same problem, located at `index` of a batch.
    pub fn at(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}

/// Checks that `value` has between `min` and `max` characters (not bytes) and no NUL
/// character.
pub fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, min: usize, max: usize) {
    let len = value.chars().count();
    if len < min || len > max {
        let message = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be between {min} and {max} characters")
        };
        errors.push(FieldError::new(field, message));
    } else if value.contains('\0') {
        // PostgreSQL's text cannot hold it; SQLite's could: refused alike on both.
        errors.push(FieldError::new(
            field,
            "must not contain the NUL character (U+0000)",
        ));
    }
}
