//! Notifications (COL-04): who is told of what, and how a member wants email to tell them.
//!
//! Five kinds of activity notify, and nothing else does:
//!
//! - naming a member with `@` in an idea or a comment tells them (an edit tells only those it
//!   names anew);
//! - a comment on an idea tells the idea's author and everyone following the idea;
//! - a reply also tells the author of the comment it answers;
//! - moving an idea to another stage tells the idea's author and the idea's followers;
//! - a new idea tells everyone following its discussion.
//!
//! Nobody is told of their own action, and a person told for several reasons at once (named in
//! a reply to their own comment on their own idea, which they also follow) gets one
//! notification, for the most personal reason: being named, then their comment, then their
//! idea, then what they follow. [`recipients`] only decides who would be told; the application
//! then drops everyone who is no longer a member, can no longer see the idea's space
//! ([`may_be_told`]), restricted processing, or was erased. Everyone left is told in the
//! workspace; email follows each one's [`NotificationPreference`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::policy::{SpaceView, can_see_space};
use crate::{Role, UserId};

/// How a member wants to be told of activity that concerns them, per workspace.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum NotificationPreference {
    /// One email per event, as it happens (the default).
    #[default]
    Instant,
    /// One email a day listing what happened.
    Daily,
    /// No email (the notifications centre still tells).
    Off,
}

impl NotificationPreference {
    /// Every preference.
    pub const ALL: [NotificationPreference; 3] = [
        NotificationPreference::Instant,
        NotificationPreference::Daily,
        NotificationPreference::Off,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationPreference::Instant => "instant",
            NotificationPreference::Daily => "daily",
            NotificationPreference::Off => "off",
        }
    }
}

impl fmt::Display for NotificationPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotificationPreference {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!("unknown notification preference {s:?}: expected instant, daily or off")
            })
    }
}

/// Something that happened to an idea that its people may be told of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// A comment was posted on an idea, as a reply when `parent_author` is set.
    Commented {
        /// Who wrote the idea.
        idea_author: UserId,
        /// Who wrote the comment answered, for a reply (to a comment that is not deleted).
        parent_author: Option<UserId>,
    },
    /// The idea moved to another stage.
    StageChanged {
        /// Who wrote the idea.
        idea_author: UserId,
    },
    /// A new idea was posted in a discussion.
    IdeaPosted,
    /// People were mentioned in an edit of an idea or a comment (only they are told).
    Mentioned,
}

/// Why someone is told: what the message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Someone commented on your idea.
    Comment,
    /// Someone replied to your comment.
    Reply,
    /// Your idea moved to another stage.
    Stage,
    /// Someone commented on an idea you follow.
    #[serde(rename = "followed_comment")]
    FollowedComment,
    /// An idea you follow moved to another stage.
    #[serde(rename = "followed_stage")]
    FollowedStage,
    /// A new idea in a discussion you follow.
    #[serde(rename = "new_idea")]
    NewIdea,
    /// Someone mentioned you in an idea or a comment.
    Mention,
}

/// Who would be told of `activity` by `actor`, each once, with why; never the actor.
/// `mentioned` are named in the text; `followers` follow the idea (for a comment or a stage
/// change) or the discussion (for a new idea). Being mentioned is the most personal reason.
pub fn recipients(
    activity: Activity,
    actor: UserId,
    mentioned: &[UserId],
    followers: &[UserId],
) -> Vec<(UserId, Reason)> {
    let mut out: Vec<(UserId, Reason)> = Vec::with_capacity(2 + mentioned.len() + followers.len());
    let mut add = |user: UserId, reason: Reason| {
        if user != actor && !out.iter().any(|(u, _)| *u == user) {
            out.push((user, reason));
        }
    };
    for u in mentioned {
        add(*u, Reason::Mention);
    }
    match activity {
        Activity::Commented {
            idea_author,
            parent_author,
        } => {
            if let Some(p) = parent_author {
                add(p, Reason::Reply);
            }
            add(idea_author, Reason::Comment);
        }
        Activity::StageChanged { idea_author } => add(idea_author, Reason::Stage),
        Activity::IdeaPosted | Activity::Mentioned => {}
    }
    let because = match activity {
        Activity::Commented { .. } => Reason::FollowedComment,
        Activity::StageChanged { .. } => Reason::FollowedStage,
        Activity::IdeaPosted => Reason::NewIdea,
        Activity::Mentioned => return out,
    };
    for f in followers {
        add(*f, because);
    }
    out
}

/// True when a person with `role` in the workspace (`None`: not a member any more) may be told
/// of activity on an idea in a space they see as `space`: the same rule as reading it.
pub fn may_be_told(role: Option<Role>, space: SpaceView) -> bool {
    role.is_some_and(|r| can_see_space(r, space))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn col_04_preferences_round_trip_and_default_to_instant() {
        for p in NotificationPreference::ALL {
            assert_eq!(p.as_str().parse::<NotificationPreference>(), Ok(p));
            assert_eq!(
                serde_json::to_value(p).unwrap(),
                serde_json::json!(p.as_str())
            );
        }
        assert_eq!(
            NotificationPreference::default(),
            NotificationPreference::Instant
        );
        assert!("weekly".parse::<NotificationPreference>().is_err());
        assert!(serde_json::from_str::<NotificationPreference>("\"Daily\"").is_err());
    }

    #[test]
    fn col_04_comments_tell_the_idea_author_and_replies_the_parent_author_never_the_actor() {
        let (ann, bob, cat) = (UserId::new(), UserId::new(), UserId::new());
        let comment = |parent_author| Activity::Commented {
            idea_author: ann,
            parent_author,
        };
        assert_eq!(
            recipients(comment(None), bob, &[], &[]),
            vec![(ann, Reason::Comment)]
        );
        assert_eq!(recipients(comment(None), ann, &[], &[]), vec![]);
        assert_eq!(
            recipients(comment(Some(cat)), bob, &[], &[]),
            vec![(cat, Reason::Reply), (ann, Reason::Comment)]
        );
        // Told once, as the reply, when the idea's author wrote the comment answered.
        assert_eq!(
            recipients(comment(Some(ann)), bob, &[], &[]),
            vec![(ann, Reason::Reply)]
        );
        // Replying to oneself tells only the idea's author.
        assert_eq!(
            recipients(comment(Some(bob)), bob, &[], &[]),
            vec![(ann, Reason::Comment)]
        );
        let moved = Activity::StageChanged { idea_author: ann };
        assert_eq!(recipients(moved, bob, &[], &[]), vec![(ann, Reason::Stage)]);
        assert_eq!(recipients(moved, ann, &[], &[]), vec![]);
    }

    #[test]
    fn col_04_followers_are_told_once_for_their_most_personal_reason() {
        let (ann, bob, cat, dan) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        let comment = Activity::Commented {
            idea_author: ann,
            parent_author: Some(cat),
        };
        // Ann (the author) and Cat (answered) follow too: each is told once, as before.
        assert_eq!(
            recipients(comment, bob, &[], &[ann, bob, cat, dan]),
            vec![
                (cat, Reason::Reply),
                (ann, Reason::Comment),
                (dan, Reason::FollowedComment)
            ],
            "the actor is never told, even as a follower"
        );
        let moved = Activity::StageChanged { idea_author: ann };
        assert_eq!(
            recipients(moved, bob, &[], &[dan, dan]),
            vec![(ann, Reason::Stage), (dan, Reason::FollowedStage)]
        );
        assert_eq!(
            recipients(Activity::IdeaPosted, ann, &[], &[ann, dan]),
            vec![(dan, Reason::NewIdea)]
        );
        assert_eq!(
            serde_json::to_value(Reason::FollowedComment).unwrap(),
            "followed_comment"
        );
    }

    #[test]
    fn col_04_a_mention_outranks_every_other_reason_and_an_edit_tells_only_the_mentioned() {
        let (ann, bob, cat, dan) = (UserId::new(), UserId::new(), UserId::new(), UserId::new());
        let comment = Activity::Commented {
            idea_author: ann,
            parent_author: Some(cat),
        };
        assert_eq!(
            recipients(comment, bob, &[cat, bob, dan], &[dan]),
            vec![
                (cat, Reason::Mention),
                (dan, Reason::Mention),
                (ann, Reason::Comment)
            ]
        );
        assert_eq!(
            recipients(Activity::Mentioned, bob, &[ann], &[cat]),
            vec![(ann, Reason::Mention)],
            "followers are not told of an edit"
        );
        assert_eq!(serde_json::to_value(Reason::Mention).unwrap(), "mention");
    }

    #[test]
    fn col_04_only_members_who_see_the_space_are_told() {
        let open = SpaceView {
            private: false,
            listed: false,
        };
        let private = SpaceView {
            private: true,
            listed: false,
        };
        let listed = SpaceView {
            private: true,
            listed: true,
        };
        assert!(may_be_told(Some(Role::Member), open));
        assert!(!may_be_told(None, open), "removed members are not told");
        assert!(!may_be_told(Some(Role::Member), private));
        assert!(may_be_told(Some(Role::Member), listed));
        assert!(!may_be_told(Some(Role::Guest), open));
        assert!(may_be_told(Some(Role::Admin), private));
    }
}
