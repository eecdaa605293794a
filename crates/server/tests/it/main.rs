//! Integration tests: the real application on a random port, against SQLite or PostgreSQL
//! (`IW_TEST_DB`). One test binary, one module per area.

mod audit;
mod authz;
mod backup;
mod bad_input;
mod cli;
mod content;
mod controls;
mod encryption;
mod erasure;
mod export;
mod helpers;
mod identity;
mod invitations;
mod keys;
mod limits;
mod mail;
mod notifications;
mod openapi;
mod pages;
mod password_reset;
mod personal_data;
mod rectification;
mod requests;
mod restriction;
mod retention;
mod revocation;
mod routes;
mod saml;
mod soft_passkey;
mod sso;
mod support;
mod termination;
mod ui;
mod xss;
