//! The embedder port and its offline stand-in.
//!
//! [`LocalHashingVectoriser`] is **not** a semantic model: it hashes words,
//! word pairs and character trigrams into a fixed-size vector, so texts that
//! share vocabulary come out similar and paraphrases do not. It exists so
//! matching runs and is tested offline, deterministically, with no weights to
//! download. Production uses [`crate::BedrockEmbedder`] (Titan Text
//! Embeddings V2).

use async_trait::async_trait;

/// Why texts could not be embedded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedError {
    /// The provider is rate-limiting us; retry later with backoff.
    #[error("embedding provider throttled the request: {0}")]
    Throttled(String),
    /// The provider rejected the request as invalid (for example a text too
    /// long for the model); retrying the same request will not help.
    #[error("embedding request rejected: {0}")]
    Invalid(String),
    /// The provider failed or answered something unusable.
    #[error("embedding provider unavailable: {0}")]
    Unavailable(String),
}

impl EmbedError {
    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, EmbedError::Invalid(_))
    }
}

/// A throttled or failing provider is a dependency outage (503 with
/// `Retry-After`), not the caller exceeding *our* rate limit; a rejected
/// request is a bug on our side (inputs are validated at the edge).
impl From<EmbedError> for nexus_core::Error {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Throttled(_) => nexus_core::Error::Unavailable {
                detail: "the matching service is busy; retry shortly".into(),
                retry_after_secs: 2,
            },
            EmbedError::Unavailable(_) => nexus_core::Error::Unavailable {
                detail: "the matching service is temporarily unavailable".into(),
                retry_after_secs: 5,
            },
            EmbedError::Invalid(_) => nexus_core::Error::internal(e),
        }
    }
}

/// Turns texts into fixed-size vectors; cosine similarity between two
/// vectors of the same embedder measures how related the texts are.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Stable identifier, stored next to vectors so they are never compared
    /// across embedders.
    fn name(&self) -> &'static str;
    /// Length of every returned vector.
    fn dimensions(&self) -> usize;
    /// One vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// Offline stand-in embedder: feature hashing of lower-cased word unigrams
/// and bigrams plus in-word character trigrams, with signed 64-bit FNV-1a
/// (stable across runs and platforms), sublinear term frequency
/// `1 + ln(tf)` and L2 normalisation. Deterministic and weightless; measures
/// shared vocabulary, not meaning.
#[derive(Debug, Clone)]
pub struct LocalHashingVectoriser {
    dims: usize,
}

impl LocalHashingVectoriser {
    pub const NAME: &'static str = "local-hashing-vectoriser";
    pub const DEFAULT_DIMENSIONS: usize = 512;
    /// Character trigrams count less than whole words: they only add
    /// robustness to inflections ("run", "running").
    const TRIGRAM_WEIGHT: f32 = 0.3;

    /// `dims` is clamped to at least 1.
    pub fn new(dims: usize) -> Self {
        Self { dims: dims.max(1) }
    }

    /// Embeds one text synchronously. Blank text gives the zero vector.
    pub fn vectorise(&self, text: &str) -> Vec<f32> {
        let words: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .filter(|w| !STOPWORDS.contains(&w.as_str()))
            .collect();
        let mut features: std::collections::BTreeMap<(u8, String), f32> = Default::default();
        for w in &words {
            *features.entry((b'w', w.clone())).or_default() += 1.0;
            let padded: Vec<char> = format!("^{w}$").chars().collect();
            for tri in padded.windows(3) {
                *features.entry((b'c', tri.iter().collect())).or_default() += 1.0;
            }
        }
        for pair in words.windows(2) {
            *features
                .entry((b'b', format!("{} {}", pair[0], pair[1])))
                .or_default() += 1.0;
        }
        let mut v = vec![0.0f32; self.dims];
        for ((kind, feature), tf) in features {
            let h = fnv1a(kind, &feature);
            let slot = (h % self.dims as u64) as usize;
            let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
            let weight = if kind == b'c' {
                Self::TRIGRAM_WEIGHT
            } else {
                1.0
            };
            v[slot] += sign * weight * (1.0 + tf.ln());
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }
}

impl Default for LocalHashingVectoriser {
    fn default() -> Self {
        Self::new(Self::DEFAULT_DIMENSIONS)
    }
}

#[async_trait]
impl Embedder for LocalHashingVectoriser {
    fn name(&self) -> &'static str {
        Self::NAME
    }
    fn dimensions(&self) -> usize {
        self.dims
    }
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(texts.iter().map(|t| self.vectorise(t)).collect())
    }
}

/// 64-bit FNV-1a over a one-byte namespace and the feature text.
fn fnv1a(namespace: u8, s: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in std::iter::once(namespace).chain(s.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// Function words that would make unrelated English texts look alike.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "i", "in", "is",
    "it", "its", "my", "of", "on", "or", "our", "that", "the", "their", "this", "to", "we", "with",
    "you", "your",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::cosine;

    #[test]
    fn fnv1a_matches_reference_values() {
        // Published FNV-1a 64 test vectors, with the namespace byte as first input.
        assert_eq!(fnv1a(b'a', ""), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b'f', "oobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn same_text_same_vector_and_unit_length() {
        let v = LocalHashingVectoriser::default();
        let a = v.vectorise("Trail running and strength training for busy parents");
        let b = v.vectorise("Trail running and strength training for busy parents");
        assert_eq!(a, b);
        assert_eq!(a.len(), 512);
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn case_and_punctuation_do_not_matter() {
        let v = LocalHashingVectoriser::default();
        assert_eq!(
            v.vectorise("Vegan recipes, quick meals!"),
            v.vectorise("vegan RECIPES quick   meals")
        );
    }

    #[test]
    fn related_texts_score_higher_than_unrelated() {
        let v = LocalHashingVectoriser::default();
        let campaign = v.vectorise("skincare routine serum review for sensitive skin");
        let related = v.vectorise("my daily skincare routine and honest serum reviews");
        let unrelated = v.vectorise("competitive fps gaming highlights and esports news");
        let near = cosine(&campaign, &related).unwrap();
        let far = cosine(&campaign, &unrelated).unwrap();
        assert!(near > far + 0.2, "near {near}, far {far}");
    }

    #[test]
    fn blank_text_is_the_zero_vector() {
        let v = LocalHashingVectoriser::new(64);
        assert!(v.vectorise("  the and  ").iter().all(|x| *x == 0.0));
        assert_eq!(cosine(&v.vectorise(""), &v.vectorise("cats")), None);
    }

    #[tokio::test]
    async fn embed_keeps_order_and_dimensions() {
        let v = LocalHashingVectoriser::new(128);
        let texts = vec!["cats".to_string(), "dogs".to_string()];
        let out = v.embed(&texts).await.unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], v.vectorise("cats"));
        assert_eq!(out[1].len(), v.dimensions());
        assert_eq!(v.name(), "local-hashing-vectoriser");
    }

    #[test]
    fn embed_errors_map_to_core_errors() {
        let e: nexus_core::Error = EmbedError::Throttled("slow down".into()).into();
        assert_eq!(e.status(), 503);
        assert_eq!(e.retry_after(), Some(2));
        let e: nexus_core::Error = EmbedError::Invalid("too long".into()).into();
        assert_eq!(e.status(), 500);
        assert!(!EmbedError::Invalid(String::new()).is_retryable());
        assert!(EmbedError::Unavailable(String::new()).is_retryable());
    }
}
