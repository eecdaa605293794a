//! How a text will read once posted (COL-01): the same renderer as the pages, mentions shown
//! with the names they will show, nothing stored.

use ideaweave_domain::policy::Action;

use crate::platform::sealed::NameMemo;
use crate::{App, AppError, AppResult, Member};

/// The longest text a preview renders: an idea's body.
const MAX_PREVIEW_CHARS: usize = 50_000;

impl App {
    /// `text` rendered as an idea or a comment will show it.
    #[tracing::instrument(skip_all, fields(workspace = %m.workspace.0))]
    pub async fn preview(&self, m: &Member, text: &str) -> AppResult<String> {
        m.allow(Action::ReadWorkspace)?;
        let n = text.chars().count();
        if n > MAX_PREVIEW_CHARS {
            return Err(AppError::invalid(
                "body",
                format!("must be at most {MAX_PREVIEW_CHARS} characters (got {n})"),
            ));
        }
        let mut tx = self.store.read().await?;
        let (stored, _) = self.store_mentions(&mut tx, m, text).await?;
        let (_, html) = self
            .read_mentions(&mut tx, m.workspace, &mut NameMemo::default(), &stored)
            .await?;
        Ok(html)
    }
}
