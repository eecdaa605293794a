//! Data-subject rights: erasure, requests, retention and workspace termination.

pub(crate) mod desk;
