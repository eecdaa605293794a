//! The static files the pages use (stylesheet, htmx, the passkey and enhancement scripts),
//! compiled in.
//!
//! Each is served under a name that carries a hash of its content (`app.3f2a9c1b0d.css`), so a
//! browser may keep it for a year without asking again (`immutable`), and a new release, whose
//! files hash differently, is fetched at once. The plain name (`app.css`) still answers, with a
//! short cache, for anything that links it directly.
//!
//! Browsers that accept gzip get the file compressed (once, at first use): the stylesheet and
//! scripts shrink to about a quarter. Pages themselves are not compressed: they carry the
//! session's anti-CSRF token next to text a visitor can make the page reflect, which is what
//! compression-oracle attacks (BREACH) need; the static files hold no secret.

use std::io::Write;
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One static file.
struct Asset {
    /// The name before the extension (`app`).
    stem: &'static str,
    /// The extension (`css`).
    ext: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 4] = [
    Asset {
        stem: "app",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../static/app.css"),
    },
    // htmx 2.0.11 (0BSD), vendored so that no page loads anything from elsewhere.
    Asset {
        stem: "htmx.min",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/htmx.min.js"),
    },
    // The page side of passkeys (WebAuthn needs script).
    Asset {
        stem: "passkey",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/passkey.js"),
    },
    // Dragging to reorder and copy buttons; pages work the same without it.
    Asset {
        stem: "enhance",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../static/enhance.js"),
    },
];

/// What is computed once per file: its hashed name and its gzip form.
struct Prepared {
    /// `app.css`.
    plain_name: String,
    hashed_name: String,
    url: String,
    gzip: Vec<u8>,
}

fn prepared() -> &'static [Prepared] {
    static ALL: OnceLock<Vec<Prepared>> = OnceLock::new();
    ALL.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body.as_bytes());
                let hash = hex::encode(digest.get(..5).unwrap_or_default());
                let hashed_name = format!("{}.{hash}.{}", a.stem, a.ext);
                Prepared {
                    plain_name: format!("{}.{}", a.stem, a.ext),
                    url: format!("/static/{hashed_name}"),
                    hashed_name,
                    gzip: gzip(a.body.as_bytes()),
                }
            })
            .collect()
    })
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail; should it, the file is sent uncompressed (empty here).
    if encoder.write_all(body).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

/// The URL of the static file `file` (`app.css`) under its hashed name, for the pages.
pub(crate) fn url(file: &str) -> &'static str {
    prepared()
        .iter()
        .find(|p| p.plain_name == file)
        .map_or("/static/missing", |p| p.url.as_str())
}

/// `GET /static/{file}`: a static file by its hashed name (kept a year) or its plain name
/// (kept an hour), gzip-compressed when the browser accepts it.
pub(crate) async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let found = ASSETS.iter().zip(prepared()).find_map(|(a, p)| {
        if p.hashed_name == file {
            Some((a, p, "public, max-age=31536000, immutable"))
        } else if p.plain_name == file {
            Some((a, p, "public, max-age=3600"))
        } else {
            None
        }
    });
    let Some((asset, prepared, cache)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let gzip_ok = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            name.eq_ignore_ascii_case("gzip") && !refused
        });
    let mut response = if gzip_ok && !prepared.gzip.is_empty() {
        let mut r = prepared.gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        asset.body.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_url_that_changes_with_its_content() {
        for a in &ASSETS {
            let file = format!("{}.{}", a.stem, a.ext);
            let u = url(&file);
            assert!(
                u.starts_with(&format!("/static/{}.", a.stem)) && u.ends_with(a.ext),
                "{u}"
            );
            assert_eq!(u.len(), format!("/static/{file}").len() + 11, "{u}");
        }
        assert_eq!(url("nothing.css"), "/static/missing");
        let a = hex::encode(&Sha256::digest(b"a")[..5]);
        let b = hex::encode(&Sha256::digest(b"b")[..5]);
        assert_ne!(a, b);
    }

    #[test]
    fn the_gzip_form_is_the_file() {
        use std::io::Read;
        for (a, p) in ASSETS.iter().zip(prepared()) {
            let mut out = String::new();
            flate2::read::GzDecoder::new(p.gzip.as_slice())
                .read_to_string(&mut out)
                .unwrap();
            assert_eq!(out, a.body);
            assert!(p.gzip.len() < a.body.len() / 2, "{} compresses", a.stem);
        }
    }
}
