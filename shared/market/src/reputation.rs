//! Creator reputation, 0–100, recomputed from the creator's track record.
//!
//! Formula (documented in docs/marketplace.md and returned factor by factor):
//!
//! | factor | weight | value |
//! |---|---|---|
//! | on-time delivery | 0.30 | (on-time + 0.8·2) / (delivered + 2) |
//! | first-pass approval | 0.25 | (approved without changes + 0.7·2) / (reviewed + 2) |
//! | brand rating | 0.20 | (Σ (rating − 1)/4 + 0.7·2) / (ratings + 2) |
//! | reliability | 0.15 | max(0, 1 − 0.2 · cancellations) |
//! | profile completeness | 0.10 | share of the ten profile checks met |
//!
//! Rates are shrunk towards a prior (the `+ prior·2 / + 2` terms) so one
//! late delivery doesn't sink a new creator and one good one doesn't make a
//! star. Score = 100 · Σ weight · value, rounded to one decimal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Counters the reputation worker keeps from domain events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatorStats {
    /// Deliverables submitted for the first time.
    pub delivered: u32,
    /// … of which before their due date.
    pub on_time: u32,
    /// Deliverables that reached a final review (approved or rejected).
    pub reviewed: u32,
    /// … approved with no change requested.
    pub first_pass: u32,
    pub ratings: u32,
    /// Σ of ratings (1–5).
    pub rating_sum: u32,
    /// Contracts cancelled after signature.
    pub cancellations: u32,
    pub completed_contracts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Factor {
    /// `onTimeDelivery`, `firstPassApproval`, `brandRating`, `reliability`, `profileCompleteness`.
    pub name: String,
    /// 0–1.
    pub value: f64,
    pub weight: f64,
    /// weight · value · 100.
    pub points: f64,
    /// What the value is based on.
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reputation {
    pub score: f64,
    pub factors: Vec<Factor>,
}

impl Default for Reputation {
    fn default() -> Self {
        compute(&CreatorStats::default(), 0.0)
    }
}

pub const WEIGHTS: [(&str, f64); 5] = [
    ("onTimeDelivery", 0.30),
    ("firstPassApproval", 0.25),
    ("brandRating", 0.20),
    ("reliability", 0.15),
    ("profileCompleteness", 0.10),
];

fn shrunk(hits: f64, n: f64, prior: f64) -> f64 {
    (hits + prior * 2.0) / (n + 2.0)
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn compute(s: &CreatorStats, completeness: f64) -> Reputation {
    let on_time = shrunk(s.on_time.into(), s.delivered.into(), 0.8);
    let first_pass = shrunk(s.first_pass.into(), s.reviewed.into(), 0.7);
    let rating_norm = (f64::from(s.rating_sum) - f64::from(s.ratings)) / 4.0;
    let rating = shrunk(rating_norm, s.ratings.into(), 0.7);
    let reliability = (1.0 - 0.2 * f64::from(s.cancellations)).max(0.0);
    let values = [
        (
            on_time,
            format!("{} of {} deliveries on time", s.on_time, s.delivered),
        ),
        (
            first_pass,
            format!(
                "{} of {} approved without changes",
                s.first_pass, s.reviewed
            ),
        ),
        (
            rating,
            if s.ratings == 0 {
                "no brand ratings yet".to_owned()
            } else {
                format!(
                    "average {:.1} of 5 from {} ratings",
                    f64::from(s.rating_sum) / f64::from(s.ratings),
                    s.ratings
                )
            },
        ),
        (
            reliability,
            format!("{} cancelled contracts", s.cancellations),
        ),
        (
            completeness.clamp(0.0, 1.0),
            format!("profile {:.0}% complete", completeness * 100.0),
        ),
    ];
    let factors: Vec<Factor> = WEIGHTS
        .iter()
        .zip(values)
        .map(|((name, weight), (value, basis))| Factor {
            name: (*name).to_owned(),
            value: (value * 1000.0).round() / 1000.0,
            weight: *weight,
            points: round1(weight * value * 100.0),
            basis,
        })
        .collect();
    let score = round1(
        WEIGHTS
            .iter()
            .zip(&factors)
            .map(|((_, w), f)| w * f.value * 100.0)
            .sum::<f64>()
            .clamp(0.0, 100.0),
    );
    Reputation { score, factors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_bounds_hold() {
        let total: f64 = WEIGHTS.iter().map(|(_, w)| w).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let perfect = CreatorStats {
            delivered: 1000,
            on_time: 1000,
            reviewed: 1000,
            first_pass: 1000,
            ratings: 1000,
            rating_sum: 5000,
            cancellations: 0,
            completed_contracts: 1000,
        };
        let r = compute(&perfect, 1.0);
        assert!(r.score > 99.0 && r.score <= 100.0, "{}", r.score);
        let awful = CreatorStats {
            delivered: 1000,
            on_time: 0,
            reviewed: 1000,
            first_pass: 0,
            ratings: 1000,
            rating_sum: 1000,
            cancellations: 9,
            completed_contracts: 0,
        };
        assert!(compute(&awful, 0.0).score < 1.0);
    }

    #[test]
    fn new_creators_start_from_the_prior_and_move_with_evidence() {
        let fresh = compute(&CreatorStats::default(), 0.5);
        // 0.3·0.8 + 0.25·0.7 + 0.2·0.7 + 0.15·1 + 0.1·0.5 = 0.755
        assert_eq!(fresh.score, 75.5);
        let late = compute(
            &CreatorStats {
                delivered: 1,
                ..Default::default()
            },
            0.5,
        );
        assert!(late.score < fresh.score);
        assert!(
            late.score > 60.0,
            "one late delivery doesn't sink a creator"
        );
        let factor = &late.factors[0];
        assert_eq!(factor.name, "onTimeDelivery");
        assert_eq!(factor.basis, "0 of 1 deliveries on time");
    }

    #[test]
    fn points_add_up_to_the_score() {
        let r = compute(
            &CreatorStats {
                delivered: 7,
                on_time: 5,
                reviewed: 6,
                first_pass: 4,
                ratings: 3,
                rating_sum: 13,
                cancellations: 1,
                completed_contracts: 3,
            },
            0.8,
        );
        let sum: f64 = r.factors.iter().map(|f| f.points).sum();
        assert!((sum - r.score).abs() <= 0.3, "{sum} vs {}", r.score);
    }
}
