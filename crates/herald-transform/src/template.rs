//! The template form: a JSON object of minijinja templates.

use crate::{Input, Limits, Outcome, TransformError};

#[derive(Debug)]
pub(crate) struct Program {}

impl Program {
    pub(crate) fn new(_code: &str) -> Result<Program, TransformError> {
        Err(TransformError::invalid("templates are not implemented yet"))
    }

    pub(crate) fn run(&self, _input: &Input, _limits: &Limits) -> Result<Outcome, TransformError> {
        Err(TransformError::failed("templates are not implemented yet"))
    }
}
