//! Request helpers shared by the integration tests.

use ideaweave_testkit::TestApp;
use ideaweave_testkit::client::models::{NewDiscussion, NewSpace};
use serde_json::Value;

pub use ideaweave_testkit::client::error_code;
pub use ideaweave_testkit::{Auth, Body};

/// Sends a request to `/api/v1{path}` as `auth` and returns the status and the JSON body (Null
/// if none): the untyped shorthand of [`Client::send`](ideaweave_testkit::Client::send).
pub async fn call(t: &TestApp, method: &str, path: &str, auth: &Auth, body: Body) -> (u16, Value) {
    let r = t
        .client(auth.clone())
        .send::<Value>(method, path, body)
        .await;
    (r.status, r.body)
}

/// [`call`] with a JSON body, `Value::Null` meaning none.
pub async fn call_json(
    t: &TestApp,
    auth: &Auth,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let body = if body.is_null() {
        Body::None
    } else {
        Body::Json(body)
    };
    call(t, method, path, auth, body).await
}

/// Shorthand for a bearer-token JSON request.
pub async fn with_token(
    t: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    call(t, method, path, &Auth::Token(token.to_owned()), body.into()).await
}

/// A small valid PNG (2 × 2 pixels), which gets a preview.
pub fn png() -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(2, 2, image::Rgba([30, 120, 200, 255]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("a PNG encodes");
    out
}

/// Opens a space "S" with a topic discussion "D" in workspace `slug` (as `token`'s owner) and
/// returns the discussion's id.
pub async fn open_discussion(t: &TestApp, slug: &str, token: &str) -> String {
    let api = t.client(Auth::Token(token.to_owned()));
    let space = api
        .create_space(slug, &NewSpace::named("S"))
        .await
        .expect(201);
    let d = api
        .create_discussion(slug, space.id, &NewDiscussion::topic("D"))
        .await
        .expect(201);
    d.id.to_string()
}

/// The workspace's owner erases `person` from it, keeping their contributions anonymised (through
/// the use case: the erasure's own rules are tested over HTTP in `erasure.rs`).
pub async fn anonymise(
    t: &TestApp,
    w: &ideaweave_testkit::TestWorkspace,
    person: ideaweave_domain::UserId,
) -> ideaweave_app::ErasureReport {
    t.app
        .erase_person(
            &w.as_member(&w.owner),
            person,
            ideaweave_app::ErasureInput {
                mode: ideaweave_domain::ErasureMode::Anonymise,
            },
        )
        .await
        .expect("the owner erases the person")
}

/// A private space of `w`, named `name`, with `listed` listed in it (by the owner).
pub async fn private_space(
    t: &TestApp,
    w: &ideaweave_testkit::TestWorkspace,
    name: &str,
    listed: &[ideaweave_domain::UserId],
) -> ideaweave_domain::SpaceId {
    let owner = w.as_member(&w.owner);
    let space = t
        .app
        .create_space(
            &owner,
            ideaweave_app::SpaceInput {
                name: name.into(),
                description: String::new(),
                private: true,
            },
        )
        .await
        .unwrap();
    for user in listed {
        t.app
            .add_space_member(
                &owner,
                space.id,
                ideaweave_app::SpaceMemberInput { user_id: *user },
            )
            .await
            .unwrap();
    }
    space.id
}
