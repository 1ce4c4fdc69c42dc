//! A second labelled set whose relevance depends on what the brief and the
//! bios are *about*, so the text-similarity factor is what must find it, and
//! an ablation: NDCG with each factor taken out of the total.
//!
//! In [`text_set`] every candidate of a campaign lists the campaign's niche,
//! has exactly the target audience, a rate within budget, no history and no
//! flags: every factor but content similarity scores the same for all of
//! them. What differs is the bio. Each campaign is about one *topic* of its
//! niche (marathon training, acne care, vegan baking, …); each creator
//! covers one topic, and that hidden topic alone decides the label:
//!
//! * **2**: covers the campaign's topic;
//! * **1**: covers another topic of the same niche;
//! * **0**: covers a topic of another niche (while listing the campaign's
//!   niche, so niche overlap can't tell).
//!
//! A bio says what its creator covers either in the words a brief on that
//! topic uses ([`Wording::Shared`]) or in other words with the same meaning
//! ([`Wording::Paraphrased`]). The labels never look at the words; the
//! scorer sees only the words. A lexical stand-in (the offline
//! `LocalHashingVectoriser`) can only find the first kind; telling the two
//! apart measures how much a semantic embedder must add.

use std::collections::BTreeMap;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::embed::{EmbedError, Embedder};
use crate::eval::{ndcg_at_k, EvalCampaign, EvalSet, LabelledCreator};
use crate::model::{Audience, CampaignTarget, CreatorFeatures, FactorName, Rate};

/// One topic: the words a brief on it uses, and other words for the same.
struct Topic {
    niche: &'static str,
    name: &'static str,
    words: &'static [&'static str],
    paraphrase: &'static [&'static str],
}

const TOPICS: &[Topic] = &[
    Topic {
        niche: "fitness",
        name: "marathon training",
        words: &["marathon", "long runs", "race pace", "taper", "mileage"],
        paraphrase: &[
            "endurance",
            "forty two kilometres",
            "distance running",
            "event day",
            "training volume",
        ],
    },
    Topic {
        niche: "fitness",
        name: "kettlebell strength",
        words: &["kettlebell", "swings", "deadlift", "strength", "grip"],
        paraphrase: &["iron", "lifting heavy", "power", "barbell", "muscle"],
    },
    Topic {
        niche: "fitness",
        name: "yoga mobility",
        words: &["yoga", "flexibility", "stretching", "mobility", "poses"],
        paraphrase: &["asanas", "limber", "flow", "breathwork", "supple joints"],
    },
    Topic {
        niche: "skincare",
        name: "acne care",
        words: &["acne", "breakouts", "salicylic", "pores", "pimples"],
        paraphrase: &[
            "blemishes",
            "spots",
            "clear complexion",
            "oily skin",
            "congestion",
        ],
    },
    Topic {
        niche: "skincare",
        name: "anti-ageing",
        words: &["retinol", "wrinkles", "ageing", "collagen", "firmness"],
        paraphrase: &[
            "fine lines",
            "youthful",
            "mature skin",
            "elasticity",
            "crow's feet",
        ],
    },
    Topic {
        niche: "skincare",
        name: "sun protection",
        words: &["sunscreen", "spf", "uv", "sunburn", "sun damage"],
        paraphrase: &["daylight care", "rays", "shade", "burning", "daily shield"],
    },
    Topic {
        niche: "cooking",
        name: "vegan baking",
        words: &["vegan", "baking", "cakes", "dairy free", "cookies"],
        paraphrase: &[
            "plant based",
            "pastries",
            "eggless",
            "oven treats",
            "desserts",
        ],
    },
    Topic {
        niche: "cooking",
        name: "meal prep",
        words: &[
            "meal prep",
            "lunches",
            "batch cooking",
            "containers",
            "weekly menu",
        ],
        paraphrase: &[
            "make ahead",
            "portions",
            "leftovers",
            "planning the week",
            "lunchboxes",
        ],
    },
    Topic {
        niche: "cooking",
        name: "spicy curries",
        words: &["curry", "spices", "chilli", "masala", "heat"],
        paraphrase: &["aromatic stews", "peppers", "fiery", "garam", "hot dishes"],
    },
    Topic {
        niche: "gaming",
        name: "speedrunning",
        words: &[
            "speedrun",
            "world record",
            "glitches",
            "splits",
            "any percent",
        ],
        paraphrase: &[
            "fastest completion",
            "routing",
            "skips",
            "timer",
            "personal best",
        ],
    },
    Topic {
        niche: "gaming",
        name: "retro consoles",
        words: &["retro", "consoles", "cartridges", "8 bit", "arcade"],
        paraphrase: &[
            "vintage",
            "classic systems",
            "old school",
            "pixel art",
            "nostalgia",
        ],
    },
    Topic {
        niche: "gaming",
        name: "competitive shooters",
        words: &["fps", "aim", "ranked", "esports", "headshots"],
        paraphrase: &[
            "tactical matches",
            "crosshair",
            "ladder",
            "tournaments",
            "reflexes",
        ],
    },
];

const FILLER: &[&str] = &[
    "Weekly videos about",
    "Honest reviews and tips on",
    "I film short tutorials on",
    "Sharing what I learn about",
    "Everyday content around",
];

/// How bios say what their creator covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Wording {
    /// In the words a brief on the topic uses.
    Shared,
    /// In other words with the same meaning.
    Paraphrased,
}

pub const TEXT_SEED: u64 = 20_261_203;
pub const TEXT_CANDIDATES: usize = 60;

/// One campaign per topic, [`TEXT_CANDIDATES`] candidates each: 10 on the
/// campaign's topic, 20 on the niche's other topics, 30 on other niches'.
/// `wording` is how the on-topic bios are written; the others always use
/// their topic's own words (they share nothing with the brief either way).
pub fn text_set(seed: u64, wording: Wording) -> EvalSet {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let rate = |amount| Rate {
        amount_minor: amount,
        currency: "USD".into(),
    };
    let audience = Audience {
        age: BTreeMap::from([("18-24".into(), 0.6), ("25-34".into(), 0.4)]),
        gender: BTreeMap::from([("female".into(), 0.5), ("male".into(), 0.5)]),
        countries: BTreeMap::from([("US".into(), 1.0)]),
    };
    let mut campaigns = vec![];
    for (ti, topic) in TOPICS.iter().enumerate() {
        let mut words: Vec<&str> = topic.words.to_vec();
        words.shuffle(&mut rng);
        let target = CampaignTarget {
            niches: vec![topic.niche.into()],
            brief: format!(
                "We are launching a new product: show your audience {} and {}, with a close look at {}.",
                words[0], words[1], words[2]
            ),
            audience: audience.clone(),
            budget_per_creator: Some(rate(100_000)),
            countries: vec!["US".into()],
            ..CampaignTarget::default()
        };
        let same_niche: Vec<&Topic> = TOPICS
            .iter()
            .filter(|t| t.niche == topic.niche && t.name != topic.name)
            .collect();
        let other_niche: Vec<&Topic> = TOPICS.iter().filter(|t| t.niche != topic.niche).collect();
        let mut covers: Vec<(&Topic, u8, &'static str)> = vec![];
        covers.extend((0..10).map(|_| (topic, 2, "covers the campaign's topic")));
        covers.extend((0..20).map(|i| {
            (
                same_niche[i % same_niche.len()],
                1,
                "another topic of the campaign's niche",
            )
        }));
        covers.extend((0..30).map(|i| {
            (
                other_niche[i % other_niche.len()],
                0,
                "a topic of another niche",
            )
        }));
        let candidates = covers
            .into_iter()
            .enumerate()
            .map(|(i, (t, label, rule))| {
                let vocabulary = if label == 2 && wording == Wording::Paraphrased {
                    t.paraphrase
                } else {
                    t.words
                };
                let picked: Vec<&str> = vocabulary.choose_multiple(&mut rng, 3).copied().collect();
                let bio = format!(
                    "{} {}, {} and {}.",
                    FILLER.choose(&mut rng).unwrap(),
                    picked[0],
                    picked[1],
                    picked[2]
                );
                LabelledCreator {
                    creator: CreatorFeatures {
                        // Random ids: ties are broken by id, so ids must not follow the labels.
                        creator_id: format!(
                            "tcr_{ti:02}_{:08x}_{i:03}",
                            rand::Rng::random::<u32>(&mut rng)
                        ),
                        niches: vec![topic.niche.into()],
                        content_styles: vec![],
                        bio,
                        languages: vec!["en".into()],
                        country: Some("US".into()),
                        audience: audience.clone(),
                        rate: Some(rate(50_000)),
                        performance: Default::default(),
                        brand_safety: Default::default(),
                        reputation: 0.5,
                    },
                    label,
                    rule: rule.into(),
                }
            })
            .collect();
        campaigns.push(EvalCampaign {
            campaign_id: format!("tcmp_{ti:02}"),
            target,
            candidates,
        });
    }
    EvalSet { seed, campaigns }
}

/// Mean NDCG@k of [`crate::rank`] on a set, and with each factor taken out
/// of the total (ranked by `total − contribution`, ties by creator id).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ablation {
    pub k: usize,
    pub embedder: String,
    pub full: f64,
    pub without: Vec<(FactorName, f64)>,
}

pub const FACTORS: [FactorName; 5] = [
    FactorName::AudienceOverlap,
    FactorName::ContentSimilarity,
    FactorName::Performance,
    FactorName::BudgetFit,
    FactorName::BrandSafety,
];

pub async fn ablation(
    set: &EvalSet,
    embedder: &dyn Embedder,
    k: usize,
) -> Result<Ablation, EmbedError> {
    let mut full = 0.0;
    let mut without = [0.0; FACTORS.len()];
    for c in &set.campaigns {
        let creators: Vec<CreatorFeatures> =
            c.candidates.iter().map(|l| l.creator.clone()).collect();
        let labels: BTreeMap<&str, u8> = c
            .candidates
            .iter()
            .map(|l| (l.creator.creator_id.as_str(), l.label))
            .collect();
        let ranked = crate::rank(&c.target, &creators, embedder).await?;
        let ndcg_by = |key: &dyn Fn(&crate::model::MatchScore) -> f64| {
            let mut v: Vec<&(String, crate::model::MatchScore)> = ranked.iter().collect();
            v.sort_by(|a, b| key(&b.1).total_cmp(&key(&a.1)).then_with(|| a.0.cmp(&b.0)));
            let ls: Vec<u8> = v.iter().map(|(id, _)| labels[id.as_str()]).collect();
            ndcg_at_k(&ls, k)
        };
        full += ndcg_by(&|s| s.total);
        for (i, f) in FACTORS.iter().enumerate() {
            // The other factors' contributions, summed exactly as `total` is
            // before rounding (so equal inputs tie exactly).
            without[i] += ndcg_by(&|s| {
                s.factors
                    .iter()
                    .filter(|x| x.name != *f)
                    .map(|x| x.contribution)
                    .sum()
            });
        }
    }
    let n = set.campaigns.len().max(1) as f64;
    Ok(Ablation {
        k,
        embedder: embedder.name().into(),
        full: full / n,
        without: FACTORS
            .iter()
            .zip(without)
            .map(|(f, v)| (*f, v / n))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_set_holds_everything_but_the_bio_equal() {
        let set = text_set(TEXT_SEED, Wording::Paraphrased);
        assert_eq!(set.campaigns.len(), TOPICS.len());
        for c in &set.campaigns {
            let counts = c.candidates.iter().fold([0; 3], |mut n, l| {
                n[usize::from(l.label)] += 1;
                n
            });
            assert_eq!(counts, [30, 20, 10]);
            let first = &c.candidates[0].creator;
            for l in &c.candidates {
                assert_eq!(l.creator.niches, c.target.niches);
                assert_eq!(
                    (
                        &l.creator.audience,
                        &l.creator.rate,
                        &l.creator.brand_safety
                    ),
                    (&first.audience, &first.rate, &first.brand_safety)
                );
            }
        }
    }

    #[test]
    fn paraphrases_share_no_word_with_their_topic_and_briefs_no_word_with_other_topics() {
        let words = |list: &[&str]| -> Vec<String> {
            list.iter()
                .flat_map(|p| p.split_whitespace().map(str::to_owned))
                .collect()
        };
        for t in TOPICS {
            let (own, para) = (words(t.words), words(t.paraphrase));
            assert!(own.iter().all(|w| !para.contains(w)), "{}", t.name);
        }
        // Nothing a brief may say (its topic's words) is said by another
        // topic, in either wording: only the on-topic bios can share words.
        for t in TOPICS {
            let own = words(t.words);
            for other in TOPICS.iter().filter(|o| o.name != t.name) {
                for w in words(other.words).iter().chain(&words(other.paraphrase)) {
                    assert!(!own.contains(w), "{w}: {} and {}", t.name, other.name);
                }
            }
        }
    }
}
