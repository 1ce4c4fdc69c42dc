//! The campaign lifecycle:
//!
//! ```text
//! DRAFT ─publish─▶ PUBLISHED ─first contract signed─▶ ACTIVE ─first submission─▶ IN_PROGRESS ─all deliverables approved/cancelled─▶ COMPLETED ─▶ ARCHIVED
//!   │                 │  ▲                              │  ▲                           │  ▲
//!   │                 ▼  │ resume                       ▼  │ resume                    ▼  │ resume
//!   │               PAUSED (returns to where it paused from)
//!   └────────────▶ CANCELLED (from any live state) ─▶ ARCHIVED
//! ```
//!
//! Some moves are made by people through `POST /v1/campaigns/{id}/transitions`
//! ([`Trigger::Manual`]); the others happen when the marketplace reaches a
//! milestone. Asking for a move the table doesn't have is a 409 listing the
//! moves a person may make from the current state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    Draft,
    Published,
    Active,
    InProgress,
    Completed,
    Archived,
    Paused,
    Cancelled,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 8] = [
        CampaignStatus::Draft,
        CampaignStatus::Published,
        CampaignStatus::Active,
        CampaignStatus::InProgress,
        CampaignStatus::Completed,
        CampaignStatus::Archived,
        CampaignStatus::Paused,
        CampaignStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "DRAFT",
            CampaignStatus::Published => "PUBLISHED",
            CampaignStatus::Active => "ACTIVE",
            CampaignStatus::InProgress => "IN_PROGRESS",
            CampaignStatus::Completed => "COMPLETED",
            CampaignStatus::Archived => "ARCHIVED",
            CampaignStatus::Paused => "PAUSED",
            CampaignStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "'{}' is not one of: {}",
                    s.chars().take(40).collect::<String>(),
                    Self::ALL.map(|x| x.as_str()).join(", ")
                )
            })
    }

    /// Counted against the plan's "active campaigns" limit: published and
    /// not yet finished (paused campaigns still hold their slot).
    pub fn counts_as_active(self) -> bool {
        matches!(
            self,
            CampaignStatus::Published
                | CampaignStatus::Active
                | CampaignStatus::InProgress
                | CampaignStatus::Paused
        )
    }

    /// Creators may apply / brands may accept while the campaign runs.
    pub fn accepts_creators(self) -> bool {
        matches!(
            self,
            CampaignStatus::Published | CampaignStatus::Active | CampaignStatus::InProgress
        )
    }
}

impl std::fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What causes a move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A brand member through the API.
    Manual,
    /// The first contract of the campaign was signed by both parties.
    ContractSigned,
    /// The first deliverable was submitted.
    FirstSubmission,
    /// Every deliverable is approved or cancelled.
    AllDeliverablesResolved,
}

/// The transition table: `(from, to, trigger)`. Resuming from PAUSED is
/// only to the state it paused from (checked in [`check`]).
pub const TABLE: &[(CampaignStatus, CampaignStatus, Trigger)] = {
    use CampaignStatus::*;
    use Trigger::*;
    &[
        (Draft, Published, Manual),
        (Draft, Cancelled, Manual),
        (Published, Active, ContractSigned),
        (Published, Paused, Manual),
        (Published, Cancelled, Manual),
        (Active, InProgress, FirstSubmission),
        (Active, Completed, AllDeliverablesResolved),
        (Active, Completed, Manual),
        (Active, Paused, Manual),
        (Active, Cancelled, Manual),
        (InProgress, Completed, AllDeliverablesResolved),
        (InProgress, Completed, Manual),
        (InProgress, Paused, Manual),
        (InProgress, Cancelled, Manual),
        (Paused, Published, Manual),
        (Paused, Active, Manual),
        (Paused, InProgress, Manual),
        (Paused, Cancelled, Manual),
        (Completed, Archived, Manual),
        (Cancelled, Archived, Manual),
    ]
};

/// Where a person may move a campaign from `from` (what a 409 lists).
pub fn manual_targets(
    from: CampaignStatus,
    paused_from: Option<CampaignStatus>,
) -> Vec<CampaignStatus> {
    let mut out: Vec<CampaignStatus> = TABLE
        .iter()
        .filter(|(f, t, tr)| {
            *f == from
                && *tr == Trigger::Manual
                && (from != CampaignStatus::Paused
                    || *t == CampaignStatus::Cancelled
                    || Some(*t) == paused_from)
        })
        .map(|(_, t, _)| *t)
        .collect();
    out.dedup();
    out
}

/// Is `from → to` allowed for `trigger` (guards aside)?
pub fn check(
    from: CampaignStatus,
    to: CampaignStatus,
    trigger: Trigger,
    paused_from: Option<CampaignStatus>,
) -> Result<(), nexus_core::Error> {
    let in_table = TABLE
        .iter()
        .any(|(f, t, tr)| *f == from && *t == to && *tr == trigger);
    let resume_ok = from != CampaignStatus::Paused
        || to == CampaignStatus::Cancelled
        || Some(to) == paused_from;
    if in_table && resume_ok {
        Ok(())
    } else {
        Err(nexus_core::Error::InvalidTransition {
            resource: "campaign",
            from: from.as_str().into(),
            to: to.as_str().into(),
            allowed: manual_targets(from, paused_from)
                .into_iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus::*;

    /// Every (from, to) pair a person may ask for through the API. Anything
    /// not listed must be refused with 409 (this is the whole table).
    const MANUAL_ALLOWED: &[(CampaignStatus, CampaignStatus)] = &[
        (Draft, Published),
        (Draft, Cancelled),
        (Published, Paused),
        (Published, Cancelled),
        (Active, Completed),
        (Active, Paused),
        (Active, Cancelled),
        (InProgress, Completed),
        (InProgress, Paused),
        (InProgress, Cancelled),
        (Completed, Archived),
        (Cancelled, Archived),
    ];

    #[test]
    fn every_manual_pair_is_allowed_or_refused_as_the_table_says() {
        for from in CampaignStatus::ALL.into_iter().filter(|s| *s != Paused) {
            for to in CampaignStatus::ALL {
                let expected = MANUAL_ALLOWED.contains(&(from, to));
                let got = check(from, to, Trigger::Manual, None);
                assert_eq!(got.is_ok(), expected, "{from} → {to}");
                if let Err(nexus_core::Error::InvalidTransition { allowed, .. }) = got {
                    let want: Vec<String> = MANUAL_ALLOWED
                        .iter()
                        .filter(|(f, _)| *f == from)
                        .map(|(_, t)| t.as_str().to_owned())
                        .collect();
                    assert_eq!(allowed, want, "allowed list from {from}");
                }
            }
        }
    }

    #[test]
    fn paused_resumes_only_to_where_it_paused_from() {
        for paused_from in [Published, Active, InProgress] {
            for to in CampaignStatus::ALL {
                let expected = to == paused_from || to == Cancelled;
                assert_eq!(
                    check(Paused, to, Trigger::Manual, Some(paused_from)).is_ok(),
                    expected,
                    "PAUSED({paused_from}) → {to}"
                );
            }
            assert_eq!(
                manual_targets(Paused, Some(paused_from)),
                if paused_from == Published {
                    vec![Published, Cancelled]
                } else {
                    vec![paused_from, Cancelled]
                }
            );
        }
    }

    #[test]
    fn milestone_moves_only_happen_by_their_trigger() {
        assert!(check(Published, Active, Trigger::ContractSigned, None).is_ok());
        assert!(check(Published, Active, Trigger::Manual, None).is_err());
        assert!(check(Active, InProgress, Trigger::FirstSubmission, None).is_ok());
        assert!(check(Active, InProgress, Trigger::Manual, None).is_err());
        assert!(check(
            InProgress,
            Completed,
            Trigger::AllDeliverablesResolved,
            None
        )
        .is_ok());
        assert!(check(Draft, Active, Trigger::ContractSigned, None).is_err());
        // Terminal: nothing leaves ARCHIVED.
        assert!(manual_targets(Archived, None).is_empty());
        for to in CampaignStatus::ALL {
            for tr in [
                Trigger::Manual,
                Trigger::ContractSigned,
                Trigger::FirstSubmission,
                Trigger::AllDeliverablesResolved,
            ] {
                assert!(check(Archived, to, tr, None).is_err());
            }
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for s in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(s.as_str()), Ok(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.as_str())
            );
        }
        assert!(CampaignStatus::parse("LIVE").unwrap_err().contains("DRAFT"));
    }
}
