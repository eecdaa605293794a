//! An idea's files and links: uploading and adding them, and removing them (the person who
//! added one, the idea's author, or a moderator; COL-03). Each form comes back to the idea page's
//! panel; a refused file is told at the file field after the redirect.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::StreamExt;
use ideaweave_app::*;
use ideaweave_domain::{AttachmentId, IdeaId, LinkId};

use super::{IdeaProblem, back_to_idea, multipart_problem, render_idea};
use crate::AppState;
use crate::ui::guard::{Id, InWorkspace, WsForm, stale_form};
use crate::ui::{OrPage, PageError, PageResult, form_problem};

/// Why a file was refused, for the redirect after the upload (the page then shows it at the
/// file field): the form's own URL is not left in the address bar.
fn file_refusal_code(e: &AppError) -> &'static str {
    match e {
        AppError::TooLarge(_) => "file-too-large",
        AppError::UnsupportedType(_) => "file-type",
        _ => "file-refused",
    }
}

/// Back to the idea page, whose file field then says why the file was refused.
fn refused_file(w: &InWorkspace, id: IdeaId, e: &AppError) -> Response {
    Redirect::to(&format!(
        "/w/{}/ideas/{id}?file={}#files",
        w.ws.slug,
        file_refusal_code(e)
    ))
    .into_response()
}

pub(super) async fn attach(
    State(s): State<AppState>,
    w: InWorkspace,
    Id(id): Id<IdeaId>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult {
    let Ok(mut multipart) = multipart else {
        return Ok(stale_form(&headers));
    };
    let mut csrf = String::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let e = multipart_problem(e);
                if matches!(e, AppError::TooLarge(_)) {
                    return Ok(refused_file(&w, id, &e));
                }
                return Err(PageError::new(w.c, e));
            }
        };
        match field.name() {
            Some("csrf") => csrf = field.text().await.unwrap_or_default(),
            Some("file") => {
                if !crate::ui::guard::csrf_ok(Some(&w.c.csrf), &csrf) {
                    return Ok(stale_form(&headers));
                }
                let filename = field.file_name().unwrap_or_default().to_owned();
                if filename.is_empty() {
                    break;
                }
                let body = field.map(|piece| piece.map_err(multipart_problem));
                return match s.app.upload(&w.m, id, None, &filename, body).await {
                    Ok(_) => Ok(back_to_idea(&w, id, "files")),
                    Err(e) if crate::error::meaning(&e).shown => Ok(refused_file(&w, id, &e)),
                    Err(e) => Err(PageError::new(w.c, e)),
                };
            }
            _ => {}
        }
    }
    let problem = w.c.tr.get("idea.choose_file").to_owned();
    render_idea(
        &s,
        w,
        id,
        None,
        Some(IdeaProblem::Files(problem)),
        String::new(),
    )
    .await
}

pub(super) async fn add_link(
    State(s): State<AppState>,
    Id(id): Id<IdeaId>,
    WsForm { w, f }: WsForm,
) -> PageResult {
    let input = LinkInput {
        url: f.text("url"),
        title: f.text("title"),
        comment_id: None,
    };
    Ok(match s.app.add_link(&w.m, id, input).await {
        Ok(_) => back_to_idea(&w, id, "links"),
        Err(e) => {
            let p = form_problem(e, &w.c)?;
            render_idea(&s, w, id, None, Some(IdeaProblem::Links(p)), String::new()).await?
        }
    })
}

/// Removes a file from an idea, after the panel's confirmation.
pub(super) async fn remove_file(
    State(s): State<AppState>,
    Id(id): Id<AttachmentId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let idea = s.app.delete_attachment(&w.m, id).await.or_page(&w.c)?;
    Ok(back_to_idea(&w, idea, "files"))
}

/// Removes a link from an idea, after the panel's confirmation.
pub(super) async fn remove_link(
    State(s): State<AppState>,
    Id(id): Id<LinkId>,
    WsForm { w, .. }: WsForm,
) -> PageResult {
    let idea = s.app.delete_link(&w.m, id).await.or_page(&w.c)?;
    Ok(back_to_idea(&w, idea, "links"))
}
