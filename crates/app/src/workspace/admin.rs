//! What the operator does from the command line. None of it reads workspace content (ACC-04):
//! the operator creates accounts and workspaces, and hands a workspace to its owner.

use ideaweave_domain::*;
use ideaweave_store::NewUser;
use ideaweave_store::records::WorkspaceSummary;

use crate::platform::sealed::column;
use crate::platform::sealed::{account, at};
use crate::platform::secrets::random_secret;
use crate::trust::audit::{AuditAction, AuditEvent, ClientInfo, Outcome, Target, Who};
use crate::*;
use crate::{App, AppError, AppResult};
use serde_json::json;

/// The stages every new workspace starts with; admins rename, reorder and extend them.
pub const DEFAULT_STAGES: [&str; 5] =
    ["New", "Under review", "Selected", "Implemented", "Archived"];

/// The result of creating a workspace from the CLI.
#[derive(Debug)]
pub enum CreatedWorkspace {
    /// The owner had an account and is now the owner.
    OwnerAdded { id: WorkspaceId },
    /// The owner has no account yet: they accept this invitation to become owner.
    OwnerInvited {
        id: WorkspaceId,
        invitation: Box<CreatedInvitation>,
    },
}

impl App {
    /// The account with this email address, found through its blind index.
    pub(crate) async fn account_by_email(
        &self,
        tx: &mut ideaweave_store::Tx,
        email: &Email,
    ) -> AppResult<Option<ideaweave_store::records::UserRecord>> {
        Ok(tx
            .user_by_email_index(&self.keyring.email_index(email)?)
            .await?)
    }

    /// Creates an account. Without a password a random one is generated and returned, to be
    /// passed on once.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(
        &self,
        email: &str,
        name: &str,
        password: Option<&str>,
        operator: bool,
    ) -> AppResult<(UserView, Option<String>)> {
        let email = Email::parse(email)?;
        let name = PersonName::parse(name)?;
        let generated = match password {
            Some(_) => None,
            None => Some(random_secret()?),
        };
        let hash = self
            .new_password_hash(
                password.or(generated.as_deref()).unwrap_or_default(),
                &[email.as_str(), name.as_str()],
            )
            .await?;
        let user = self
            .insert_account(email, name, Some(hash), operator)
            .await?;
        Ok((user, generated))
    }

    /// Creates an account with no password, for people who sign in by other means (single
    /// sign-on, or API tokens set up by the operator).
    #[tracing::instrument(skip_all)]
    pub async fn create_user_without_password(
        &self,
        email: &str,
        name: &str,
    ) -> AppResult<UserView> {
        self.insert_account(Email::parse(email)?, PersonName::parse(name)?, None, false)
            .await
    }

    async fn insert_account(
        &self,
        email: Email,
        name: PersonName,
        password_hash: Option<String>,
        operator: bool,
    ) -> AppResult<UserView> {
        let id = UserId::new();
        let mut tx = self.store.begin().await?;
        self.insert_account_in(
            &mut tx,
            id,
            &email,
            &name,
            password_hash.as_deref(),
            operator,
        )
        .await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: None,
                actor: Who::Operator,
                action: AuditAction::AccountCreated,
                target: Target::Person(id),
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!({"operator": operator}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(UserView {
            id,
            email: email.to_string(),
            name: name.into_inner(),
        })
    }

    /// Creates an account inside a transaction: its key, its sealed name and address, and the
    /// blind index that finds it by address.
    pub(crate) async fn insert_account_in(
        &self,
        tx: &mut ideaweave_store::Tx,
        id: UserId,
        email: &Email,
        name: &PersonName,
        password_hash: Option<&str>,
        operator: bool,
    ) -> AppResult<()> {
        let now = self.now();
        let email_index = self.keyring.email_index(email)?;
        if tx.user_by_email_index(&email_index).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "an account for {email} already exists"
            )));
        }
        let key = self.keyring.account_key(tx, id, now).await?;
        let sealed_email =
            key.seal(&account(column::USERS_EMAIL, id), email.as_str().as_bytes())?;
        let sealed_name = key.seal(&account(column::USERS_NAME, id), name.as_str().as_bytes())?;
        tx.insert_user(
            NewUser {
                id,
                email_index: &email_index,
                email: &sealed_email,
                name: &sealed_name,
                password_hash,
                is_operator: operator,
            },
            now,
        )
        .await?;
        Ok(())
    }

    /// Creates a workspace and gives it an owner: the account with `owner_email` if it exists,
    /// otherwise an owner invitation to that address.
    #[tracing::instrument(skip_all)]
    pub async fn create_workspace(
        &self,
        slug: &str,
        name: &str,
        owner_email: &str,
    ) -> AppResult<CreatedWorkspace> {
        let slug = Slug::parse(slug)?;
        let name = WorkspaceName::parse(name)?;
        let email = Email::parse(owner_email)?;
        let id = WorkspaceId::new();
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if tx.workspace_by_slug(slug.as_str()).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "a workspace with slug {slug} already exists"
            )));
        }
        tx.insert_workspace(id, &slug, now).await?;
        {
            let mut repo = tx.workspace(id);
            self.keyring.init_workspace(&mut repo, now).await?;
            let key = self.keyring.data_key(&mut repo, None, now).await?;
            repo.rename(&key.seal_text(id, column::WORKSPACES_NAME, id.0, name.as_str())?)
                .await?;
            for (i, stage) in DEFAULT_STAGES.iter().enumerate() {
                let sid = StageId::new();
                let sealed = key.seal(&at(id, column::STAGES_NAME, sid.0), stage.as_bytes())?;
                repo.upsert_stage(sid, &sealed, i as i64).await?;
            }
        }
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(id),
                actor: Who::Operator,
                action: AuditAction::WorkspaceCreated,
                target: Target::Scope,
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!(null),
            },
        )
        .await?;
        let owner = self.account_by_email(&mut tx, &email).await?;
        match owner {
            Some(u) => {
                tx.workspace(id)
                    .upsert_member(u.id, Role::Owner, now)
                    .await?;
                self.audit(
                    &mut tx,
                    AuditEvent {
                        workspace: Some(id),
                        actor: Who::Operator,
                        action: AuditAction::MemberAdded,
                        target: Target::Person(u.id),
                        outcome: Outcome::Success,
                        client: &ClientInfo::console(),
                        facts: json!({"role": "owner"}),
                    },
                )
                .await?;
                tx.commit().await?;
                Ok(CreatedWorkspace::OwnerAdded { id })
            }
            None => {
                // The invitation names the operator as nobody: the workspace has no member yet.
                tx.commit().await?;
                let invitation = self
                    .create_invitation(
                        id,
                        &email,
                        Role::Owner,
                        UserId(uuid::Uuid::nil()),
                        Who::Operator,
                        &ClientInfo::console(),
                    )
                    .await?;
                Ok(CreatedWorkspace::OwnerInvited {
                    id,
                    invitation: Box::new(invitation),
                })
            }
        }
    }

    /// Every workspace with its member count; no content.
    #[tracing::instrument(skip_all)]
    pub async fn list_workspaces(&self) -> AppResult<Vec<WorkspaceSummary>> {
        Ok(self.store.read().await?.list_workspaces().await?)
    }

    /// Adds an existing account to a workspace with a role. It never changes an existing
    /// membership, so it cannot demote the last owner or override the workspace's admins.
    #[tracing::instrument(skip_all)]
    pub async fn add_member(&self, slug: &str, email: &str, role: Role) -> AppResult<()> {
        let email = Email::parse(email)?;
        let mut tx = self.store.begin().await?;
        let ws = tx
            .workspace_by_slug(slug)
            .await?
            .ok_or(AppError::NotFound("workspace"))?;
        let user = self
            .account_by_email(&mut tx, &email)
            .await?
            .ok_or(AppError::NotFound("account"))?;
        let mut repo = tx.workspace(ws.id);
        if repo.role_of(user.id).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "{email} is already a member of {slug}; roles are changed by the workspace's admins"
            )));
        }
        repo.upsert_member(user.id, role, self.now()).await?;
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws.id),
                actor: Who::Operator,
                action: AuditAction::MemberAdded,
                target: Target::Person(user.id),
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!({"role": role.as_str()}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an API token for a member, for scripts and integrations set up by the operator
    /// on the member's behalf.
    #[tracing::instrument(skip_all)]
    pub async fn create_token_for(
        &self,
        email: &str,
        slug: &str,
        input: TokenInput,
    ) -> AppResult<CreatedToken> {
        let email = Email::parse(email)?;
        let (ws, user) = {
            let mut tx = self.store.read().await?;
            let ws = tx
                .workspace_by_slug(slug)
                .await?
                .ok_or(AppError::NotFound("workspace"))?;
            let user = self
                .account_by_email(&mut tx, &email)
                .await?
                .ok_or(AppError::NotFound("account"))?;
            if tx.workspace(ws.id).role_of(user.id).await?.is_none() {
                return Err(AppError::Conflict(format!(
                    "{email} is not a member of {slug}"
                )));
            }
            (ws.id, user.id)
        };
        self.mint_token(ws, user, input, Who::Operator, &ClientInfo::console())
            .await
    }

    /// Revokes any token of a workspace by id.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_token_by_id(&self, slug: &str, id: TokenId) -> AppResult<()> {
        let mut tx = self.store.begin().await?;
        let ws = tx
            .workspace_by_slug(slug)
            .await?
            .ok_or(AppError::NotFound("workspace"))?;
        if !tx.workspace(ws.id).revoke_any_token(id, self.now()).await? {
            return Err(AppError::NotFound("token"));
        }
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws.id),
                actor: Who::Operator,
                action: AuditAction::TokenRevoked,
                target: Target::Thing("token", id.0),
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!(null),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl App {
    /// Rotates a workspace's KEK (operator, `ideaweave keys rotate-workspace`). Reads no
    /// content: only keys are rewrapped.
    #[tracing::instrument(skip_all)]
    pub async fn rotate_workspace_key(
        &self,
        slug: &str,
        progress: &(dyn Fn(u64) + Sync),
    ) -> AppResult<crate::WorkspaceRotation> {
        let ws = self
            .store
            .read()
            .await?
            .workspace_by_slug(slug)
            .await?
            .ok_or(AppError::NotFound("workspace"))?;
        let report = self
            .keyring
            .rotate_workspace(&self.store, ws.id, self.now(), progress)
            .await?;
        self.audit_operator(
            Some(ws.id),
            AuditAction::KeysWorkspaceRotated,
            Target::Scope,
            json!({"kek_version": report.kek_version, "rewrapped": report.rewrapped}),
        )
        .await?;
        Ok(report)
    }

    /// A workspace's id by slug (the operator's commands).
    #[tracing::instrument(skip_all)]
    pub async fn workspace_id(&self, slug: &str) -> AppResult<WorkspaceId> {
        Ok(self
            .store
            .read()
            .await?
            .workspace_by_slug(slug)
            .await?
            .ok_or(AppError::NotFound("workspace"))?
            .id)
    }
}

impl App {
    /// Crypto-shreds what a member holds in a workspace: their data key is destroyed (after it
    /// is recorded in the shred ledger), so their ideas, comments, files, links and tokens' names
    /// there read as erased from now on, in every copy of the database (ENC-04). What waited for
    /// their notification digest is deleted (COL-04). The erasure workflow of the data-subject
    /// rights builds on this.
    #[tracing::instrument(skip_all)]
    pub async fn shred_member_data(&self, ws: WorkspaceId, user: UserId) -> AppResult<bool> {
        let mut tx = self.store.begin().await?;
        tx.workspace(ws)
            .delete_pending_notifications_of(user)
            .await?;
        // Recorded first: the pseudonym needs the key that is about to be destroyed.
        self.audit(
            &mut tx,
            AuditEvent {
                workspace: Some(ws),
                actor: Who::Operator,
                action: AuditAction::SubjectShredded,
                target: Target::Person(user),
                outcome: Outcome::Success,
                client: &ClientInfo::console(),
                facts: json!(null),
            },
        )
        .await?;
        let done = self
            .keyring
            .shred_subject(&mut tx, ws, user, self.now())
            .await?;
        tx.commit().await?;
        Ok(done)
    }
}
