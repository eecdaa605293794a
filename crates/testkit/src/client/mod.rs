//! The typed test client: the JSON API as a program outside the server sees it.
//!
//! [`Client`] sends requests to a running [`TestApp`](crate::TestApp) or
//! [`TestNode`](crate::TestNode) as one caller (no credential, a bearer token or a browser
//! session). Each endpoint the tests use through it is one method, grouped by area as the API is
//! ([`content`], [`workspace`], [`identity`]), returning a [`Reply`] whose body reads as the typed
//! answer ([`Reply::ok`], [`Reply::expect`]) or as the error shape ([`Reply::refused`]).
//!
//! The answer types in [`models`] are the client's own, not the server's: a field the server
//! renames breaks the tests as it would break a real client (and the OpenAPI conformance check
//! compares every answer with the published document besides). [`Client::send`] stays for what a
//! typed method cannot express: malformed, mistyped or hostile requests, and endpoints a single
//! test uses.

pub mod content;
pub mod identity;
pub mod models;
pub mod workspace;

use std::marker::PhantomData;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Person, Session};

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// No credential.
    None,
    /// `Authorization: Bearer`.
    Token(String),
    /// The session cookie, with its CSRF header.
    Session(Session),
}

impl From<&Person> for Auth {
    fn from(p: &Person) -> Self {
        Auth::Token(p.token.clone())
    }
}

impl From<&Session> for Auth {
    fn from(s: &Session) -> Self {
        Auth::Session(s.clone())
    }
}

impl From<Option<&Session>> for Auth {
    fn from(s: Option<&Session>) -> Self {
        s.map_or(Auth::None, Auth::from)
    }
}

/// A request body.
#[derive(Debug)]
pub enum Body {
    /// None.
    None,
    /// JSON.
    Json(Value),
    /// Bytes as they are, with their content type (malformed bodies).
    Raw {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
    /// A multipart upload with one part `file`.
    Upload {
        filename: &'static str,
        bytes: Vec<u8>,
    },
}

impl Body {
    /// A serialisable value as JSON.
    pub fn json(value: impl Serialize) -> Self {
        Body::Json(serde_json::to_value(value).expect("a request body serialises"))
    }
}

impl From<Option<Value>> for Body {
    fn from(v: Option<Value>) -> Self {
        v.map_or(Body::None, Body::Json)
    }
}

/// An answer: its status, headers and body (JSON, a string when the body is not JSON, `Null`
/// when empty), read as a `T` on demand.
#[derive(Debug)]
pub struct Reply<T = Value> {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    answer: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Reply<T> {
    /// The typed answer of a successful (2xx) reply; fails the test, showing the status and the
    /// body, on any other.
    #[track_caller]
    pub fn ok(&self) -> T {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.body
        );
        self.read()
    }

    /// The typed answer of a reply that must have `status`.
    #[track_caller]
    pub fn expect(&self, status: u16) -> T {
        assert_eq!(self.status, status, "{}", self.body);
        self.read()
    }

    #[track_caller]
    fn read(&self) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "the answer does not read as {}: {e}\n{}",
                std::any::type_name::<T>(),
                self.body
            )
        })
    }
}

impl<T> Reply<T> {
    /// Asserts a refusal with `status` in the error shape `{"error":{"code":…,"message":…}}` and
    /// returns its code.
    #[track_caller]
    pub fn refused(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        error_code(&self.body)
    }

    /// The error message of a refusal.
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// The session a `Set-Cookie` of this reply starts (a sign-in's answer), with the anti-CSRF
    /// token of its body.
    #[track_caller]
    pub fn session(&self, user: ideaweave_domain::UserId) -> Session {
        let cookie = self
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("iw_session="))
            .and_then(|v| v.split(';').next())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("no session cookie in {:?}", self.headers))
            .to_owned();
        let csrf = self.body["csrf_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no csrf_token in {}", self.body))
            .to_owned();
        Session { user, cookie, csrf }
    }

    /// The same reply read as another type.
    pub fn as_type<U>(self) -> Reply<U> {
        Reply {
            status: self.status,
            headers: self.headers,
            body: self.body,
            answer: PhantomData,
        }
    }
}

/// Asserts the error shape `{"error":{"code":…,"message":…}}` and returns the code.
#[track_caller]
pub fn error_code(v: &Value) -> String {
    let e = v
        .get("error")
        .unwrap_or_else(|| panic!("not an error body: {v}"));
    assert!(
        e.get("message")
            .and_then(Value::as_str)
            .is_some_and(|m| !m.is_empty()),
        "error without message: {v}"
    );
    e.get("code")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("error without code: {v}"))
        .to_owned()
}

/// One caller of the API of one server.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    auth: Auth,
    user_agent: Option<&'static str>,
}

impl Client {
    pub(crate) fn new(base: &str, http: &reqwest::Client, auth: Auth) -> Self {
        Self {
            base: base.to_owned(),
            http: http.clone(),
            auth,
            user_agent: None,
        }
    }

    /// Sends this `User-Agent` (the session list shows the browser).
    pub fn user_agent(mut self, agent: &'static str) -> Self {
        self.user_agent = Some(agent);
        self
    }

    /// Sends a request to `/api/v1{path}`: the untyped way, for what no typed method expresses.
    pub async fn send<T>(&self, method: &str, path: &str, body: impl Into<Body>) -> Reply<T> {
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut rb = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(agent) = self.user_agent {
            rb = rb.header("user-agent", agent);
        }
        rb = match &self.auth {
            Auth::None => rb,
            Auth::Token(token) => rb.bearer_auth(token),
            Auth::Session(s) => s.apply(rb),
        };
        rb = match body.into() {
            Body::None => rb,
            Body::Json(v) => rb.json(&v),
            Body::Raw {
                content_type,
                bytes,
            } => rb.header("content-type", content_type).body(bytes),
            Body::Upload { filename, bytes } => {
                let part = reqwest::multipart::Part::bytes(bytes).file_name(filename);
                rb.multipart(reqwest::multipart::Form::new().part("file", part))
            }
        };
        let resp = rb.send().await.expect("the request reaches the server");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("the body arrives");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
            answer: PhantomData,
        }
    }

    /// `GET`.
    pub async fn get<T>(&self, path: &str) -> Reply<T> {
        self.send("GET", path, Body::None).await
    }

    /// `POST` with a JSON body.
    pub async fn post<T>(&self, path: &str, body: impl Serialize) -> Reply<T> {
        self.send("POST", path, Body::json(body)).await
    }

    /// `PUT` with a JSON body.
    pub async fn put<T>(&self, path: &str, body: impl Serialize) -> Reply<T> {
        self.send("PUT", path, Body::json(body)).await
    }

    /// `PATCH` with a JSON body.
    pub async fn patch<T>(&self, path: &str, body: impl Serialize) -> Reply<T> {
        self.send("PATCH", path, Body::json(body)).await
    }

    /// `DELETE`.
    pub async fn delete<T>(&self, path: &str) -> Reply<T> {
        self.send("DELETE", path, Body::None).await
    }
}
