//! The records of a workspace export, as documented in `docs/export-format.md` and
//! `docs/export-format.schema.json`. Each is one line of a JSON Lines entry; field order is
//! fixed, so the same workspace always exports to the same bytes.

use std::collections::BTreeMap;

use ideaweave_domain::RetentionPolicy;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The format and version of an export archive.
pub const EXPORT_FORMAT: &str = "ideaweave.workspace-export/1";

/// `workspace.json`: the workspace itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceRecord {
    pub format: String,
    pub slug: String,
    pub name: String,
    pub created_at: i64,
    pub erasure_mode: String,
    pub retention: RetentionPolicy,
}

/// `people.jsonl`: everyone the workspace refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonRecord {
    pub id: Uuid,
    /// `None` for a former member (an erased person's stand-in).
    pub name: Option<String>,
    pub email: Option<String>,
    pub former_member: bool,
    /// Their role, when they are a member.
    pub role: Option<String>,
    pub joined_at: Option<i64>,
    /// Their email notification preference, when they chose one.
    pub notifications: Option<String>,
}

/// `stages.jsonl` and `criteria.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedRecord {
    pub id: Uuid,
    pub name: String,
    pub position: i64,
}

/// `spaces.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceRecord {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub private: bool,
    pub created_by: Uuid,
    pub created_at: i64,
    /// Who is listed in it (private spaces).
    pub members: Vec<Uuid>,
}

/// `discussions/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscussionRecord {
    pub id: Uuid,
    pub space_id: Uuid,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub open: bool,
    pub deadline: Option<i64>,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    /// The rating criteria it uses.
    pub criteria: Vec<Uuid>,
}

/// `ideas/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdeaRecord {
    pub id: Uuid,
    pub discussion_id: Uuid,
    pub author_id: Uuid,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub stage_id: Uuid,
    pub merged_into: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<Uuid>,
}

/// `comments/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRecord {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: Uuid,
    pub body: String,
    pub moved_from: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub deleted_by: Option<Uuid>,
}

/// `comment_revisions/NNNNNN.jsonl`: the earlier texts of edited comments, after the comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRevisionRecord {
    pub id: Uuid,
    pub comment_id: Uuid,
    /// The text before the edit (Markdown).
    pub body: String,
    pub written_at: i64,
    pub replaced_at: i64,
}

/// `votes/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteRecord {
    pub idea_id: Uuid,
    pub user_id: Uuid,
    /// +1 or -1.
    pub value: i64,
    pub moved_from: Option<Uuid>,
    pub updated_at: i64,
}

/// `ratings/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingRecord {
    pub idea_id: Uuid,
    pub criterion_id: Uuid,
    pub user_id: Uuid,
    /// 1 to 5.
    pub value: i64,
    pub updated_at: i64,
}

/// `attachments/NNNNNN.jsonl`; the bytes follow as `files/<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRecord {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub uploader_id: Uuid,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub created_at: i64,
}

/// `links/NNNNNN.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRecord {
    pub id: Uuid,
    pub idea_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub url: String,
    pub title: String,
    pub created_by: Uuid,
    pub created_at: i64,
}

/// `merges.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeRecord {
    pub id: Uuid,
    pub source_id: Uuid,
    pub target_id: Uuid,
    pub merged_by: Uuid,
    pub merged_at: i64,
    pub unmerged_by: Option<Uuid>,
    pub unmerged_at: Option<i64>,
}

/// `invitations.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvitationRecord {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<Uuid>,
    pub revoked_at: Option<i64>,
}

/// `requests.jsonl`: the request desk's data-subject requests, complaints and authority
/// inquiries, with their answers and the Art. 19 notices sent (DSR-05).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub requester: String,
    pub subject_id: Option<Uuid>,
    pub details: String,
    pub received_at: i64,
    pub due_at: i64,
    pub state: String,
    pub resolution: Option<String>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<Uuid>,
    pub recorded_by: Option<Uuid>,
    pub reminders: i32,
    pub created_at: i64,
    pub notices: Vec<NoticeRecord>,
}

/// An Art. 19 notice: who was told of a request's outcome, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRecord {
    pub id: Uuid,
    pub recipient: String,
    pub sent_at: i64,
}

/// One entry of the archive as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    pub path: String,
    pub bytes: u64,
    /// SHA-256 of the entry's bytes, hex.
    pub sha256: String,
    /// Lines in a JSON Lines entry.
    pub records: Option<u64>,
}

/// `manifest.json`, the archive's last entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub workspace: String,
    pub exported_at: i64,
    pub generator: String,
    /// How many records of each kind.
    pub counts: BTreeMap<String, u64>,
    /// Every other entry, in archive order.
    pub entries: Vec<ManifestEntry>,
}

/// Every entry path an archive may hold, other than the manifest: fixed names, numbered
/// chunks, and files named by attachment id.
pub fn valid_entry_path(path: &str) -> bool {
    const FIXED: [&str; 9] = [
        "workspace.json",
        "people.jsonl",
        "stages.jsonl",
        "criteria.jsonl",
        "spaces.jsonl",
        "merges.jsonl",
        "invitations.jsonl",
        "requests.jsonl",
        "manifest.json",
    ];
    if FIXED.contains(&path) {
        return true;
    }
    let Some((dir, name)) = path.split_once('/') else {
        return false;
    };
    match dir {
        "discussions" | "ideas" | "comments" | "comment_revisions" | "votes" | "ratings"
        | "attachments" | "links" => {
            name.len() == 12
                && name.ends_with(".jsonl")
                && name[..6].bytes().all(|b| b.is_ascii_digit())
        }
        "files" => Uuid::parse_str(name).is_ok_and(|u| u.hyphenated().to_string() == name),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lif_01_only_documented_entry_paths_are_valid() {
        for ok in [
            "workspace.json",
            "ideas/000001.jsonl",
            "votes/123456.jsonl",
            "files/0190a1b2-0000-7000-8000-000000000001",
        ] {
            assert!(valid_entry_path(ok), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "/workspace.json",
            "ideas/1.jsonl",
            "ideas/00000a.jsonl",
            "files/../../x",
            "files/0190A1B2-0000-7000-8000-000000000001",
            "ideas/000001.jsonl/x",
            "extra.json",
            "",
        ] {
            assert!(!valid_entry_path(bad), "{bad}");
        }
    }
}
