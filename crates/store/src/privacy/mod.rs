//! Personal data, erasure, requests, retention and workspace termination.

pub(crate) mod erasure;
pub(crate) mod personal;
pub(crate) mod requests;
pub(crate) mod retention;
pub(crate) mod termination;
