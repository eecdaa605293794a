//! What holds for every area: authorisation on every route, bad input, limits, the OpenAPI document, pages' policy, XSS, mail, the CLI and the control catalogue.

pub(crate) mod authz;
pub(crate) mod bad_input;
pub(crate) mod cli;
pub(crate) mod controls;
pub(crate) mod errors;
pub(crate) mod layout;
pub(crate) mod limits;
pub(crate) mod mail;
pub(crate) mod openapi;
pub(crate) mod routes;
pub(crate) mod statements;
pub(crate) mod ui;
pub(crate) mod xss;
