//! Data-subject rights: erasure, requests, retention and workspace termination.

pub mod erasure;
pub mod requests;
pub mod retention;
pub mod termination;
