//! Spaces, discussions, ideas, comments, files and notifications.

pub mod comments;
pub mod files;
pub mod ideas;
pub mod inbox;
pub mod notifications;
pub mod search;
pub mod spaces;
