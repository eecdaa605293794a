//! The domain of Ideaweave: what workspaces, spaces, discussions, ideas, comments, votes and
//! ratings are, which values are valid, and who may do what.
//!
//! This crate performs no I/O and knows nothing of HTTP or SQL, so that every rule in it can be
//! unit-tested in isolation and reused by the web layer, the CLI and the storage layer alike.

pub mod attachment;
pub mod erasure;
pub mod identity;
pub mod ids;
pub mod markdown;
pub mod mention;
pub mod notify;
pub mod paging;
pub mod policy;
pub mod ranking;
pub mod requests;
pub mod retention;
pub mod role;
pub mod support;
pub mod values;

pub use erasure::{ErasureMode, FORMER_MEMBER};
pub use identity::{AuthLevel, PasswordPolicy};
pub use ids::*;
pub use notify::NotificationPreference;
pub use requests::{RequestChannel, RequestKind, RequestState};
pub use retention::RetentionPolicy;
pub use role::{Role, TokenScope};
pub use support::{MAX_SUPPORT_HOURS, SupportScope};
pub use values::*;
