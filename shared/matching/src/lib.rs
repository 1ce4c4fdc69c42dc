//! Explainable creator ↔ campaign matching.
//!
//! [`score`] is pure: five factors (audience overlap, content similarity,
//! performance, budget fit, brand safety), each 0..1 with a sentence saying
//! why, weighted into a 0..100 total. [`rank`] embeds the texts through an
//! [`Embedder`] port and sorts creators by score. The [`eval`] module holds a
//! seeded, rule-labelled evaluation set and NDCG@k. See `docs/matching.md`.

pub mod bedrock;
pub mod embed;
pub mod eval;
pub mod eval_text;
pub mod model;
pub mod score;

pub use bedrock::BedrockEmbedder;
pub use embed::{EmbedError, Embedder, LocalHashingVectoriser};
pub use model::{
    Audience, BrandSafety, CampaignTarget, CreatorFeatures, Factor, FactorName, MatchScore,
    Performance, Rate,
};
pub use score::{campaign_text, creator_text, score};

/// Texts sent to the embedder per call.
pub const EMBED_BATCH_SIZE: usize = 64;

/// Scores every creator for `target` and returns `(creator_id, score)` sorted
/// by total, highest first; equal totals are ordered by `creator_id`.
/// Creator texts are embedded in batches of [`EMBED_BATCH_SIZE`].
pub async fn rank(
    target: &CampaignTarget,
    creators: &[CreatorFeatures],
    embedder: &dyn Embedder,
) -> Result<Vec<(String, MatchScore)>, EmbedError> {
    let target_vec = embed_checked(embedder, &[campaign_text(target)])
        .await?
        .pop()
        .unwrap_or_default();
    let texts: Vec<String> = creators.iter().map(creator_text).collect();
    let mut vectors = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(EMBED_BATCH_SIZE) {
        vectors.extend(embed_checked(embedder, chunk).await?);
    }
    let mut ranked: Vec<(String, MatchScore)> = creators
        .iter()
        .zip(&vectors)
        .map(|(c, v)| (c.creator_id.clone(), score(target, &target_vec, c, v)))
        .collect();
    ranked.sort_by(|a, b| b.1.total.total_cmp(&a.1.total).then_with(|| a.0.cmp(&b.0)));
    Ok(ranked)
}

async fn embed_checked(
    embedder: &dyn Embedder,
    texts: &[String],
) -> Result<Vec<Vec<f32>>, EmbedError> {
    let vectors = embedder.embed(texts).await?;
    if vectors.len() != texts.len() {
        return Err(EmbedError::Unavailable(format!(
            "{} returned {} vectors for {} texts",
            embedder.name(),
            vectors.len(),
            texts.len()
        )));
    }
    Ok(vectors)
}
