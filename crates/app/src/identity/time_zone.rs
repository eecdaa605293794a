//! The time zone a person reads times in (issue 22): chosen in their account, or left to their
//! browser. Only names of the time zone database are kept, so what pages show is always a real
//! zone.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::auth::Principal;
use crate::{App, AppError, AppResult};

/// The time zone one reads times in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeZoneView {
    /// An IANA name such as `Europe/Berlin`; absent: the browser's zone, or the instance's
    /// default.
    pub time_zone: Option<String>,
}

/// A new choice of time zone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeZoneInput {
    /// An IANA name such as `Europe/Berlin`; `null` or empty to follow the browser.
    pub time_zone: Option<String>,
}

/// The zone `name` names in the time zone database, by its canonical spelling; an empty name
/// is no choice.
fn checked(name: Option<&str>) -> AppResult<Option<String>> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let refused = || {
        AppError::invalid(
            "time_zone",
            "is not a time zone; choose one such as Europe/Berlin or UTC",
        )
    };
    if name.len() > 64 {
        return Err(refused());
    }
    let zone = jiff::tz::TimeZone::get(name).map_err(|_| refused())?;
    Ok(Some(zone.iana_name().unwrap_or(name).to_owned()))
}

impl App {
    /// The zone the caller chose, if any.
    pub async fn time_zone(&self, principal: &Principal) -> AppResult<TimeZoneView> {
        let mut tx = self.store.read().await?;
        Ok(TimeZoneView {
            time_zone: tx.user_time_zone(principal.user).await?,
        })
    }

    /// Chooses the zone the caller reads times in (signed-in sessions only: an API token acts
    /// in one workspace, and this is the person's own setting).
    #[tracing::instrument(skip_all)]
    pub async fn set_time_zone(
        &self,
        principal: &Principal,
        input: TimeZoneInput,
    ) -> AppResult<TimeZoneView> {
        if !principal.is_session() {
            return Err(AppError::Forbidden(
                "sign in to change your account; API tokens cannot".into(),
            ));
        }
        let zone = checked(input.time_zone.as_deref())?;
        let mut tx = self.store.begin().await?;
        if !tx
            .set_user_time_zone(principal.user, zone.as_deref())
            .await?
        {
            return Err(AppError::Unauthenticated);
        }
        tx.commit().await?;
        Ok(TimeZoneView { time_zone: zone })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_zones_of_the_database_are_kept() {
        assert_eq!(
            checked(Some(" Europe/Berlin ")).unwrap().as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(checked(Some("")).unwrap(), None);
        assert_eq!(checked(None).unwrap(), None);
        for bad in [
            "Mars/Olympus",
            "../../etc/localtime",
            "x".repeat(65).as_str(),
        ] {
            assert!(checked(Some(bad)).is_err(), "{bad}");
        }
    }
}
