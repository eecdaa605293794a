//! Who a person is and how they prove it: sign-in, sessions, passwords, second factors, passkeys, single sign-on and the sign-in back-off (IDN-*).

pub(crate) mod auth;
pub(crate) mod email_change;
pub(crate) mod mfa;
pub(crate) mod passkeys;
pub(crate) mod password_reset;
pub(crate) mod saml;
pub(crate) mod sessions;
pub(crate) mod sso;
pub(crate) mod throttle;
pub(crate) mod time_zone;
pub(crate) mod views;
