//! Data-subject rights and the life cycle of personal data.

pub(crate) mod erasure;
pub(crate) mod personal_data;
pub(crate) mod rectification;
pub(crate) mod requests;
pub(crate) mod restriction;
pub(crate) mod retention;
pub(crate) mod termination;
