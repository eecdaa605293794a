//! Workspace export and import.

pub mod exports;
