//! `rank` end to end with the offline embedder, and the NDCG@10 floor on the
//! labelled evaluation set.

use async_trait::async_trait;
use nexus_matching::eval::{self, ndcg_at_k};
use nexus_matching::{
    rank, CampaignTarget, CreatorFeatures, EmbedError, Embedder, LocalHashingVectoriser,
};

fn set_creators(set: &eval::EvalSet, i: usize) -> (CampaignTarget, Vec<CreatorFeatures>) {
    let c = &set.campaigns[i];
    (
        c.target.clone(),
        c.candidates.iter().map(|l| l.creator.clone()).collect(),
    )
}

#[tokio::test]
async fn ranking_is_sorted_and_deterministic() {
    let set = eval::generate(11, 1, 120);
    let (target, mut creators) = set_creators(&set, 0);
    let embedder = LocalHashingVectoriser::default();
    let a = rank(&target, &creators, &embedder).await.unwrap();
    assert_eq!(a.len(), 120);
    for w in a.windows(2) {
        assert!(
            w[0].1.total > w[1].1.total || (w[0].1.total == w[1].1.total && w[0].0 < w[1].0),
            "{} {} / {} {}",
            w[0].0,
            w[0].1.total,
            w[1].0,
            w[1].1.total
        );
    }
    creators.reverse();
    let b = rank(&target, &creators, &embedder).await.unwrap();
    assert_eq!(a, b, "input order does not matter");
}

#[tokio::test]
async fn equal_totals_are_ordered_by_creator_id() {
    let set = eval::generate(3, 1, 1);
    let (target, creators) = set_creators(&set, 0);
    let mut twins = Vec::new();
    for id in ["cr_c", "cr_a", "cr_b"] {
        let mut c = creators[0].clone();
        c.creator_id = id.into();
        twins.push(c);
    }
    let ranked = rank(&target, &twins, &LocalHashingVectoriser::default())
        .await
        .unwrap();
    let ids: Vec<&str> = ranked.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(ids, ["cr_a", "cr_b", "cr_c"]);
}

struct Broken;

#[async_trait]
impl Embedder for Broken {
    fn name(&self) -> &'static str {
        "broken"
    }
    fn dimensions(&self) -> usize {
        4
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.len() > 1 {
            return Err(EmbedError::Throttled("slow down".into()));
        }
        Ok(vec![])
    }
}

#[tokio::test]
async fn embedder_failures_and_short_answers_surface() {
    let set = eval::generate(3, 1, 5);
    let (target, creators) = set_creators(&set, 0);
    let err = rank(&target, &creators, &Broken).await.unwrap_err();
    assert!(matches!(err, EmbedError::Unavailable(m) if m.contains("0 vectors for 1")));
    assert!(rank(&target, &[], &Broken).await.is_err());
}

#[tokio::test]
async fn ndcg_at_10_beats_the_floor_and_the_baselines() {
    let report = eval::evaluate(&eval::default_set(), &LocalHashingVectoriser::default(), 10)
        .await
        .unwrap();
    // Measured 0.769 on the default seed (0.65–0.76 on seeds 1–3).
    assert!(report.ours >= 0.70, "NDCG@10 {:.3}", report.ours);
    for (name, baseline) in [
        ("random", report.random),
        ("reputation only", report.reputation_only),
        ("niche only", report.niche_only),
        ("embedding only", report.embedding_only),
    ] {
        assert!(
            report.ours > baseline + 0.2,
            "ours {:.3} vs {name} {baseline:.3}",
            report.ours
        );
    }
}

#[tokio::test]
async fn other_seeds_stay_well_above_baselines() {
    let set = eval::generate(2, 10, 200);
    let report = eval::evaluate(&set, &LocalHashingVectoriser::default(), 10)
        .await
        .unwrap();
    assert!(report.ours >= 0.55, "NDCG@10 {:.3}", report.ours);
    assert!(report.ours > 2.0 * report.reputation_only.max(report.random));
}

#[test]
fn ndcg_is_one_for_labels_sorted_best_first() {
    assert_eq!(ndcg_at_k(&[3, 3, 2, 0], 10), 1.0);
}

/// On the text-labelled set only the bios differ, so the ranking stands or
/// falls with the similarity factor: with shared wording it finds the
/// on-topic creators; without the factor it is no better than chance. The
/// offline vectoriser is lexical: paraphrased bios fall most of the way
/// back (docs/matching.md gives the figures).
#[tokio::test]
async fn text_labels_are_found_through_content_similarity() {
    use nexus_matching::eval_text::{ablation, text_set, Wording, TEXT_SEED};
    use nexus_matching::FactorName;
    let v = LocalHashingVectoriser::default();
    let shared = ablation(&text_set(TEXT_SEED, Wording::Shared), &v, 10)
        .await
        .unwrap();
    let without = |a: &nexus_matching::eval_text::Ablation, f| {
        a.without.iter().find(|(n, _)| *n == f).unwrap().1
    };
    assert!(shared.full >= 0.9, "shared wording: {:.3}", shared.full);
    assert!(
        without(&shared, FactorName::ContentSimilarity) <= 0.4,
        "{shared:?}"
    );
    let para = ablation(&text_set(TEXT_SEED, Wording::Paraphrased), &v, 10)
        .await
        .unwrap();
    assert!(
        para.full < shared.full - 0.3,
        "a lexical vectoriser can't see paraphrases: {:.3} vs {:.3}",
        para.full,
        shared.full
    );
}

/// Every factor but performance carries weight on the rule-labelled set:
/// taking it out costs NDCG (performance is neutral for most candidates).
#[tokio::test]
async fn the_ablation_shows_which_factors_carry_the_ranking() {
    use nexus_matching::eval_text::ablation;
    use nexus_matching::FactorName;
    let a = ablation(&eval::default_set(), &LocalHashingVectoriser::default(), 10)
        .await
        .unwrap();
    for (f, v) in &a.without {
        if *f != FactorName::Performance {
            assert!(v + 0.05 < a.full, "{f:?}: {v:.3} vs {:.3}", a.full);
        }
    }
}
