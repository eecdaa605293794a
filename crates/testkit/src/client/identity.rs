//! Identity endpoints: signing in and out, the caller's account.

use serde_json::json;

use super::models::{Me, SignedIn};
use super::{Body, Client, Reply};

impl Client {
    /// `POST /session` with an address and a password: 200 [`SignedIn`], or 202 with a
    /// [`SecondFactorChallenge`](super::models::SecondFactorChallenge) (read it with
    /// [`Reply::as_type`]), 403 or 429.
    pub async fn sign_in(&self, email: &str, password: &str) -> Reply<SignedIn> {
        self.post("/session", json!({ "email": email, "password": password }))
            .await
    }

    /// `DELETE /session`: signs the caller's session out.
    pub async fn sign_out(&self) -> Reply {
        self.send("DELETE", "/session", Body::None).await
    }

    /// `GET /me`.
    pub async fn me(&self) -> Reply<Me> {
        self.get("/me").await
    }
}
