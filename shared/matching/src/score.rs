//! Pure scoring: no I/O. Each factor is a score in 0..1 with an explanation;
//! the total is `Σ weight × score × 100`. Formulas are documented in
//! `docs/matching.md` and on each function below.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    Audience, BrandSafety, CampaignTarget, CreatorFeatures, Factor, FactorName, MatchScore,
    Performance, Rate,
};

/// Weight of audience overlap in the total.
pub const WEIGHT_AUDIENCE: f64 = 0.30;
/// Weight of content similarity in the total.
pub const WEIGHT_CONTENT: f64 = 0.30;
/// Weight of delivery performance in the total.
pub const WEIGHT_PERFORMANCE: f64 = 0.15;
/// Weight of budget fit in the total.
pub const WEIGHT_BUDGET: f64 = 0.15;
/// Weight of brand safety in the total.
pub const WEIGHT_SAFETY: f64 = 0.10;

/// Score given when there is nothing to judge a factor on.
pub const NEUTRAL: f64 = 0.5;

/// Content similarity = `EMBEDDING × cosine + NICHE × niche coverage`.
pub const CONTENT_EMBEDDING_SHARE: f64 = 0.5;
/// See [`CONTENT_EMBEDDING_SHARE`].
pub const CONTENT_NICHE_SHARE: f64 = 0.5;

/// Pseudo-count of the neutral prior in the performance factor: with `n`
/// completed contracts the observed mean gets weight `n / (n + k)`.
pub const PERFORMANCE_PRIOR_STRENGTH: f64 = 3.0;
/// Engagement rate at which the engagement component saturates (6 %).
pub const ENGAGEMENT_SATURATION: f64 = 0.06;

/// Safety penalty per unit of flagged-item rate: 20 % flagged → 1.0 penalty.
pub const FLAGGED_RATE_PENALTY: f64 = 5.0;
/// Safety penalty per dispute.
pub const DISPUTE_PENALTY: f64 = 0.15;
/// Cap on the total dispute penalty.
pub const MAX_DISPUTE_PENALTY: f64 = 0.6;

/// Scores one creator for one campaign. `target_vec` and `creator_vec` are
/// embeddings of [`campaign_text`] and [`creator_text`] from the same
/// embedder. Pure: same input, same output.
pub fn score(
    target: &CampaignTarget,
    target_vec: &[f32],
    creator: &CreatorFeatures,
    creator_vec: &[f32],
) -> MatchScore {
    let parts = [
        (
            FactorName::AudienceOverlap,
            WEIGHT_AUDIENCE,
            audience_overlap(&target_audience(target), &creator.audience),
        ),
        (
            FactorName::ContentSimilarity,
            WEIGHT_CONTENT,
            content_similarity(target, target_vec, creator, creator_vec),
        ),
        (
            FactorName::Performance,
            WEIGHT_PERFORMANCE,
            performance(&creator.performance),
        ),
        (
            FactorName::BudgetFit,
            WEIGHT_BUDGET,
            budget_fit(target.budget_per_creator.as_ref(), creator.rate.as_ref()),
        ),
        (
            FactorName::BrandSafety,
            WEIGHT_SAFETY,
            brand_safety(&creator.brand_safety),
        ),
    ];
    let factors: Vec<Factor> = parts
        .into_iter()
        .map(|(name, weight, (score, explanation))| {
            let score = clamp01(score);
            Factor {
                name,
                score,
                weight,
                contribution: weight * score * 100.0,
                explanation,
            }
        })
        .collect();
    let total = factors.iter().map(|f| f.contribution).sum::<f64>();
    MatchScore {
        total: (total * 10.0).round() / 10.0,
        factors,
    }
}

/// The audience a campaign targets: its distributions, except that an empty
/// country distribution falls back to an even split over `countries`.
pub fn target_audience(t: &CampaignTarget) -> Audience {
    let mut a = t.audience.clone();
    if a.countries.values().all(|v| !(v.is_finite() && *v > 0.0)) && !t.countries.is_empty() {
        a.countries = t.countries.iter().map(|c| (c.clone(), 1.0)).collect();
    }
    a
}

/// Text embedded for a creator: niches, content styles, bio.
pub fn creator_text(c: &CreatorFeatures) -> String {
    join_text(&c.niches, &c.content_styles, &c.bio)
}

/// Text embedded for a campaign: niches, content styles, brief.
pub fn campaign_text(t: &CampaignTarget) -> String {
    join_text(&t.niches, &t.content_styles, &t.brief)
}

fn join_text(niches: &[String], styles: &[String], free: &str) -> String {
    niches
        .iter()
        .chain(styles)
        .map(String::as_str)
        .chain(std::iter::once(free))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Histogram intersection `Σ min(p_k, q_k)` per dimension the target
/// specifies (both sides normalised to sum 1), averaged over those
/// dimensions. A creator with no data on a targeted dimension scores 0 on it.
/// No targeted dimension at all → [`NEUTRAL`].
pub fn audience_overlap(target: &Audience, creator: &Audience) -> (f64, String) {
    let dims = [
        ("age", &target.age, &creator.age),
        ("gender", &target.gender, &creator.gender),
        ("countries", &target.countries, &creator.countries),
    ];
    let mut parts = Vec::new();
    for (label, t, c) in dims {
        let Some(t) = normalise(t) else { continue };
        let overlap = match normalise(c) {
            Some(c) => t
                .iter()
                .map(|(k, p)| p.min(c.get(k).copied().unwrap_or(0.0)))
                .sum::<f64>(),
            None => 0.0,
        };
        parts.push((label, clamp01(overlap), normalise(c).is_none()));
    }
    if parts.is_empty() {
        return (
            NEUTRAL,
            "The campaign sets no audience target; neutral 50%".into(),
        );
    }
    let mean = parts.iter().map(|p| p.1).sum::<f64>() / parts.len() as f64;
    let detail = parts
        .iter()
        .map(|(label, v, missing)| {
            if *missing {
                format!("{label}: no creator data")
            } else {
                format!("{label} {}", pct(*v))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    (
        mean,
        format!("{} of the target audience overlaps ({detail})", pct(mean)),
    )
}

/// Keys trimmed and lower-cased, non-finite or negative shares dropped,
/// shares scaled to sum 1. `None` when nothing positive remains.
fn normalise(h: &BTreeMap<String, f64>) -> Option<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for (k, v) in h {
        if v.is_finite() && *v > 0.0 {
            *out.entry(k.trim().to_ascii_lowercase()).or_insert(0.0) += v;
        }
    }
    let sum: f64 = out.values().sum();
    if sum <= 0.0 {
        return None;
    }
    out.values_mut().for_each(|v| *v /= sum);
    Some(out)
}

/// `CONTENT_EMBEDDING_SHARE × max(0, cosine) + CONTENT_NICHE_SHARE × coverage`,
/// where coverage = share of the campaign's niches the creator lists (exact,
/// case-insensitive). A campaign without niches uses the cosine alone.
pub fn content_similarity(
    target: &CampaignTarget,
    target_vec: &[f32],
    creator: &CreatorFeatures,
    creator_vec: &[f32],
) -> (f64, String) {
    let cos = clamp01(cosine(target_vec, creator_vec).unwrap_or(0.0));
    let wanted = tag_set(&target.niches);
    let has = tag_set(&creator.niches);
    if wanted.is_empty() {
        return (
            cos,
            format!("Text similarity {}; the campaign lists no niches", pct(cos)),
        );
    }
    let shared: Vec<&str> = wanted.intersection(&has).map(String::as_str).collect();
    let coverage = shared.len() as f64 / wanted.len() as f64;
    let blended = CONTENT_EMBEDDING_SHARE * cos + CONTENT_NICHE_SHARE * coverage;
    let niches = if shared.is_empty() {
        "no shared niche".to_string()
    } else {
        format!("shares {}", shared.join(", "))
    };
    (
        blended,
        format!(
            "Text similarity {}; covers {} of {} campaign niches ({niches})",
            pct(cos),
            shared.len(),
            wanted.len()
        ),
    )
}

fn tag_set(tags: &[String]) -> BTreeSet<String> {
    tags.iter()
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Cosine similarity; `None` for empty, mismatched or zero vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        return None;
    }
    Some(dot / (na.sqrt() * nb.sqrt()))
}

/// Observed quality = mean of the components present: on-time rate,
/// first-pass approval rate, rating mapped `(r − 1) / 4`, engagement
/// `min(er / ENGAGEMENT_SATURATION, 1)`. Shrunk towards [`NEUTRAL`] by the
/// number of completed contracts `n`: `(n × obs + k × 0.5) / (n + k)`,
/// `k = PERFORMANCE_PRIOR_STRENGTH`. No history → 0.5.
pub fn performance(p: &Performance) -> (f64, String) {
    let mut comps: Vec<(&str, f64)> = Vec::new();
    if let Some(v) = finite(p.on_time_rate) {
        comps.push(("on time", clamp01(v)));
    }
    if let Some(v) = finite(p.first_pass_approval_rate) {
        comps.push(("first-pass approval", clamp01(v)));
    }
    if let Some(r) = finite(p.avg_rating) {
        comps.push(("rating", (r.clamp(1.0, 5.0) - 1.0) / 4.0));
    }
    if let Some(er) = finite(p.avg_engagement_rate) {
        comps.push(("engagement", clamp01(er / ENGAGEMENT_SATURATION)));
    }
    let n = f64::from(p.completed_contracts);
    if comps.is_empty() {
        return (
            NEUTRAL,
            format!(
                "No delivery history to judge ({} completed contracts); neutral 50%",
                p.completed_contracts
            ),
        );
    }
    let obs = comps.iter().map(|c| c.1).sum::<f64>() / comps.len() as f64;
    let k = PERFORMANCE_PRIOR_STRENGTH;
    let shrunk = (n * obs + k * NEUTRAL) / (n + k);
    let detail = comps
        .iter()
        .map(|(l, v)| format!("{l} {}", pct(*v)))
        .collect::<Vec<_>>()
        .join(", ");
    (
        shrunk,
        format!(
            "Track record {} ({detail}), weighted by {} completed contract{} against a neutral prior",
            pct(obs),
            p.completed_contracts,
            if p.completed_contracts == 1 { "" } else { "s" }
        ),
    )
}

/// No budget or no (non-negative) rate → [`NEUTRAL`]; different currencies →
/// 0; rate ≤ budget → 1; over budget → `max(0, 1 − (rate − budget) / budget)`.
pub fn budget_fit(budget: Option<&Rate>, rate: Option<&Rate>) -> (f64, String) {
    let (Some(budget), Some(rate)) = (budget, rate.filter(|r| r.amount_minor >= 0)) else {
        let which = if budget.is_none() {
            "The campaign sets no budget per creator"
        } else {
            "The creator has no rate for this deliverable"
        };
        return (NEUTRAL, format!("{which}; neutral 50%"));
    };
    if !budget
        .currency
        .trim()
        .eq_ignore_ascii_case(rate.currency.trim())
    {
        return (
            0.0,
            format!(
                "Rate is in {} but the budget is in {}; not comparable",
                rate.currency, budget.currency
            ),
        );
    }
    let (r, b) = (rate.amount_minor as f64, budget.amount_minor as f64);
    if r <= b {
        return (
            1.0,
            format!(
                "Rate {} is within the budget of {}",
                money(rate),
                money(budget)
            ),
        );
    }
    let fit = if b <= 0.0 {
        0.0
    } else {
        (1.0 - (r - b) / b).max(0.0)
    };
    (
        fit,
        format!(
            "Rate {} is {} over the budget of {}",
            money(rate),
            if b <= 0.0 {
                "entirely".to_string()
            } else {
                pct((r - b) / b)
            },
            money(budget)
        ),
    )
}

/// `1 − min(1, FLAGGED_RATE_PENALTY × flagged / total) −
/// min(MAX_DISPUTE_PENALTY, DISPUTE_PENALTY × disputes)`, clamped to 0..1.
/// Flags with no recorded total count as a 100 % flagged rate.
pub fn brand_safety(s: &BrandSafety) -> (f64, String) {
    let flagged_rate = match (s.flagged_items, s.total_items) {
        (0, _) => 0.0,
        (_, 0) => 1.0,
        (f, t) => (f64::from(f) / f64::from(t)).min(1.0),
    };
    let flag_penalty = (FLAGGED_RATE_PENALTY * flagged_rate).min(1.0);
    let dispute_penalty = (DISPUTE_PENALTY * f64::from(s.disputes)).min(MAX_DISPUTE_PENALTY);
    let v = clamp01(1.0 - flag_penalty - dispute_penalty);
    let text = if s.flagged_items == 0 && s.disputes == 0 {
        format!(
            "No flagged content in {} moderated items and no disputes",
            s.total_items
        )
    } else {
        format!(
            "{} of {} moderated items flagged ({}), {} dispute{}",
            s.flagged_items,
            s.total_items,
            pct(flagged_rate),
            s.disputes,
            if s.disputes == 1 { "" } else { "s" }
        )
    };
    (v, text)
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

fn clamp01(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 1.0)
    }
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// Formats with the currency's exponent (`12.50 USD`, `1500 JPY`); unknown
/// currencies fall back to raw minor units.
fn money(r: &Rate) -> String {
    match nexus_core::money::Currency::parse(r.currency.trim()) {
        Ok(c) => nexus_core::money::Money::new(r.amount_minor, c).to_string(),
        Err(_) => format!("{} minor units of {}", r.amount_minor, r.currency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount_minor: i64) -> Rate {
        Rate {
            amount_minor,
            currency: "USD".into(),
        }
    }

    fn hist(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn creator() -> CreatorFeatures {
        CreatorFeatures {
            creator_id: "cr_1".into(),
            niches: vec!["fitness".into(), "cooking".into()],
            content_styles: vec!["tutorial".into()],
            bio: "Strength training and high protein meal prep".into(),
            languages: vec!["en".into()],
            country: Some("US".into()),
            audience: Audience {
                age: hist(&[("18-24", 0.5), ("25-34", 0.5)]),
                gender: hist(&[("female", 0.6), ("male", 0.4)]),
                countries: hist(&[("US", 0.8), ("CA", 0.2)]),
            },
            rate: Some(usd(40_000)),
            performance: Performance {
                completed_contracts: 12,
                on_time_rate: Some(0.9),
                first_pass_approval_rate: Some(0.8),
                avg_rating: Some(4.6),
                avg_engagement_rate: Some(0.04),
            },
            brand_safety: BrandSafety {
                flagged_items: 0,
                total_items: 120,
                disputes: 0,
            },
            reputation: 81.0,
        }
    }

    fn campaign() -> CampaignTarget {
        CampaignTarget {
            niches: vec!["fitness".into()],
            content_styles: vec!["tutorial".into()],
            brief: "Launch our protein bar with gym workout tutorials".into(),
            audience: Audience {
                age: hist(&[("18-24", 1.0)]),
                gender: BTreeMap::new(),
                countries: hist(&[("US", 0.5), ("GB", 0.5)]),
            },
            budget_per_creator: Some(usd(50_000)),
            languages: vec!["en".into()],
            countries: vec!["US".into(), "GB".into()],
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn weights_sum_to_one() {
        let sum =
            WEIGHT_AUDIENCE + WEIGHT_CONTENT + WEIGHT_PERFORMANCE + WEIGHT_BUDGET + WEIGHT_SAFETY;
        assert!(close(sum, 1.0));
        assert!(close(CONTENT_EMBEDDING_SHARE + CONTENT_NICHE_SHARE, 1.0));
    }

    #[test]
    fn total_is_the_sum_of_contributions() {
        let v = [0.6f32, 0.8];
        let s = score(&campaign(), &v, &creator(), &[0.8, 0.6]);
        let names: Vec<FactorName> = s.factors.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                FactorName::AudienceOverlap,
                FactorName::ContentSimilarity,
                FactorName::Performance,
                FactorName::BudgetFit,
                FactorName::BrandSafety
            ]
        );
        let sum: f64 = s.factors.iter().map(|f| f.contribution).sum();
        assert!((s.total - sum).abs() <= 0.05, "{} vs {sum}", s.total);
        assert!(close(s.total * 10.0, (s.total * 10.0).round()));
        for f in &s.factors {
            assert!((0.0..=1.0).contains(&f.score));
            assert!(close(f.contribution, f.weight * f.score * 100.0));
            assert!(!f.explanation.is_empty());
        }
        assert!((0.0..=100.0).contains(&s.total));
    }

    #[test]
    fn perfect_and_worst_creators_hit_the_ends() {
        let t = CampaignTarget {
            niches: vec!["fitness".into()],
            audience: Audience {
                countries: hist(&[("US", 1.0)]),
                ..Default::default()
            },
            budget_per_creator: Some(usd(100)),
            ..Default::default()
        };
        let mut best = creator();
        best.niches = vec!["fitness".into()];
        best.audience.countries = hist(&[("US", 1.0)]);
        best.performance = Performance {
            completed_contracts: 1_000_000,
            on_time_rate: Some(1.0),
            first_pass_approval_rate: Some(1.0),
            avg_rating: Some(5.0),
            avg_engagement_rate: Some(0.2),
        };
        best.rate = Some(usd(100));
        let s = score(&t, &[1.0, 0.0], &best, &[2.0, 0.0]);
        assert!(s.total > 99.9, "{s:?}");

        let mut worst = creator();
        worst.niches = vec!["gaming".into()];
        worst.audience = Audience::default();
        worst.rate = Some(usd(1_000));
        worst.brand_safety = BrandSafety {
            flagged_items: 50,
            total_items: 100,
            disputes: 9,
        };
        worst.performance = Performance {
            completed_contracts: 1_000_000,
            on_time_rate: Some(0.0),
            first_pass_approval_rate: Some(0.0),
            avg_rating: Some(1.0),
            avg_engagement_rate: Some(0.0),
        };
        let s = score(&t, &[1.0, 0.0], &worst, &[-1.0, 0.0]);
        assert!(s.total < 0.1, "{s:?}");
    }

    #[test]
    fn audience_overlap_is_histogram_intersection_averaged_over_targeted_dims() {
        // age: target 18-24 only, creator half there → 0.5
        // countries: target US/GB halves, creator US 0.8 → min(.5,.8)+min(.5,0) = 0.5
        // gender not targeted → ignored
        let (v, text) = audience_overlap(&campaign().audience, &creator().audience);
        assert!(close(v, 0.5), "{v}");
        assert_eq!(
            text,
            "50% of the target audience overlaps (age 50%, countries 50%)"
        );
    }

    #[test]
    fn audience_histograms_are_normalised_and_keys_case_insensitive() {
        let t = Audience {
            countries: hist(&[("us", 2.0), ("gb", 2.0)]),
            ..Default::default()
        };
        let c = Audience {
            countries: hist(&[("US", 30.0), ("GB", 30.0), ("DE", -5.0)]),
            ..Default::default()
        };
        assert!(close(audience_overlap(&t, &c).0, 1.0));
    }

    #[test]
    fn no_audience_target_is_neutral() {
        let (v, text) = audience_overlap(&Audience::default(), &creator().audience);
        assert_eq!(v, NEUTRAL);
        assert!(text.contains("no audience target"), "{text}");
    }

    #[test]
    fn missing_creator_audience_scores_zero_on_that_dimension() {
        let c = Audience {
            age: hist(&[("18-24", 1.0)]),
            ..Default::default()
        };
        let (v, text) = audience_overlap(&campaign().audience, &c);
        assert!(close(v, 0.5), "age 1.0, countries 0 → {v}");
        assert!(text.contains("countries: no creator data"), "{text}");
    }

    #[test]
    fn target_countries_stand_in_for_an_empty_country_distribution() {
        let mut t = campaign();
        t.audience.countries.clear();
        t.countries = vec!["CA".into()];
        let a = target_audience(&t);
        assert_eq!(a.countries, hist(&[("CA", 1.0)]));
        t.countries.clear();
        assert!(target_audience(&t).countries.is_empty());
    }

    #[test]
    fn content_blends_cosine_and_niche_coverage() {
        let t = campaign();
        let c = creator();
        // cosine 1, covers fitness (1 of 1) → 1.0
        let (v, text) = content_similarity(&t, &[1.0, 0.0], &c, &[3.0, 0.0]);
        assert!(close(v, 1.0), "{v}");
        assert!(
            text.contains("covers 1 of 1 campaign niches (shares fitness)"),
            "{text}"
        );
        // orthogonal texts, niche covered → 0.5
        let (v, _) = content_similarity(&t, &[1.0, 0.0], &c, &[0.0, 1.0]);
        assert!(close(v, 0.5));
        // opposite texts clamp to 0, no niche → 0
        let mut other = c.clone();
        other.niches = vec!["Gaming".into()];
        let (v, text) = content_similarity(&t, &[1.0, 0.0], &other, &[-1.0, 0.0]);
        assert!(close(v, 0.0));
        assert!(text.contains("no shared niche"), "{text}");
        // case-insensitive niches, half covered
        let mut two = t.clone();
        two.niches = vec!["FITNESS".into(), "travel".into()];
        let (v, _) = content_similarity(&two, &[1.0, 0.0], &c, &[0.0, 1.0]);
        assert!(close(v, 0.25));
    }

    #[test]
    fn content_without_campaign_niches_or_vectors() {
        let mut t = campaign();
        t.niches.clear();
        let (v, text) = content_similarity(&t, &[0.6, 0.8], &creator(), &[0.6, 0.8]);
        assert!((v - 1.0).abs() < 1e-6);
        assert!(text.contains("lists no niches"));
        // mismatched or empty vectors contribute nothing
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), None);
        assert_eq!(cosine(&[], &[]), None);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), None);
        let (v, _) = content_similarity(&campaign(), &[], &creator(), &[]);
        assert!(close(v, 0.5));
    }

    #[test]
    fn no_history_is_neutral() {
        let (v, text) = performance(&Performance::default());
        assert_eq!(v, NEUTRAL);
        assert!(text.contains("No delivery history"), "{text}");
    }

    #[test]
    fn observations_are_shrunk_towards_neutral_by_contract_count() {
        let p = |n| Performance {
            completed_contracts: n,
            on_time_rate: Some(1.0),
            first_pass_approval_rate: Some(1.0),
            avg_rating: Some(5.0),
            avg_engagement_rate: Some(0.06),
        };
        assert!(close(performance(&p(0)).0, 0.5));
        assert!(close(performance(&p(3)).0, 0.75)); // (3·1 + 3·0.5) / 6
        assert!(close(performance(&p(27)).0, 0.95)); // (27 + 1.5) / 30
        let bad = Performance {
            completed_contracts: 3,
            on_time_rate: Some(0.0),
            avg_rating: Some(1.0),
            ..Default::default()
        };
        assert!(close(performance(&bad).0, 0.25));
    }

    #[test]
    fn performance_components_are_normalised_and_clamped() {
        let p = Performance {
            completed_contracts: 1_000_000,
            on_time_rate: Some(1.7),
            first_pass_approval_rate: Some(f64::NAN),
            avg_rating: Some(3.0),           // → 0.5
            avg_engagement_rate: Some(0.03), // → 0.5
        };
        // mean of 1.0, 0.5, 0.5 (NaN ignored)
        assert!((performance(&p).0 - 2.0 / 3.0).abs() < 1e-5);
    }

    #[test]
    fn budget_fit_edges() {
        assert_eq!(budget_fit(None, Some(&usd(10))).0, NEUTRAL);
        assert_eq!(budget_fit(Some(&usd(10)), None).0, NEUTRAL);
        assert_eq!(budget_fit(Some(&usd(10)), Some(&usd(-5))).0, NEUTRAL);
        assert_eq!(budget_fit(Some(&usd(50_000)), Some(&usd(50_000))).0, 1.0);
        assert_eq!(budget_fit(Some(&usd(50_000)), Some(&usd(1))).0, 1.0);
        let (v, text) = budget_fit(Some(&usd(50_000)), Some(&usd(60_000)));
        assert!(close(v, 0.8));
        assert_eq!(text, "Rate 600.00 USD is 20% over the budget of 500.00 USD");
        assert_eq!(budget_fit(Some(&usd(50_000)), Some(&usd(150_000))).0, 0.0);
        assert_eq!(budget_fit(Some(&usd(0)), Some(&usd(1))).0, 0.0);
        assert_eq!(budget_fit(Some(&usd(0)), Some(&usd(0))).0, 1.0);
    }

    #[test]
    fn currency_mismatch_scores_zero() {
        let eur = Rate {
            amount_minor: 100,
            currency: "EUR".into(),
        };
        let (v, text) = budget_fit(Some(&usd(50_000)), Some(&eur));
        assert_eq!(v, 0.0);
        assert!(text.contains("not comparable"), "{text}");
        let lower = Rate {
            amount_minor: 100,
            currency: "usd".into(),
        };
        assert_eq!(budget_fit(Some(&usd(50_000)), Some(&lower)).0, 1.0);
    }

    #[test]
    fn brand_safety_penalties() {
        let s = |flagged_items, total_items, disputes| {
            brand_safety(&BrandSafety {
                flagged_items,
                total_items,
                disputes,
            })
            .0
        };
        assert_eq!(s(0, 0, 0), 1.0);
        assert!(close(s(2, 100, 0), 0.9)); // 2 % flagged × 5
        assert!(close(s(0, 100, 1), 0.85));
        assert!(close(s(0, 100, 10), 0.4)); // dispute penalty capped at 0.6
        assert_eq!(s(20, 100, 0), 0.0); // 20 % flagged
        assert_eq!(s(3, 0, 0), 0.0); // flags without a total
        assert!(close(s(1, 100, 3), 0.5)); // 1 % × 5 + 3 × 0.15
        let (_, text) = brand_safety(&BrandSafety {
            flagged_items: 3,
            total_items: 60,
            disputes: 1,
        });
        assert_eq!(text, "3 of 60 moderated items flagged (5%), 1 dispute");
    }

    #[test]
    fn texts_join_niches_styles_and_free_text() {
        assert_eq!(
            creator_text(&creator()),
            "fitness cooking tutorial Strength training and high protein meal prep"
        );
        assert_eq!(campaign_text(&CampaignTarget::default()), "");
    }

    #[test]
    fn money_uses_the_currency_exponent() {
        let jpy = Rate {
            amount_minor: 1500,
            currency: "JPY".into(),
        };
        assert_eq!(money(&jpy), "1500 JPY");
        let odd = Rate {
            amount_minor: 7,
            currency: "XYZ".into(),
        };
        assert_eq!(money(&odd), "7 minor units of XYZ");
    }

    #[test]
    fn scores_serialise_camel_case() {
        let s = score(&campaign(), &[1.0], &creator(), &[1.0]);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["factors"][0]["name"], "audienceOverlap");
        assert_eq!(json["factors"][3]["name"], "budgetFit");
        let c: CreatorFeatures = serde_json::from_value(serde_json::json!({
            "creatorId": "cr_9",
            "brandSafety": {"flaggedItems": 1, "totalItems": 10, "disputes": 0}
        }))
        .unwrap();
        assert_eq!(c.brand_safety.flagged_items, 1);
    }
}
