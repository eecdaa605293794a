//! Data-subject rights and the life cycle of personal data: access, restriction, erasure, requests, retention and workspace termination (DSR-*, LIF-*).

pub(crate) mod erasure;
pub(crate) mod erasure_replay;
pub(crate) mod personal_data;
pub(crate) mod requests;
pub(crate) mod restriction;
pub(crate) mod retention;
pub(crate) mod termination;
