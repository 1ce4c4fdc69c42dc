//! The plan catalogue: prices and limits per subscription plan.
//!
//! Source: the product README (`seeds/001`, "Subscription Plans", v2.0.0 of
//! 2026-01-01). Limits are enforced where each feature lives; this module only
//! answers "may this tenant have one more X?".

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::money::{Currency, Money};

/// Catalogue version; bump when limits or prices change.
pub const CATALOGUE_VERSION: &str = "2026-01-01";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Starter,
    Growth,
    Pro,
    Enterprise,
}

/// Feature level where a plan grants a feature in degrees.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Basic,
    Full,
    Custom,
}

/// What a plan allows. `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub seats: Option<u64>,
    pub creators_per_campaign: Option<u64>,
    pub active_campaigns: Option<u64>,
    pub storage_bytes: Option<u64>,
    pub ai_generations_per_month: Option<u64>,
    pub auto_posting: Level,
    pub api_access: Level,
}

/// A countable limit, named as problem documents name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Seats,
    CreatorsPerCampaign,
    ActiveCampaigns,
    StorageBytes,
    AiGenerationsPerMonth,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Seats => "seats",
            Limit::CreatorsPerCampaign => "creators per campaign",
            Limit::ActiveCampaigns => "active campaigns",
            Limit::StorageBytes => "storage bytes",
            Limit::AiGenerationsPerMonth => "AI generations per month",
        }
    }
}

const GB: u64 = 1024 * 1024 * 1024;

impl Plan {
    pub const ALL: [Plan; 5] = [
        Plan::Free,
        Plan::Starter,
        Plan::Growth,
        Plan::Pro,
        Plan::Enterprise,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Growth => "growth",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    /// Monthly list price; Enterprise is priced by contract.
    pub fn monthly_price(self) -> Option<Money> {
        let usd = Currency::parse("USD").ok()?;
        match self {
            Plan::Free => Some(Money::new(0, usd)),
            Plan::Starter => Some(Money::new(2_900, usd)),
            Plan::Growth => Some(Money::new(9_900, usd)),
            Plan::Pro => Some(Money::new(29_900, usd)),
            Plan::Enterprise => None,
        }
    }

    pub fn limits(self) -> Limits {
        match self {
            Plan::Free => Limits {
                seats: Some(1),
                creators_per_campaign: Some(5),
                active_campaigns: Some(2),
                storage_bytes: Some(GB),
                ai_generations_per_month: Some(10),
                auto_posting: Level::None,
                api_access: Level::None,
            },
            Plan::Starter => Limits {
                seats: Some(3),
                creators_per_campaign: Some(25),
                active_campaigns: Some(10),
                storage_bytes: Some(10 * GB),
                ai_generations_per_month: Some(100),
                auto_posting: Level::Basic,
                api_access: Level::Basic,
            },
            Plan::Growth => Limits {
                seats: Some(10),
                creators_per_campaign: Some(100),
                active_campaigns: Some(50),
                storage_bytes: Some(100 * GB),
                ai_generations_per_month: Some(1_000),
                auto_posting: Level::Full,
                api_access: Level::Full,
            },
            Plan::Pro => Limits {
                seats: Some(25),
                creators_per_campaign: None,
                active_campaigns: None,
                storage_bytes: Some(1024 * GB),
                ai_generations_per_month: Some(10_000),
                auto_posting: Level::Full,
                api_access: Level::Full,
            },
            Plan::Enterprise => Limits {
                seats: None,
                creators_per_campaign: None,
                active_campaigns: None,
                storage_bytes: None,
                ai_generations_per_month: None,
                auto_posting: Level::Custom,
                api_access: Level::Custom,
            },
        }
    }

    pub fn max(self, limit: Limit) -> Option<u64> {
        let l = self.limits();
        match limit {
            Limit::Seats => l.seats,
            Limit::CreatorsPerCampaign => l.creators_per_campaign,
            Limit::ActiveCampaigns => l.active_campaigns,
            Limit::StorageBytes => l.storage_bytes,
            Limit::AiGenerationsPerMonth => l.ai_generations_per_month,
        }
    }

    /// `Ok` when `current + adding` stays within the plan, else `LimitReached`.
    pub fn check(self, limit: Limit, current: u64, adding: u64) -> Result<(), Error> {
        match self.max(limit) {
            Some(max) if current.saturating_add(adding) > max => Err(Error::LimitReached {
                limit: limit.name(),
                plan: self.name().to_owned(),
                max,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seats_follow_the_catalogue() {
        let seats: Vec<_> = Plan::ALL.iter().map(|p| p.limits().seats).collect();
        assert_eq!(seats, [Some(1), Some(3), Some(10), Some(25), None]);
        let campaigns: Vec<_> = Plan::ALL
            .iter()
            .map(|p| p.limits().active_campaigns)
            .collect();
        assert_eq!(campaigns, [Some(2), Some(10), Some(50), None, None]);
        let creators: Vec<_> = Plan::ALL
            .iter()
            .map(|p| p.limits().creators_per_campaign)
            .collect();
        assert_eq!(creators, [Some(5), Some(25), Some(100), None, None]);
    }

    #[test]
    fn check_names_the_limit() {
        assert!(Plan::Free.check(Limit::Seats, 0, 1).is_ok());
        let e = Plan::Free.check(Limit::Seats, 1, 1).unwrap_err();
        assert!(matches!(
            e,
            Error::LimitReached {
                limit: "seats",
                max: 1,
                ..
            }
        ));
        assert!(Plan::Enterprise.check(Limit::Seats, u64::MAX, 1).is_ok());
    }

    #[test]
    fn api_access_is_off_on_free() {
        assert_eq!(Plan::Free.limits().api_access, Level::None);
        assert!(Plan::Starter.limits().api_access > Level::None);
        assert_eq!(
            Plan::Starter.monthly_price().unwrap().to_string(),
            "29.00 USD"
        );
    }
}
