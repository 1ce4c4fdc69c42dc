//! Validation and normalisation of a [`SearchQuery`] into [`Plan`], the
//! engine-neutral form the adapter translates (codes upper/lower-cased,
//! platform and audience keys resolved to indexes, cursor decoded).

use crate::cursor::{self, After};
use crate::{SearchError, SearchQuery, Sort, AGE_BANDS, GENDERS, MAX_LIMIT, PLATFORMS};

/// What the sort ranks by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortBy {
    Score,
    Reputation,
    /// `Some(platform index)` or the max over platforms.
    Followers(Option<usize>),
    Engagement(Option<usize>),
    /// Currency index (see [`currency_index`]).
    RateAsc(u64),
    Newest,
}

impl SortBy {
    /// Short tag binding cursors to their ordering.
    pub(crate) fn tag(self) -> String {
        let p = |o: Option<usize>| o.map_or("all".to_string(), |i| PLATFORMS[i].to_string());
        match self {
            SortBy::Score => "s".into(),
            SortBy::Reputation => "r".into(),
            SortBy::Followers(o) => format!("f-{}", p(o)),
            SortBy::Engagement(o) => format!("e-{}", p(o)),
            SortBy::RateAsc(c) => format!("p-{c}"),
            SortBy::Newest => "n".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub text: Option<String>,
    pub niches: Vec<String>,
    pub platform: Option<usize>,
    pub followers: (Option<u64>, Option<u64>),
    pub engagement: (Option<f64>, Option<f64>),
    pub country: Option<String>,
    pub language: Option<String>,
    /// (country index, min basis points).
    pub audience_country: Option<(u64, u64)>,
    /// (band index, min basis points).
    pub audience_age: Option<(u64, u64)>,
    pub audience_gender: Option<(u64, u64)>,
    /// (currency index, min, max) in minor units.
    pub rate: Option<(u64, u64, u64)>,
    pub verified: Option<bool>,
    pub reputation_min: Option<f64>,
    pub sort: SortBy,
    pub limit: usize,
    pub after: Option<After>,
}

/// `US` → 0..676, for any two ASCII letters.
pub(crate) fn country_index(code: &str) -> Option<u64> {
    letters_index(code, 2)
}

/// `USD` → 0..17576, for any three ASCII letters.
pub(crate) fn currency_index(code: &str) -> Option<u64> {
    letters_index(code, 3)
}

fn letters_index(code: &str, len: usize) -> Option<u64> {
    let b = code.as_bytes();
    if b.len() != len || !b.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    Some(b.iter().fold(0u64, |acc, c| {
        acc * 26 + u64::from(c.to_ascii_uppercase() - b'A')
    }))
}

/// Share 0..=1 → basis points (the precision audience filters compare at).
pub(crate) fn basis_points(share: f64) -> u64 {
    (share.clamp(0.0, 1.0) * 10_000.0).round() as u64
}

/// Largest rate amount the index represents exactly (2^44 − 1 minor units).
pub(crate) const MAX_AMOUNT: u64 = (1 << 44) - 1;

pub(crate) fn clamp_amount(a: i64) -> u64 {
    (a.max(0) as u64).min(MAX_AMOUNT)
}

fn share(
    pointer: &'static str,
    v: &Option<(String, f64)>,
    index: impl Fn(&str) -> Option<u64>,
    what: &str,
) -> Result<Option<(u64, u64)>, SearchError> {
    let Some((key, min)) = v else { return Ok(None) };
    let idx = index(key.trim()).ok_or_else(|| {
        SearchError::invalid(pointer, "unknown_value", format!("unknown {what} {key:?}"))
    })?;
    if !(0.0..=1.0).contains(min) {
        return Err(SearchError::invalid(
            pointer,
            "out_of_range",
            "minimum share must be within 0..=1",
        ));
    }
    Ok(Some((idx, basis_points(*min))))
}

fn position(list: &[&str], key: &str) -> Option<u64> {
    list.iter()
        .position(|k| k.eq_ignore_ascii_case(key))
        .map(|i| i as u64)
}

pub(crate) fn plan(q: &SearchQuery) -> Result<Plan, SearchError> {
    if q.limit == 0 || q.limit > MAX_LIMIT {
        return Err(SearchError::invalid(
            "/limit",
            "out_of_range",
            format!("limit must be within 1..={MAX_LIMIT}"),
        ));
    }
    let platform = match q.platform.as_deref().map(str::trim) {
        None => None,
        Some(p) => Some(
            PLATFORMS
                .iter()
                .position(|k| k.eq_ignore_ascii_case(p))
                .ok_or_else(|| {
                    SearchError::invalid(
                        "/platform",
                        "unknown_value",
                        format!("unknown platform {p:?}"),
                    )
                })?,
        ),
    };
    if let (Some(a), Some(b)) = (q.followers_min, q.followers_max) {
        if a > b {
            return Err(SearchError::invalid(
                "/followersMax",
                "out_of_range",
                "followersMax is below followersMin",
            ));
        }
    }
    for (pointer, v) in [
        ("/engagementMin", q.engagement_min),
        ("/engagementMax", q.engagement_max),
    ] {
        if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(SearchError::invalid(
                pointer,
                "out_of_range",
                "engagement is a fraction ≥ 0",
            ));
        }
    }
    if q.reputation_min.is_some_and(|v| !v.is_finite()) {
        return Err(SearchError::invalid(
            "/reputationMin",
            "out_of_range",
            "reputationMin must be a number",
        ));
    }
    let country = match &q.country {
        None => None,
        Some(c) => {
            let c = c.trim();
            country_index(c).ok_or_else(|| {
                SearchError::invalid("/country", "invalid_format", "expected ISO 3166-1 alpha-2")
            })?;
            Some(c.to_ascii_uppercase())
        }
    };
    let currency = match &q.rate_currency {
        None => None,
        Some(c) => Some(currency_index(c.trim()).ok_or_else(|| {
            SearchError::invalid("/rateCurrency", "invalid_format", "expected ISO 4217")
        })?),
    };
    let rate = match (q.rate_min, q.rate_max, currency) {
        (None, None, _) => None,
        (_, _, None) => {
            return Err(SearchError::invalid(
                "/rateCurrency",
                "required",
                "rate bounds need rateCurrency",
            ));
        }
        (min, max, Some(c)) => {
            let (lo, hi) = (
                clamp_amount(min.unwrap_or(0)),
                max.map_or(MAX_AMOUNT, clamp_amount),
            );
            if max.is_some_and(|m| m < 0) || lo > hi {
                return Err(SearchError::invalid(
                    "/rateMax",
                    "out_of_range",
                    "rateMax is below rateMin",
                ));
            }
            Some((c, lo, hi))
        }
    };
    let text = q
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let sort = match q.sort {
        Sort::Relevance if text.is_some() => SortBy::Score,
        Sort::Relevance | Sort::ReputationDesc => SortBy::Reputation,
        Sort::FollowersDesc => SortBy::Followers(platform),
        Sort::EngagementDesc => SortBy::Engagement(platform),
        Sort::RateAsc => SortBy::RateAsc(currency.ok_or_else(|| {
            SearchError::invalid(
                "/rateCurrency",
                "required",
                "sort rateAsc needs rateCurrency",
            )
        })?),
        Sort::Newest => SortBy::Newest,
    };
    let after = q
        .cursor
        .as_deref()
        .map(|c| cursor::decode(&sort.tag(), c))
        .transpose()?;
    Ok(Plan {
        text,
        niches: q
            .niches
            .iter()
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect(),
        platform,
        followers: (q.followers_min, q.followers_max),
        engagement: (q.engagement_min, q.engagement_max),
        country,
        language: q.language.as_deref().map(|l| l.trim().to_lowercase()),
        audience_country: share(
            "/audienceCountry",
            &q.audience_country,
            country_index,
            "country",
        )?,
        audience_age: share(
            "/audienceAge",
            &q.audience_age,
            |k| position(&AGE_BANDS, k),
            "age band",
        )?,
        audience_gender: share(
            "/audienceGender",
            &q.audience_gender,
            |k| position(&GENDERS, k),
            "gender",
        )?,
        rate,
        verified: q.verified,
        reputation_min: q.reputation_min,
        sort,
        limit: q.limit,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> SearchQuery {
        SearchQuery::default()
    }

    #[test]
    fn rejects_out_of_range_fields_with_their_pointer() {
        let cases: Vec<(SearchQuery, &str)> = vec![
            (SearchQuery { limit: 0, ..q() }, "/limit"),
            (SearchQuery { limit: 101, ..q() }, "/limit"),
            (
                SearchQuery {
                    platform: Some("myspace".into()),
                    ..q()
                },
                "/platform",
            ),
            (
                SearchQuery {
                    rate_min: Some(100),
                    ..q()
                },
                "/rateCurrency",
            ),
            (
                SearchQuery {
                    sort: Sort::RateAsc,
                    ..q()
                },
                "/rateCurrency",
            ),
            (
                SearchQuery {
                    rate_currency: Some("US".into()),
                    ..q()
                },
                "/rateCurrency",
            ),
            (
                SearchQuery {
                    audience_age: Some(("12-13".into(), 0.1)),
                    ..q()
                },
                "/audienceAge",
            ),
            (
                SearchQuery {
                    audience_country: Some(("US".into(), 1.5)),
                    ..q()
                },
                "/audienceCountry",
            ),
            (
                SearchQuery {
                    audience_gender: Some(("robot".into(), 0.1)),
                    ..q()
                },
                "/audienceGender",
            ),
            (
                SearchQuery {
                    country: Some("USA".into()),
                    ..q()
                },
                "/country",
            ),
            (
                SearchQuery {
                    followers_min: Some(10),
                    followers_max: Some(5),
                    ..q()
                },
                "/followersMax",
            ),
            (
                SearchQuery {
                    engagement_min: Some(f64::NAN),
                    ..q()
                },
                "/engagementMin",
            ),
        ];
        for (query, want) in cases {
            match plan(&query) {
                Err(SearchError::InvalidQuery { pointer, .. }) => {
                    assert_eq!(pointer, want, "{query:?}")
                }
                other => panic!("{query:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn codes_index_case_insensitively() {
        assert_eq!(country_index("us"), country_index("US"));
        assert_eq!(country_index("AA"), Some(0));
        assert_eq!(currency_index("ZZZ"), Some(26 * 26 * 26 - 1));
        assert_eq!(country_index("U1"), None);
        assert_eq!(basis_points(0.3), 3000);
    }
}
