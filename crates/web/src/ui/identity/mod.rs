//! Signing in and out, sessions, second factors, passkeys, single sign-on and one's account.

pub(crate) mod account;
pub(crate) mod security;
pub(crate) mod session;
pub(crate) mod sign_in_setup;
pub(crate) mod sso;
