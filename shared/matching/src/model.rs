//! Inputs and outputs of matching. Wire shape is camelCase JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Audience distributions. Each map is a histogram (key → share); shares need
/// not sum to 1 (they are normalised before comparison). An empty map means
/// "unknown" on a creator and "no preference" on a campaign target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Audience {
    /// Age bands `13-17`, `18-24`, `25-34`, `35-44`, `45-54`, `55+` → share.
    pub age: BTreeMap<String, f64>,
    /// `female` | `male` | `other` → share.
    pub gender: BTreeMap<String, f64>,
    /// ISO 3166-1 alpha-2 country → share.
    pub countries: BTreeMap<String, f64>,
}

/// A money amount in minor units (cents) with its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    pub amount_minor: i64,
    pub currency: String,
}

/// Delivery history on the platform.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Performance {
    pub completed_contracts: u32,
    /// Share of deliverables delivered on time, 0..1.
    pub on_time_rate: Option<f64>,
    /// Share of deliverables approved without a revision, 0..1.
    pub first_pass_approval_rate: Option<f64>,
    /// Mean brand rating, 1..5.
    pub avg_rating: Option<f64>,
    /// Mean engagement rate on social posts, as a fraction (0.034 = 3.4 %).
    pub avg_engagement_rate: Option<f64>,
}

/// Moderation and dispute history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BrandSafety {
    /// Items (posts, drafts) flagged by moderation.
    pub flagged_items: u32,
    /// Items moderated in total.
    pub total_items: u32,
    /// Contract disputes raised against the creator.
    pub disputes: u32,
}

/// Everything matching knows about one creator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatorFeatures {
    pub creator_id: String,
    #[serde(default)]
    pub niches: Vec<String>,
    #[serde(default)]
    pub content_styles: Vec<String>,
    #[serde(default)]
    pub bio: String,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub audience: Audience,
    /// The creator's rate for the campaign's main deliverable.
    #[serde(default)]
    pub rate: Option<Rate>,
    #[serde(default)]
    pub performance: Performance,
    #[serde(default)]
    pub brand_safety: BrandSafety,
    /// Platform reputation, 0..100. Not a scoring factor (it would double-count
    /// performance and safety); kept for baselines and display.
    #[serde(default)]
    pub reputation: f64,
}

/// What a campaign is looking for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CampaignTarget {
    pub niches: Vec<String>,
    pub content_styles: Vec<String>,
    /// Objectives and key messages.
    pub brief: String,
    /// Target distributions; an empty map means no preference on that dimension.
    pub audience: Audience,
    pub budget_per_creator: Option<Rate>,
    pub languages: Vec<String>,
    pub countries: Vec<String>,
}

/// The five factors of a match, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FactorName {
    AudienceOverlap,
    ContentSimilarity,
    Performance,
    BudgetFit,
    BrandSafety,
}

/// One factor's part of a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    pub name: FactorName,
    /// 0..1.
    pub score: f64,
    /// Share of the total this factor carries; all weights sum to 1.
    pub weight: f64,
    /// `weight × score × 100`: points added to the total.
    pub contribution: f64,
    /// Why the factor scored what it did, for people.
    pub explanation: String,
}

/// A creator's fit for a campaign: 0..100 (one decimal) and its breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchScore {
    /// Sum of the factor contributions, rounded to one decimal.
    pub total: f64,
    pub factors: Vec<Factor>,
}

impl MatchScore {
    pub fn factor(&self, name: FactorName) -> Option<&Factor> {
        self.factors.iter().find(|f| f.name == name)
    }
}
