//! A real S3-compatible server for tests: moto's server on a free loopback port, in memory,
//! stopped when dropped.
//!
//! `cargo xtask test` installs moto into `target/pydeps` (see [`crate::pythonpath`]).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use ideaweave_store::{S3Access, S3Location};
use object_store::ObjectStoreExt;

/// An S3 server that stops when dropped.
pub struct TestS3 {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.stop();
    }
}

impl TestS3 {
    /// Starts the server and waits until it answers (moto's imports are heavy: a loaded
    /// machine may take a while).
    pub async fn start() -> Self {
        let port = crate::closed_port();
        let mut c = Command::new("python3");
        c.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(p) = crate::pythonpath() {
            c.env("PYTHONPATH", p);
        }
        let child = c
            .spawn()
            .expect("python3 -m moto.server (pip package moto[server])");
        let mut s3 = Self { child, port };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = s3.child.try_wait() {
                panic!("moto_server exited at start ({status})");
            }
            if client
                .get(format!("{}/", s3.endpoint()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return s3;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto_server did not start");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket`.
    pub async fn bucket(&self, bucket: &str) {
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint()))
            .send()
            .await
            .expect("create bucket");
        assert!(r.status().is_success(), "create bucket: {}", r.status());
    }

    /// `prefix` in `bucket` (created if missing), with the server's test credentials.
    pub async fn location(&self, bucket: &str, prefix: &str) -> S3Location {
        self.bucket(bucket).await;
        location_at(&self.endpoint(), bucket, prefix)
    }

    /// Every object of `bucket` with its bytes, read straight from the server: what someone
    /// with access to the storage sees.
    pub async fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let store = location_at(&self.endpoint(), bucket, "")
            .connect()
            .expect("S3 client");
        let listed: Vec<_> = store.list(None).try_collect().await.expect("list bucket");
        let mut out = Vec::new();
        for meta in listed {
            let bytes = store
                .get(&meta.location)
                .await
                .expect("get object")
                .bytes()
                .await
                .expect("read object");
            out.push((meta.location.to_string(), bytes.to_vec()));
        }
        out
    }

    /// Stops the server (an outage); everything it held is gone.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `prefix` in `bucket` at `endpoint`, with moto's test credentials.
pub fn location_at(endpoint: &str, bucket: &str, prefix: &str) -> S3Location {
    S3Location {
        bucket: bucket.into(),
        prefix: prefix.into(),
        access: S3Access {
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            ca_file: None,
        },
    }
}
