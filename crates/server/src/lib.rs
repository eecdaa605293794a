//! The `ideaweave` program: configuration, start-up and the command line. The binary in
//! `main.rs` only parses arguments and calls in here, so the test harness starts exactly what
//! production starts.

pub mod cli;
pub mod config;

use std::sync::Arc;

use anyhow::Context;
use ideaweave_app::{App, AppSettings, Clock};
use ideaweave_store::{LocalDirFileStore, PoolSettings, Store};
use ideaweave_web::AppState;

use crate::config::Config;

/// Opens the database named by the configuration (creating the data directory for SQLite) and
/// applies pending migrations.
pub async fn open_store(config: &Config, migrate: bool) -> anyhow::Result<Store> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                config.data_dir.display()
            )
        })?;
    }
    let settings = PoolSettings {
        max_connections: config.max_connections,
        ..Default::default()
    };
    let store = Store::connect(&config.database_url, &settings)
        .await
        .with_context(|| format!("cannot open the database {}", redact(&config.database_url)))?;
    if migrate {
        store
            .migrate()
            .await
            .context("cannot bring the database schema up to date")?;
    }
    Ok(store)
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Builds the application from a validated configuration.
pub async fn build_app(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
    let store = open_store(config, true).await?;
    let files = LocalDirFileStore::open(&config.uploads_dir).with_context(|| {
        format!(
            "cannot open the uploads directory {}",
            config.uploads_dir.display()
        )
    })?;
    let settings = AppSettings {
        session_ttl: config.session_ttl,
        invitation_ttl: config.invitation_ttl,
        max_upload_bytes: config.max_upload_bytes,
        public_url: config.public_url.clone(),
    };
    Ok(App::new(store, Arc::new(files), clock, settings))
}

/// The HTTP router for an application.
pub fn router(app: App, config: &Config) -> axum::Router {
    ideaweave_web::router(AppState {
        app,
        secure_cookies: config.secure_cookies,
        max_json_bytes: config.max_json_bytes,
    })
}

/// Serves `router` on `listener` until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
