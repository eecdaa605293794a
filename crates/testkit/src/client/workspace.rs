//! Workspace endpoints: the workspace, its members and invitations.

use ideaweave_domain::{Role, UserId};
use serde_json::json;

use super::models::{CreatedInvitation, Invitation, InvitationInfo, Member, Page, Workspace};
use super::{Body, Client, Reply};

impl Client {
    /// `GET /workspaces/{ws}`.
    pub async fn workspace(&self, ws: &str) -> Reply<Workspace> {
        self.get(&format!("/workspaces/{ws}")).await
    }

    /// `GET /workspaces/{ws}/members`.
    pub async fn members(&self, ws: &str) -> Reply<Page<Member>> {
        self.get(&format!("/workspaces/{ws}/members")).await
    }

    /// `PATCH /workspaces/{ws}/members/{user}`: gives `user` another role.
    pub async fn change_role(&self, ws: &str, user: UserId, role: Role) -> Reply<Member> {
        self.patch(
            &format!("/workspaces/{ws}/members/{user}"),
            json!({ "role": role }),
        )
        .await
    }

    /// `DELETE /workspaces/{ws}/members/{user}`.
    pub async fn remove_member(&self, ws: &str, user: UserId) -> Reply {
        self.delete(&format!("/workspaces/{ws}/members/{user}"))
            .await
    }

    /// `POST /workspaces/{ws}/invitations`.
    pub async fn invite(&self, ws: &str, email: &str, role: Role) -> Reply<CreatedInvitation> {
        self.post(
            &format!("/workspaces/{ws}/invitations"),
            json!({ "email": email, "role": role }),
        )
        .await
    }

    /// `GET /workspaces/{ws}/invitations`.
    pub async fn invitations(&self, ws: &str) -> Reply<Vec<Invitation>> {
        self.get(&format!("/workspaces/{ws}/invitations")).await
    }

    /// `GET /invitations/{token}`: what an invitation is for, to anyone holding its link.
    pub async fn invitation_info(&self, token: &str) -> Reply<InvitationInfo> {
        self.get(&format!("/invitations/{token}")).await
    }

    /// `POST /invitations/{token}/accept`: as the signed-in caller (`new_account` `None`), or
    /// making an account with a name and a password.
    pub async fn accept_invitation(&self, token: &str, new_account: Option<(&str, &str)>) -> Reply {
        let body = match new_account {
            Some((name, password)) => Body::json(json!({ "name": name, "password": password })),
            None => Body::None,
        };
        self.send("POST", &format!("/invitations/{token}/accept"), body)
            .await
    }
}
