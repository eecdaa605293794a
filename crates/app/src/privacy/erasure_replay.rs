//! Re-applying erasures to a database that predates them (ENC-04, DSR-03, BAK-05).
//!
//! A database can come back from before an erasure in three ways: a restore from a backup, a
//! copy put back by hand, or a node started on a stale copy. Deleting the erased keys alone is
//! not enough: the old copy still lists the person as a member, with tokens that work and file
//! rows whose content no longer opens. [`reapply_erasures`] therefore takes every erasure the
//! shred ledger records and applies to the database what the erasure did there, before the
//! keys themselves are deleted. `restore` runs it on the restored copy before a row is copied
//! from it; every start runs it on the live database.

use crate::content::image_previews::attachment_objects;
use std::collections::HashSet;

use ideaweave_domain::{UserId, WorkspaceId};
use ideaweave_store::{FileStore, Store, Tx};

use crate::OrInternal;
use crate::{AppResult, Keyring};

/// What re-applying the shred ledger to a database changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErasuresReapplied {
    /// Workspaces deleted since the copy was made (their slugs), deleted from it again.
    pub deleted_workspaces: Vec<String>,
    /// People erased from a workspace since, taken out of it again.
    pub erased_people: usize,
    /// Accounts deleted since, taken out of every workspace and removed again.
    pub erased_accounts: usize,
    /// Destroyed keys the copy still held, deleted.
    pub erased_keys: usize,
    /// Stored files no remaining row names, removed (only when a file store was given).
    pub files_removed: usize,
}

impl ErasuresReapplied {
    /// Whether the database predated an erasure (anything had to be done).
    pub fn changed_anything(&self) -> bool {
        *self != Self::default()
    }
}

/// Applies to the database at `store` every erasure the keyring's shred ledger records:
/// deleted workspaces are deleted, people erased from a workspace are taken out of it (their
/// membership, tokens, files, waiting notifications and the workspace's stored exports go; what
/// they did points at a former member who leads to nobody), deleted accounts are taken out of
/// every workspace and removed with their sessions and tokens, and then every listed key is
/// deleted. With `files`, stored files whose rows this removed are deleted too.
///
/// On a database that saw every erasure itself nothing matches and nothing changes, so this is
/// safe to run at every start.
pub async fn reapply_erasures(
    keyring: &Keyring,
    store: &Store,
    files: Option<&dyn FileStore>,
    now: i64,
) -> AppResult<ErasuresReapplied> {
    let mut done = ErasuresReapplied::default();
    let shredded = keyring.shredded_keys()?;
    if shredded.is_empty() {
        return Ok(done);
    }
    let mut tx = store.begin().await?;
    let files_before = match files {
        Some(_) => stored_files(&mut tx).await?,
        None => HashSet::new(),
    };
    let mut accounts = Vec::new();
    for (ws, key) in shredded {
        match ws {
            Some(w) if w == key => {
                if let Some(rec) = tx.workspace_by_id(WorkspaceId(w)).await? {
                    tx.workspace(WorkspaceId(w)).delete_all_rows().await?;
                    done.deleted_workspaces.push(rec.slug.to_string());
                }
            }
            Some(w) => {
                if let Some(person) = tx.subject_of_key(w, key).await?
                    && tx.is_member(w, person).await?
                {
                    detach(&mut tx, w, person, now).await?;
                    done.erased_people += 1;
                }
            }
            None => {
                if let Some(user) = tx.account_of_key(key).await? {
                    accounts.push(user);
                }
            }
        }
    }
    for user in accounts {
        for w in tx.workspaces_of(UserId(user)).await? {
            detach(&mut tx, w, user, now).await?;
        }
        tx.delete_erased_account(user).await?;
        done.erased_accounts += 1;
    }
    let gone: Vec<String> = match files {
        Some(_) => {
            let after = stored_files(&mut tx).await?;
            files_before.difference(&after).cloned().collect()
        }
        None => Vec::new(),
    };
    tx.commit().await?;
    done.erased_keys = keyring.apply_ledger(store).await?;
    if let Some(files) = files {
        for key in gone.iter().flat_map(|k| attachment_objects(k)) {
            match files.delete(&key).await {
                Ok(()) => done.files_removed += 1,
                Err(e) => {
                    tracing::warn!(error = %e, key, "could not remove a file of an erased person")
                }
            }
        }
    }
    if done.changed_anything() {
        // The stored search indexes may hold what was erased again (COL-05): none is searched
        // until it is rebuilt from the database as it now is.
        let mut tx = store.begin().await?;
        tx.forget_search_manifests(None).await?;
        tx.commit().await?;
        tracing::warn!(
            deleted_workspaces = done.deleted_workspaces.len(),
            erased_people = done.erased_people,
            erased_accounts = done.erased_accounts,
            erased_keys = done.erased_keys,
            files_removed = done.files_removed,
            "this database predates erasures the shred ledger records; they were applied to it again"
        );
    }
    Ok(done)
}

async fn stored_files(tx: &mut Tx) -> AppResult<HashSet<String>> {
    Ok(tx
        .stored_file_keys()
        .await?
        .into_iter()
        .map(|(w, i)| format!("{w}/{i}"))
        .collect())
}

/// Takes `person` out of workspace `ws`, attributing what stays to a fresh former member.
async fn detach(tx: &mut Tx, ws: uuid::Uuid, person: uuid::Uuid, now: i64) -> AppResult<()> {
    let mut index = [0u8; 32];
    getrandom::fill(&mut index).or_internal("no randomness")?;
    tx.workspace(WorkspaceId(ws))
        .detach_person(UserId(person), UserId::new(), &index, now)
        .await?;
    Ok(())
}
