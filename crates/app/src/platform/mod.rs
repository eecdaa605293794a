//! What every area builds on: the keyring, sealed values, secrets, outgoing mail and address locations.

pub(crate) mod clock;
pub(crate) mod geoip;
pub(crate) mod keyring;
pub(crate) mod mail;
pub(crate) mod paging;
pub(crate) mod sealed;
pub(crate) mod secrets;
