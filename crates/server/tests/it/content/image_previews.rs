//! COL-01, ENC-01: uploaded images get a small preview that pages show inline. The preview is
//! re-encoded without the original's metadata (EXIF GPS position), sealed at rest like the
//! original, seen only by whoever sees the file, and made again when it is missing; an image
//! that would take too much memory to decode is kept as a file without a preview.

use ideaweave_domain::{AttachmentId, Role};
use ideaweave_testkit::TestApp;
use ideaweave_testkit::images::{jpeg_with_gps, png_bomb};
use serde_json::Value;

use super::board;

/// `GET …/attachments/{id}/preview` as `token`: status, content type and bytes.
async fn preview(t: &TestApp, slug: &str, id: &str, token: &str) -> (u16, String, Vec<u8>) {
    let r = t
        .http
        .get(t.api(&format!("/workspaces/{slug}/attachments/{id}/preview")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// Uploads `bytes` as `filename` to `idea` through the API and answers the attachment.
async fn upload(
    t: &TestApp,
    slug: &str,
    idea: &str,
    token: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> Value {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()),
    );
    let r = t
        .http
        .post(t.api(&format!("/workspaces/{slug}/ideas/{idea}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    r.json().await.unwrap()
}

/// Every file under the upload directory, with its bytes.
fn stored(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(stored(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.push((p, b));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn enc_01_an_image_preview_has_no_gps_and_is_sealed_at_rest() {
    let b = board("pictures").await;
    let slug = b.slug().to_owned();
    let idea = b
        .post_idea(&b.f.member, "Roof garden", &[])
        .await
        .to_string();
    let canary = format!("zqexifcanary{}", uuid::Uuid::new_v4().simple());
    let photo = jpeg_with_gps(&canary);
    assert!(contains(&photo, canary.as_bytes()) && contains(&photo, b"Exif\0\0"));
    let a = upload(
        &b.t,
        &slug,
        &idea,
        &b.f.member.token,
        "roof.jpg",
        photo.clone(),
    )
    .await;
    assert_eq!(a["preview"]["width"], 64, "{a}");
    assert_eq!(a["preview"]["height"], 48, "{a}");
    let id = a["id"].as_str().unwrap().to_owned();

    let (st, kind, shown) = preview(&b.t, &slug, &id, &b.voters[0].token).await;
    assert_eq!((st, kind.as_str()), (200, "image/jpeg"));
    let decoded = image::load_from_memory(&shown).expect("the preview is an image");
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
    assert!(
        !contains(&shown, b"Exif") && !contains(&shown, canary.as_bytes()),
        "the preview carries the original's metadata"
    );
    assert!(
        !shown.windows(2).any(|w| w == [0xFF, 0xE1]),
        "the preview has an APP1 (EXIF/XMP) segment"
    );

    // Neither the preview nor the original is anywhere in clear: not in the upload store, not
    // in the database.
    let window = &shown[shown.len() / 2..shown.len() / 2 + 48];
    let files = stored(b.t.files_dir());
    assert_eq!(files.len(), 2, "the original and its preview are stored");
    for (path, bytes) in files
        .iter()
        .map(|(p, b)| (p.display().to_string(), b))
        .chain(b.t.database_bytes().iter().map(|(n, b)| (n.clone(), b)))
    {
        assert!(
            !contains(bytes, window),
            "the preview is in clear in {path}"
        );
        assert!(
            !contains(bytes, canary.as_bytes()),
            "the original is in clear in {path}"
        );
    }

    // A picture larger than a preview is scaled down and keeps its shape.
    let wide = image::RgbImage::from_fn(2000, 1000, |x, _| image::Rgb([(x % 250) as u8, 40, 90]));
    let mut png = Vec::new();
    wide.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let a = upload(&b.t, &slug, &idea, &b.f.member.token, "wide.png", png).await;
    assert_eq!(
        (
            a["preview"]["width"].as_u64(),
            a["preview"]["height"].as_u64()
        ),
        (Some(960), Some(480))
    );

    // The idea page shows the previews in the body, with their size reserved.
    let viewer = super::pages::person(&b.t, &b.f.ws, "viewer", Role::Member).await;
    let (_, page, _) = super::pages::get(&b.t, &viewer, &format!("/w/{slug}/ideas/{idea}")).await;
    let img = format!(
        "/api/v1/workspaces/{slug}/attachments/{id}/preview\" alt=\"roof.jpg\" loading=\"lazy\" width=\"64\" height=\"48\""
    );
    assert!(
        page.contains("class=\"gallery\"") && page.contains(&img),
        "{page}"
    );
}

#[tokio::test]
async fn col_01_a_decompression_bomb_is_kept_as_a_file_without_a_preview() {
    let b = board("bombs").await;
    let slug = b.slug().to_owned();
    let idea = b.post_idea(&b.f.member, "Posters", &[]).await.to_string();
    // Beyond the largest side decoded, and within it but beyond the memory one decode may use
    // (11,000² RGBA pixels would take 484 MB).
    for (w, h) in [(100_000, 100_000), (11_000, 11_000)] {
        let bomb = png_bomb(w, h);
        assert!(bomb.len() < 200);
        let a = upload(
            &b.t,
            &slug,
            &idea,
            &b.f.member.token,
            "poster.png",
            bomb.clone(),
        )
        .await;
        assert!(a["preview"].is_null(), "{a}");
        let id = a["id"].as_str().unwrap();
        let (st, ..) = preview(&b.t, &slug, id, &b.f.member.token).await;
        assert_eq!(st, 404);
        // The file itself stays as uploaded.
        let r =
            b.t.http
                .get(b.t.api(&format!("/workspaces/{slug}/attachments/{id}/content")))
                .bearer_auth(&b.f.member.token)
                .send()
                .await
                .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.bytes().await.unwrap().to_vec(), bomb);
    }
    assert_eq!(
        stored(b.t.files_dir()).len(),
        2,
        "no preview object for an image that cannot be previewed"
    );
}

#[tokio::test]
async fn col_01_a_preview_is_seen_only_by_who_sees_the_file_and_goes_with_it() {
    let b = board("seenby").await;
    let slug = b.slug().to_owned();
    let idea = b.post_idea(&b.f.member, "Mural", &[]).await.to_string();
    let a = upload(
        &b.t,
        &slug,
        &idea,
        &b.f.member.token,
        "mural.png",
        super::png(),
    )
    .await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(preview(&b.t, &slug, &id, &b.voters[1].token).await.0, 200);
    // A guest not listed in the space, and a member of another workspace (under either
    // workspace's address), see nothing.
    assert_eq!(preview(&b.t, &slug, &id, &b.f.guest.token).await.0, 404);
    let other = b.t.workspace("seenby-other").await;
    let stranger = b.t.member(&other, "stranger", Role::Admin).await;
    assert_ne!(preview(&b.t, &slug, &id, &stranger.token).await.0, 200);
    assert_eq!(
        preview(&b.t, "seenby-other", &id, &stranger.token).await.0,
        404
    );
    // A preview lost from the store, or never made (an imported or restored file), is made
    // again on its first request.
    let files = stored(b.t.files_dir());
    let (lost, _) = files
        .iter()
        .find(|(p, _)| p.to_string_lossy().ends_with("-preview"))
        .expect("a preview object");
    std::fs::remove_file(lost).unwrap();
    let (st, _, shown) = preview(&b.t, &slug, &id, &b.voters[1].token).await;
    assert_eq!(st, 200, "a lost preview whose size is known is made again");
    assert_eq!(image::load_from_memory(&shown).unwrap().width(), 2);
    assert!(lost.exists());
    std::fs::remove_file(lost).unwrap();
    let attachment: AttachmentId = id.parse().unwrap();
    b.t.raw_sql(&format!(
        "UPDATE attachments SET preview_width = NULL, preview_height = NULL WHERE id = '{}'",
        attachment.0
    ))
    .await;
    let (st, kind, shown) = preview(&b.t, &slug, &id, &b.voters[1].token).await;
    assert_eq!((st, kind.as_str()), (200, "image/png"));
    assert_eq!(image::load_from_memory(&shown).unwrap().width(), 2);
    assert!(lost.exists(), "the preview is stored again");
    // Removing the file removes its preview.
    let r =
        b.t.http
            .delete(b.t.api(&format!("/workspaces/{slug}/attachments/{id}")))
            .bearer_auth(&b.f.member.token)
            .send()
            .await
            .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(stored(b.t.files_dir()).is_empty());
    assert_eq!(preview(&b.t, &slug, &id, &b.f.member.token).await.0, 404);
}
