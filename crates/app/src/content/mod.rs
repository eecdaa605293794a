//! What members write and share: spaces, discussions, ideas, comments, votes, ratings, files and the notifications about them (COL-*).

pub(crate) mod activity;
pub(crate) mod comments;
pub(crate) mod files;
pub(crate) mod ideas;
pub(crate) mod image_previews;
pub(crate) mod inbox;
pub(crate) mod mentions;
pub(crate) mod notifications;
pub(crate) mod preview;
pub(crate) mod profiles;
pub(crate) mod search;
pub(crate) mod spaces;
pub(crate) mod views;
