//! The JavaScript form: `function handler(webhook)` in a QuickJS sandbox.

use crate::{Input, Limits, Outcome, TransformError};

#[derive(Debug)]
pub(crate) struct Program {}

impl Program {
    pub(crate) fn new(_code: &str) -> Result<Program, TransformError> {
        Err(TransformError::invalid("JavaScript transformations are not implemented yet"))
    }

    pub(crate) fn run(&self, _input: &Input, _limits: &Limits) -> Result<Outcome, TransformError> {
        Err(TransformError::failed("JavaScript transformations are not implemented yet"))
    }
}
