//! A seeded, labelled evaluation set and NDCG@k.
//!
//! Campaigns and candidate creators are generated from a fixed seed with
//! ChaCha8 (stable across platforms and `rand` versions). Each candidate's
//! graded relevance (0–3) comes from [`label`]: plain business rules written
//! without reference to the scorer's formulas or weights (see
//! `docs/matching.md`). The labels must never be adjusted to suit the scorer.

use std::collections::BTreeMap;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::embed::{EmbedError, Embedder};
use crate::model::{Audience, BrandSafety, CampaignTarget, CreatorFeatures, Performance, Rate};
use crate::score::{campaign_text, cosine, creator_text};

pub const DEFAULT_SEED: u64 = 20_261_101;
pub const DEFAULT_CAMPAIGNS: usize = 20;
pub const DEFAULT_CANDIDATES: usize = 200;
/// Shuffles averaged for the random baseline.
const RANDOM_BASELINE_RUNS: u64 = 20;

/// The whole set: what `--json` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalSet {
    pub seed: u64,
    pub campaigns: Vec<EvalCampaign>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalCampaign {
    pub campaign_id: String,
    pub target: CampaignTarget,
    pub candidates: Vec<LabelledCreator>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelledCreator {
    pub creator: CreatorFeatures,
    /// Graded relevance 0..3 from [`label`].
    pub label: u8,
    /// Which rule gave the label, for people reading the set.
    pub rule: String,
}

// ---------------------------------------------------------------- labels

/// The labelling rules, as a recruiter would state them:
///
/// * **0, unsafe**: more than 1 in 20 moderated items flagged (or flags with
///   no moderated total), or two or more disputes. Never recommend.
/// * **3, ideal**: works in one of the campaign's niches, its biggest
///   audience country is a target country, its rate is within budget, and it
///   has never had a dispute.
/// * **2, good**: works in a campaign niche and meets two of: audience
///   country on target, within budget, proven delivery.
/// * **1, plausible**: works in a campaign niche, or has a strong audience
///   match (audience country on target and its biggest age band among the
///   campaign's two biggest).
/// * **0**: otherwise.
///
/// Definitions: *within budget* = the campaign has no budget, or the rate is
/// known, in the budget's currency and not above it. *Proven delivery* = at
/// least 3 completed contracts, on-time rate ≥ 80 % and, if rated, a rating
/// ≥ 4. A campaign with no target countries accepts any audience country.
pub fn label(target: &CampaignTarget, c: &CreatorFeatures) -> (u8, &'static str) {
    let s = &c.brand_safety;
    let unsafe_flags =
        s.flagged_items > 0 && (s.total_items == 0 || s.flagged_items * 20 > s.total_items);
    if unsafe_flags || s.disputes >= 2 {
        return (0, "unsafe");
    }
    let niche = c
        .niches
        .iter()
        .any(|n| target.niches.iter().any(|t| t.eq_ignore_ascii_case(n)));
    let country = target.countries.is_empty()
        || top_key(&c.audience.countries)
            .is_some_and(|top| target.countries.iter().any(|t| t.eq_ignore_ascii_case(top)));
    let budget = match (&target.budget_per_creator, &c.rate) {
        (None, _) => true,
        (Some(b), Some(r)) => b.currency == r.currency && r.amount_minor <= b.amount_minor,
        (Some(_), None) => false,
    };
    let p = &c.performance;
    let proven = p.completed_contracts >= 3
        && p.on_time_rate.is_some_and(|r| r >= 0.8)
        && p.avg_rating.is_none_or(|r| r >= 4.0);
    let age = top_two_keys(&target.audience.age);
    let age_ok = age.is_empty() || top_key(&c.audience.age).is_some_and(|a| age.contains(&a));

    if niche && country && budget && s.disputes == 0 {
        (
            3,
            "ideal: niche, audience country, within budget, no disputes",
        )
    } else if niche && [country, budget, proven].iter().filter(|x| **x).count() >= 2 {
        (
            2,
            "good: niche and two of audience country, budget, proven delivery",
        )
    } else if niche {
        (1, "plausible: niche only")
    } else if country && age_ok && !target.countries.is_empty() {
        (1, "plausible: strong audience match")
    } else {
        (0, "not relevant")
    }
}

fn top_key(h: &BTreeMap<String, f64>) -> Option<&str> {
    h.iter()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .max_by(|a, b| a.1.total_cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(k, _)| k.as_str())
}

fn top_two_keys(h: &BTreeMap<String, f64>) -> Vec<&str> {
    let mut v: Vec<(&String, &f64)> = h.iter().filter(|(_, v)| **v > 0.0).collect();
    v.sort_by(|a, b| b.1.total_cmp(a.1).then_with(|| a.0.cmp(b.0)));
    v.into_iter().take(2).map(|(k, _)| k.as_str()).collect()
}

// ---------------------------------------------------------------- NDCG

/// NDCG@k of a ranking given the graded labels in ranked order:
/// `DCG@k = Σ_{i=1..k} (2^rel_i − 1) / log2(i + 1)`, divided by the DCG@k of
/// the same labels sorted best first. 0 when no item is relevant.
pub fn ndcg_at_k(ranked_labels: &[u8], k: usize) -> f64 {
    let dcg = |labels: &[u8]| -> f64 {
        labels
            .iter()
            .take(k)
            .enumerate()
            .map(|(i, rel)| (2f64.powi(i32::from(*rel)) - 1.0) / ((i + 2) as f64).log2())
            .sum()
    };
    let mut ideal = ranked_labels.to_vec();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg = dcg(&ideal);
    if idcg == 0.0 {
        0.0
    } else {
        dcg(ranked_labels) / idcg
    }
}

// ---------------------------------------------------------------- evaluation

/// Mean NDCG@k of the matcher and of baselines over a set.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    pub k: usize,
    pub embedder: String,
    /// [`crate::rank`]: the full score.
    pub ours: f64,
    /// Cosine of the embeddings alone.
    pub embedding_only: f64,
    /// Number of shared niches alone (ties by creator id).
    pub niche_only: f64,
    /// Reputation alone, highest first.
    pub reputation_only: f64,
    /// Random order, averaged over several seeded shuffles.
    pub random: f64,
    pub per_campaign: Vec<CampaignReport>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignReport {
    pub campaign_id: String,
    /// Candidates per label 0, 1, 2, 3.
    pub label_counts: [usize; 4],
    pub ours: f64,
    pub reputation_only: f64,
    pub random: f64,
}

/// Ranks every campaign's candidates with [`crate::rank`] and the baselines.
pub async fn evaluate(
    set: &EvalSet,
    embedder: &dyn Embedder,
    k: usize,
) -> Result<EvalReport, EmbedError> {
    let mut per_campaign = Vec::new();
    let (mut emb, mut niche) = (0.0, 0.0);
    for (ci, c) in set.campaigns.iter().enumerate() {
        let creators: Vec<CreatorFeatures> =
            c.candidates.iter().map(|l| l.creator.clone()).collect();
        let labels: BTreeMap<&str, u8> = c
            .candidates
            .iter()
            .map(|l| (l.creator.creator_id.as_str(), l.label))
            .collect();
        let labels_of = |ids: &[&str]| -> Vec<u8> { ids.iter().map(|id| labels[id]).collect() };

        let ranked = crate::rank(&c.target, &creators, embedder).await?;
        let ours = ndcg_at_k(
            &labels_of(&ranked.iter().map(|r| r.0.as_str()).collect::<Vec<_>>()),
            k,
        );

        let by = |key: &dyn Fn(&CreatorFeatures) -> f64| -> Vec<u8> {
            let mut v: Vec<&CreatorFeatures> = creators.iter().collect();
            v.sort_by(|a, b| {
                key(b)
                    .total_cmp(&key(a))
                    .then_with(|| a.creator_id.cmp(&b.creator_id))
            });
            labels_of(&v.iter().map(|c| c.creator_id.as_str()).collect::<Vec<_>>())
        };
        let reputation_only = ndcg_at_k(&by(&|c| c.reputation), k);
        niche += ndcg_at_k(
            &by(&|cr| {
                cr.niches
                    .iter()
                    .filter(|n| c.target.niches.iter().any(|t| t.eq_ignore_ascii_case(n)))
                    .count() as f64
            }),
            k,
        );
        let tv = embedder.embed(&[campaign_text(&c.target)]).await?;
        let texts: Vec<String> = creators.iter().map(creator_text).collect();
        let vecs = embedder.embed(&texts).await?;
        let cos: BTreeMap<&str, f64> = creators
            .iter()
            .zip(&vecs)
            .map(|(cr, v)| (cr.creator_id.as_str(), cosine(&tv[0], v).unwrap_or(0.0)))
            .collect();
        emb += ndcg_at_k(&by(&|cr| cos[cr.creator_id.as_str()]), k);

        let mut random = 0.0;
        for run in 0..RANDOM_BASELINE_RUNS {
            let mut rng = ChaCha8Rng::seed_from_u64(set.seed ^ ((ci as u64) << 16) ^ run);
            let mut ids: Vec<&str> = creators.iter().map(|c| c.creator_id.as_str()).collect();
            ids.shuffle(&mut rng);
            random += ndcg_at_k(&labels_of(&ids), k);
        }
        let mut label_counts = [0; 4];
        for l in &c.candidates {
            label_counts[usize::from(l.label.min(3))] += 1;
        }
        per_campaign.push(CampaignReport {
            campaign_id: c.campaign_id.clone(),
            label_counts,
            ours,
            reputation_only,
            random: random / RANDOM_BASELINE_RUNS as f64,
        });
    }
    let n = per_campaign.len().max(1) as f64;
    let mean = |f: fn(&CampaignReport) -> f64| per_campaign.iter().map(f).sum::<f64>() / n;
    Ok(EvalReport {
        k,
        embedder: embedder.name().into(),
        ours: mean(|c| c.ours),
        embedding_only: emb / n,
        niche_only: niche / n,
        reputation_only: mean(|c| c.reputation_only),
        random: mean(|c| c.random),
        per_campaign,
    })
}

// ---------------------------------------------------------------- generation

const NICHES: &[(&str, &[&str])] = &[
    (
        "fitness",
        &[
            "workout", "gym", "strength", "training", "hiit", "protein", "mobility", "running",
        ],
    ),
    (
        "skincare",
        &[
            "serum",
            "moisturiser",
            "spf",
            "acne",
            "routine",
            "glow",
            "retinol",
            "cleanser",
        ],
    ),
    (
        "gaming",
        &[
            "esports",
            "fps",
            "console",
            "speedrun",
            "streamer",
            "rpg",
            "controller",
            "patch",
        ],
    ),
    (
        "cooking",
        &[
            "recipes", "meal", "prep", "kitchen", "baking", "vegan", "dinner", "spices",
        ],
    ),
    (
        "travel",
        &[
            "itinerary",
            "flights",
            "backpacking",
            "hostel",
            "city",
            "beaches",
            "passport",
            "roadtrip",
        ],
    ),
    (
        "fashion",
        &[
            "outfit",
            "streetwear",
            "lookbook",
            "thrift",
            "denim",
            "sneakers",
            "styling",
            "capsule",
        ],
    ),
    (
        "tech",
        &[
            "gadgets",
            "smartphone",
            "laptop",
            "specs",
            "battery",
            "software",
            "setup",
            "benchmark",
        ],
    ),
    (
        "parenting",
        &[
            "toddler", "family", "kids", "bedtime", "school", "baby", "parents", "routine",
        ],
    ),
    (
        "finance",
        &[
            "budgeting",
            "investing",
            "savings",
            "stocks",
            "debt",
            "retirement",
            "credit",
            "index",
        ],
    ),
    (
        "pets",
        &[
            "dog", "cat", "puppy", "training", "vet", "treats", "adoption", "grooming",
        ],
    ),
    (
        "music",
        &[
            "guitar", "producer", "beats", "vocals", "concert", "playlist", "synth", "cover",
        ],
    ),
    (
        "outdoors",
        &[
            "hiking",
            "camping",
            "trail",
            "gear",
            "climbing",
            "kayak",
            "summit",
            "wilderness",
        ],
    ),
];
const STYLES: &[&str] = &[
    "tutorial",
    "review",
    "vlog",
    "unboxing",
    "comedy",
    "storytelling",
    "short-form",
    "livestream",
];
const COUNTRIES: &[(&str, &str)] = &[
    ("US", "en"),
    ("GB", "en"),
    ("DE", "de"),
    ("FR", "fr"),
    ("ES", "es"),
    ("IT", "it"),
    ("BR", "pt"),
    ("MX", "es"),
    ("IN", "en"),
    ("JP", "ja"),
    ("CA", "en"),
    ("AU", "en"),
];
const AGE_BANDS: [&str; 6] = ["13-17", "18-24", "25-34", "35-44", "45-54", "55+"];
const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];
const CREATOR_FILLER: &[&str] = &[
    "creator",
    "sharing",
    "honest",
    "daily",
    "content",
    "community",
    "weekly",
    "videos",
    "tips",
];
const BRIEF_FILLER: &[&str] = &[
    "drive awareness",
    "authentic content",
    "launch",
    "conversions",
    "new collection",
    "limited offer",
    "brand story",
    "engagement",
];

/// Generates the default set: [`DEFAULT_CAMPAIGNS`] campaigns ×
/// [`DEFAULT_CANDIDATES`] candidates from [`DEFAULT_SEED`].
pub fn default_set() -> EvalSet {
    generate(DEFAULT_SEED, DEFAULT_CAMPAIGNS, DEFAULT_CANDIDATES)
}

/// Deterministic for a given `(seed, campaigns, candidates)`.
pub fn generate(seed: u64, campaigns: usize, candidates: usize) -> EvalSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let campaigns = (0..campaigns)
        .map(|ci| {
            let target = gen_campaign(&mut rng);
            let candidates = (0..candidates)
                .map(|i| {
                    let creator = gen_creator(&mut rng, &target, format!("cr_{ci:02}_{i:03}"));
                    let (label, rule) = label(&target, &creator);
                    LabelledCreator {
                        creator,
                        label,
                        rule: rule.into(),
                    }
                })
                .collect();
            EvalCampaign {
                campaign_id: format!("cmp_{ci:02}"),
                target,
                candidates,
            }
        })
        .collect();
    EvalSet { seed, campaigns }
}

/// A random-sized random selection, without repeats, from `items`.
fn some<'a, T>(
    rng: &mut ChaCha8Rng,
    items: &'a [T],
    count: std::ops::RangeInclusive<usize>,
) -> impl Iterator<Item = &'a T> {
    let n = rng.random_range(count);
    items.choose_multiple(rng, n)
}

fn keywords(niche: &str) -> &'static [&'static str] {
    NICHES
        .iter()
        .find(|(n, _)| *n == niche)
        .map(|(_, k)| *k)
        .unwrap_or(&[])
}

fn pick_niches(rng: &mut ChaCha8Rng, n: usize) -> Vec<String> {
    NICHES
        .choose_multiple(rng, n)
        .map(|(n, _)| (*n).to_string())
        .collect()
}

fn gen_campaign(rng: &mut ChaCha8Rng) -> CampaignTarget {
    let niches = {
        let n = rng.random_range(1..=2);
        pick_niches(rng, n)
    };
    let content_styles: Vec<String> = some(rng, STYLES, 1..=2).map(|s| (*s).to_string()).collect();
    let mut words: Vec<&str> = Vec::new();
    for n in &niches {
        words.extend(keywords(n).choose_multiple(rng, 4));
    }
    words.extend(BRIEF_FILLER.choose_multiple(rng, 2));
    words.shuffle(rng);
    let brief = format!(
        "Objective: {} with {}. Key messages: {}.",
        words[0],
        words[1],
        words[2..].join(", ")
    );
    let countries: Vec<String> = some(rng, COUNTRIES, 1..=3)
        .map(|(c, _)| (*c).to_string())
        .collect();
    let mut languages: Vec<String> = countries.iter().map(|c| language_of(c).into()).collect();
    languages.dedup();
    let mut audience = Audience::default();
    if rng.random_bool(0.75) {
        audience.age = {
            let n = rng.random_range(0..AGE_BANDS.len());
            peaked_ages(rng, n)
        };
    }
    if rng.random_bool(0.5) {
        let f: f64 = rng.random_range(0.2..0.9);
        audience.gender = [("female", f), ("male", 1.0 - f)]
            .map(|(k, v)| (k.to_string(), round3(v)))
            .into();
    }
    if rng.random_bool(0.5) {
        audience.countries = countries
            .iter()
            .map(|c| (c.clone(), round3(rng.random_range(0.5..1.5))))
            .collect();
    }
    let currency = CURRENCIES[rng.random_range(0..CURRENCIES.len())];
    let budget_per_creator = rng.random_bool(0.9).then(|| Rate {
        amount_minor: rng.random_range(30..=300) * 1000,
        currency: currency.into(),
    });
    CampaignTarget {
        niches,
        content_styles,
        brief,
        audience,
        budget_per_creator,
        languages,
        countries,
    }
}

fn gen_creator(rng: &mut ChaCha8Rng, target: &CampaignTarget, id: String) -> CreatorFeatures {
    // Candidate pools are loosely pre-filtered: some share a campaign niche or
    // live in a target country more often than chance.
    let mut niches = {
        let n = rng.random_range(1..=3);
        pick_niches(rng, n)
    };
    if rng.random_bool(0.3) {
        if let Some(n) = target.niches.choose(rng) {
            if !niches.contains(n) {
                niches[0] = n.clone();
            }
        }
    }
    let content_styles: Vec<String> = some(rng, STYLES, 1..=3).map(|s| (*s).to_string()).collect();
    let mut words: Vec<&str> = Vec::new();
    for n in &niches {
        words.extend(some(rng, keywords(n), 2..=4));
    }
    // Side interests: some bios mention another niche's vocabulary, sometimes
    // the campaign's, without the creator working in it.
    if rng.random_bool(0.25) {
        let side = if rng.random_bool(0.5) {
            target.niches.choose(rng).cloned()
        } else {
            NICHES.choose(rng).map(|(n, _)| (*n).to_string())
        };
        if let Some(side) = side {
            words.extend(keywords(&side).choose_multiple(rng, 2));
        }
    }
    words.extend(some(rng, CREATOR_FILLER, 1..=3));
    words.shuffle(rng);
    let bio = words.join(" ");

    let country = if rng.random_bool(0.35) && !target.countries.is_empty() {
        target.countries.choose(rng).cloned().unwrap_or_default()
    } else {
        COUNTRIES[rng.random_range(0..COUNTRIES.len())]
            .0
            .to_string()
    };
    let mut countries = BTreeMap::new();
    let home = rng.random_range(0.35..0.8);
    countries.insert(country.clone(), round3(home));
    let abroad: Vec<&str> = COUNTRIES
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| *c != country)
        .collect();
    let others: Vec<&str> = some(rng, &abroad, 1..=3).copied().collect();
    let mut rest = 1.0 - home;
    for (i, c) in others.iter().enumerate() {
        let share = if i + 1 == others.len() {
            rest
        } else {
            rest * rng.random_range(0.2..0.6)
        };
        rest -= share;
        // The home country stays the biggest audience country.
        countries.insert((*c).to_string(), round3(share.min(home - 0.01)));
    }
    let f: f64 = rng.random_range(0.1..0.9);
    let o: f64 = rng.random_range(0.0..0.05);
    let audience = Audience {
        age: {
            let n = rng.random_range(0..AGE_BANDS.len());
            peaked_ages(rng, n)
        },
        gender: [
            ("female", f * (1.0 - o)),
            ("male", (1.0 - f) * (1.0 - o)),
            ("other", o),
        ]
        .map(|(k, v)| (k.to_string(), round3(v)))
        .into(),
        countries,
    };

    let reference = target
        .budget_per_creator
        .as_ref()
        .map_or(100_000.0, |b| b.amount_minor as f64);
    let rate = rng.random_bool(0.92).then(|| {
        let factor = (rng.random_range(0.3f64.ln()..2.5f64.ln())).exp();
        let currency = match &target.budget_per_creator {
            Some(b) if rng.random_bool(0.9) => b.currency.clone(),
            _ => CURRENCIES[rng.random_range(0..CURRENCIES.len())].into(),
        };
        Rate {
            amount_minor: ((reference * factor / 500.0).round() as i64).max(1) * 500,
            currency,
        }
    });

    let quality: f64 = rng.random_range(0.3..1.0);
    let completed_contracts = if rng.random_bool(0.3) {
        0
    } else {
        let u: f64 = rng.random();
        (u * u * 40.0) as u32 + 1
    };
    let mut noisy = |base: f64| (base + rng.random_range(-0.15..0.15)).clamp(0.0, 1.0);
    let (on_time, first_pass, rating) = if completed_contracts == 0 {
        (None, None, None)
    } else {
        (
            Some(round3(noisy(quality + 0.05))),
            Some(round3(noisy(quality - 0.1))),
            Some(round3(1.0 + 4.0 * noisy(quality))),
        )
    };
    let performance = Performance {
        completed_contracts,
        on_time_rate: on_time.filter(|_| rng.random_bool(0.9)),
        first_pass_approval_rate: first_pass.filter(|_| rng.random_bool(0.85)),
        avg_rating: rating.filter(|_| rng.random_bool(0.85)),
        avg_engagement_rate: rng
            .random_bool(0.85)
            .then(|| round3(rng.random_range(0.005..0.09))),
    };

    let total_items = rng.random_range(0..300u32);
    let flagged_items = if rng.random_bool(0.12) {
        rng.random_range(1..=(total_items / 5).max(2))
    } else {
        0
    };
    let disputes = if rng.random_bool(0.1) {
        rng.random_range(1..=3)
    } else {
        0
    };
    let reputation = (40.0
        + 50.0 * quality
        + rng.random_range(-10.0..10.0)
        + if completed_contracts > 10 { 10.0 } else { 0.0 })
    .clamp(0.0, 100.0);

    CreatorFeatures {
        creator_id: id,
        niches,
        content_styles,
        bio,
        languages: vec![language_of(&country).into()],
        country: Some(country),
        audience,
        rate,
        performance,
        brand_safety: BrandSafety {
            flagged_items,
            total_items,
            disputes,
        },
        reputation: (reputation * 10.0).round() / 10.0,
    }
}

fn language_of(country: &str) -> &'static str {
    COUNTRIES
        .iter()
        .find(|(c, _)| *c == country)
        .map_or("en", |(_, l)| l)
}

/// An age histogram (summing to 1) peaked at `peak`, falling off with distance.
fn peaked_ages(rng: &mut ChaCha8Rng, peak: usize) -> BTreeMap<String, f64> {
    let raw: Vec<f64> = (0..AGE_BANDS.len())
        .map(|i| {
            let base = match i.abs_diff(peak) {
                0 => 1.0,
                1 => 0.4,
                2 => 0.1,
                _ => 0.02,
            };
            base * rng.random_range(0.7..1.3)
        })
        .collect();
    let sum: f64 = raw.iter().sum();
    AGE_BANDS
        .iter()
        .zip(raw)
        .map(|(band, v)| ((*band).to_string(), round3(v / sum)))
        .collect()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_of_a_perfect_ranking_is_one() {
        assert!((ndcg_at_k(&[3, 2, 2, 1, 0, 0], 10) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ndcg_matches_a_hand_computation() {
        // DCG = (2^1-1)/log2(2) + (2^3-1)/log2(3) + 0 = 1 + 7/1.58496 = 5.41650
        // IDCG = 7/1 + 1/log2(3) = 7.63093
        let v = ndcg_at_k(&[1, 3, 0], 3);
        assert!((v - 5.416_508 / 7.630_930).abs() < 1e-5, "{v}");
    }

    #[test]
    fn ndcg_cuts_at_k_and_handles_no_relevance() {
        assert_eq!(ndcg_at_k(&[0, 0, 0, 3], 3), 0.0);
        assert_eq!(ndcg_at_k(&[0, 0, 0], 10), 0.0);
        assert_eq!(ndcg_at_k(&[], 10), 0.0);
    }

    #[test]
    fn generation_is_deterministic_and_sized() {
        let a = generate(7, 3, 50);
        let b = generate(7, 3, 50);
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        assert_eq!(a.campaigns.len(), 3);
        assert!(a.campaigns.iter().all(|c| c.candidates.len() == 50));
        assert_ne!(
            serde_json::to_string(&generate(8, 3, 50)).unwrap(),
            serde_json::to_string(&a).unwrap()
        );
    }

    #[test]
    fn default_set_has_every_grade() {
        let set = default_set();
        let mut counts = [0usize; 4];
        for c in &set.campaigns {
            for l in &c.candidates {
                counts[usize::from(l.label)] += 1;
            }
        }
        assert!(counts.iter().all(|n| *n > 0), "{counts:?}");
    }

    fn creator() -> CreatorFeatures {
        CreatorFeatures {
            creator_id: "c".into(),
            niches: vec!["Fitness".into()],
            content_styles: vec![],
            bio: String::new(),
            languages: vec![],
            country: Some("US".into()),
            audience: Audience {
                countries: [("US".to_string(), 0.7), ("CA".to_string(), 0.3)].into(),
                ..Default::default()
            },
            rate: Some(Rate {
                amount_minor: 50_000,
                currency: "USD".into(),
            }),
            performance: Performance::default(),
            brand_safety: BrandSafety::default(),
            reputation: 50.0,
        }
    }

    fn campaign() -> CampaignTarget {
        CampaignTarget {
            niches: vec!["fitness".into()],
            countries: vec!["US".into()],
            budget_per_creator: Some(Rate {
                amount_minor: 60_000,
                currency: "USD".into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn label_rules() {
        let t = campaign();
        let c = creator();
        assert_eq!(label(&t, &c).0, 3);

        let mut one_dispute = c.clone();
        one_dispute.brand_safety.disputes = 1;
        assert_eq!(label(&t, &one_dispute).0, 2, "niche + country + budget");

        let mut two_disputes = c.clone();
        two_disputes.brand_safety.disputes = 2;
        assert_eq!(label(&t, &two_disputes), (0, "unsafe"));

        let mut flagged = c.clone();
        flagged.brand_safety = BrandSafety {
            flagged_items: 6,
            total_items: 100,
            disputes: 0,
        };
        assert_eq!(label(&t, &flagged).0, 0);
        flagged.brand_safety.flagged_items = 5;
        assert_eq!(label(&t, &flagged).0, 3, "exactly 1 in 20 is tolerated");

        let mut pricey_foreign = c.clone();
        pricey_foreign.rate.as_mut().unwrap().amount_minor = 90_000;
        pricey_foreign.audience.countries = [("DE".to_string(), 1.0)].into();
        assert_eq!(label(&t, &pricey_foreign).0, 1, "niche only");
        pricey_foreign.performance = Performance {
            completed_contracts: 5,
            on_time_rate: Some(0.9),
            avg_rating: Some(4.5),
            ..Default::default()
        };
        assert_eq!(
            label(&t, &pricey_foreign).0,
            1,
            "niche + proven is one of two"
        );

        let mut off_niche = c.clone();
        off_niche.niches = vec!["gaming".into()];
        assert_eq!(label(&t, &off_niche).0, 1, "strong audience match");
        off_niche.audience.countries = [("DE".to_string(), 1.0)].into();
        assert_eq!(label(&t, &off_niche).0, 0);

        let mut no_rate = c;
        no_rate.rate = None;
        assert_eq!(
            label(&t, &no_rate).0,
            1,
            "unknown rate is not within budget"
        );
    }
}
