//! Content endpoints: spaces, discussions, ideas, votes, ratings, comments, files and links.

use ideaweave_domain::{CommentId, CriterionId, DiscussionId, IdeaId, SpaceId, VoteDirection};
use serde_json::json;

use super::models::{
    Attachment, Comment, CommentHistory, Discussion, Idea, IdeaSummary, NewComment, NewDiscussion,
    NewIdea, NewSpace, Page, Space, VoteTally,
};
use super::{Body, Client, Reply};

impl Client {
    /// `POST /workspaces/{ws}/spaces`.
    pub async fn create_space(&self, ws: &str, space: &NewSpace) -> Reply<Space> {
        self.post(&format!("/workspaces/{ws}/spaces"), space).await
    }

    /// `POST /workspaces/{ws}/spaces/{space}/discussions`.
    pub async fn create_discussion(
        &self,
        ws: &str,
        space: SpaceId,
        discussion: &NewDiscussion,
    ) -> Reply<Discussion> {
        self.post(
            &format!("/workspaces/{ws}/spaces/{space}/discussions"),
            discussion,
        )
        .await
    }

    /// `GET /workspaces/{ws}/discussions/{discussion}`.
    pub async fn discussion(&self, ws: &str, discussion: DiscussionId) -> Reply<Discussion> {
        self.get(&format!("/workspaces/{ws}/discussions/{discussion}"))
            .await
    }

    /// `POST /workspaces/{ws}/discussions/{discussion}/ideas`.
    pub async fn post_idea(
        &self,
        ws: &str,
        discussion: DiscussionId,
        idea: &NewIdea,
    ) -> Reply<Idea> {
        self.post(
            &format!("/workspaces/{ws}/discussions/{discussion}/ideas"),
            idea,
        )
        .await
    }

    /// `GET /workspaces/{ws}/discussions/{discussion}/ideas{query}`, `query` being empty or
    /// `?sort=…&limit=…`.
    pub async fn ideas(
        &self,
        ws: &str,
        discussion: DiscussionId,
        query: &str,
    ) -> Reply<Page<IdeaSummary>> {
        self.get(&format!(
            "/workspaces/{ws}/discussions/{discussion}/ideas{query}"
        ))
        .await
    }

    /// `GET /workspaces/{ws}/ideas/{idea}`.
    pub async fn idea(&self, ws: &str, idea: IdeaId) -> Reply<Idea> {
        self.get(&format!("/workspaces/{ws}/ideas/{idea}")).await
    }

    /// `DELETE /workspaces/{ws}/ideas/{idea}` (a soft deletion).
    pub async fn delete_idea(&self, ws: &str, idea: IdeaId) -> Reply {
        self.delete(&format!("/workspaces/{ws}/ideas/{idea}")).await
    }

    /// `POST /workspaces/{ws}/ideas/{idea}/restore`.
    pub async fn restore_idea(&self, ws: &str, idea: IdeaId) -> Reply<Idea> {
        self.send(
            "POST",
            &format!("/workspaces/{ws}/ideas/{idea}/restore"),
            Body::None,
        )
        .await
    }

    /// `POST /workspaces/{ws}/ideas/{source}/merge` into `target`.
    pub async fn merge_idea(&self, ws: &str, source: IdeaId, target: IdeaId) -> Reply<Idea> {
        self.post(
            &format!("/workspaces/{ws}/ideas/{source}/merge"),
            json!({ "into": target }),
        )
        .await
    }

    /// `POST /workspaces/{ws}/ideas/{idea}/unmerge`.
    pub async fn unmerge_idea(&self, ws: &str, idea: IdeaId) -> Reply<Idea> {
        self.send(
            "POST",
            &format!("/workspaces/{ws}/ideas/{idea}/unmerge"),
            Body::None,
        )
        .await
    }

    /// `PUT /workspaces/{ws}/ideas/{idea}/vote`.
    pub async fn vote(&self, ws: &str, idea: IdeaId, direction: VoteDirection) -> Reply<VoteTally> {
        self.put(
            &format!("/workspaces/{ws}/ideas/{idea}/vote"),
            json!({ "direction": direction }),
        )
        .await
    }

    /// `DELETE /workspaces/{ws}/ideas/{idea}/vote`.
    pub async fn withdraw_vote(&self, ws: &str, idea: IdeaId) -> Reply<VoteTally> {
        self.delete(&format!("/workspaces/{ws}/ideas/{idea}/vote"))
            .await
    }

    /// `PUT /workspaces/{ws}/ideas/{idea}/ratings/{criterion}`, `value` 1 to 5.
    pub async fn rate(&self, ws: &str, idea: IdeaId, criterion: CriterionId, value: i64) -> Reply {
        self.put(
            &format!("/workspaces/{ws}/ideas/{idea}/ratings/{criterion}"),
            json!({ "value": value }),
        )
        .await
    }

    /// `POST /workspaces/{ws}/ideas/{idea}/comments`.
    pub async fn comment(&self, ws: &str, idea: IdeaId, comment: &NewComment) -> Reply<Comment> {
        self.post(&format!("/workspaces/{ws}/ideas/{idea}/comments"), comment)
            .await
    }

    /// `GET /workspaces/{ws}/ideas/{idea}/comments`.
    pub async fn comments(&self, ws: &str, idea: IdeaId) -> Reply<Page<Comment>> {
        self.get(&format!("/workspaces/{ws}/ideas/{idea}/comments"))
            .await
    }

    /// `PATCH /workspaces/{ws}/comments/{comment}`: replaces one's own comment's text.
    pub async fn edit_comment(&self, ws: &str, comment: CommentId, body: &str) -> Reply<Comment> {
        self.patch(
            &format!("/workspaces/{ws}/comments/{comment}"),
            json!({ "body": body }),
        )
        .await
    }

    /// `GET /workspaces/{ws}/comments/{comment}/history` (moderators).
    pub async fn comment_history(&self, ws: &str, comment: CommentId) -> Reply<CommentHistory> {
        self.get(&format!("/workspaces/{ws}/comments/{comment}/history"))
            .await
    }

    /// `DELETE /workspaces/{ws}/comments/{comment}`.
    pub async fn delete_comment(&self, ws: &str, comment: CommentId) -> Reply {
        self.delete(&format!("/workspaces/{ws}/comments/{comment}"))
            .await
    }

    /// `POST /workspaces/{ws}/ideas/{idea}/attachments`: uploads one file.
    pub async fn attach(
        &self,
        ws: &str,
        idea: IdeaId,
        filename: &'static str,
        bytes: Vec<u8>,
    ) -> Reply<Attachment> {
        self.send(
            "POST",
            &format!("/workspaces/{ws}/ideas/{idea}/attachments"),
            Body::Upload { filename, bytes },
        )
        .await
    }
}
