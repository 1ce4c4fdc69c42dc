//! Discovery and matching glue: profiles → search documents, query strings
//! → search queries, campaigns and profiles → matching inputs.

use std::collections::BTreeMap;

use nexus_core::validation::Validator;
use nexus_core::Error;
use nexus_matching::{BrandSafety, CampaignTarget, CreatorFeatures, Performance};
use nexus_search::{CreatorDoc, PlatformStats, RateDoc, SearchQuery, Sort};

use crate::campaign::Campaign;
use crate::creator::CreatorProfile;
use crate::input::Audience;
use crate::vocab::{AgeBand, Gender, SocialPlatform};

fn search_audience(a: &Audience) -> nexus_search::Audience {
    nexus_search::Audience {
        age: a.age.clone(),
        gender: a.gender.clone(),
        countries: a.countries.clone(),
    }
}

fn match_audience(a: &Audience) -> nexus_matching::Audience {
    nexus_matching::Audience {
        age: a.age.clone(),
        gender: a.gender.clone(),
        countries: a.countries.clone(),
    }
}

/// The search document of a profile (what the index stores).
pub fn to_doc(p: &CreatorProfile) -> CreatorDoc {
    CreatorDoc {
        creator_id: p.creator_id.to_string(),
        handle: p.handle.clone(),
        display_name: p.display_name.clone(),
        bio: p.bio.clone(),
        niches: p.niches.clone(),
        content_styles: p.content_styles.clone(),
        languages: p.languages.clone(),
        country: p.country.clone(),
        city: p.city.clone(),
        platforms: p
            .social_accounts
            .iter()
            .map(|a| PlatformStats {
                platform: a.platform.as_str().into(),
                followers: a.followers,
                avg_views: a.average_views,
                engagement_rate: a.engagement_rate,
            })
            .collect(),
        audience: search_audience(&p.audience()),
        rates: p
            .rate_card
            .iter()
            .map(|r| RateDoc {
                platform: r.platform.as_str().into(),
                deliverable: r.deliverable_type.as_str().into(),
                amount_minor: r.price.amount,
                currency: r.price.currency.code().into(),
            })
            .collect(),
        verified: p.verified,
        reputation: p.reputation.score,
        updated_at: p.updated_at.as_second(),
    }
}

/// `GET /v1/creators` query parameters → a search query (field errors on `query/<name>`).
pub fn parse_query(params: &BTreeMap<String, String>) -> Result<SearchQuery, Error> {
    let mut v = Validator::new();
    let get = |k: &str| params.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let mut q = SearchQuery {
        text: get("q").map(str::to_owned),
        ..SearchQuery::default()
    };
    if let Some(n) = get("niche") {
        q.niches = n
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(p) = get("platform") {
        q.platform = v
            .parse(
                "query/platform",
                Some(p),
                "unknown_value",
                SocialPlatform::parse,
            )
            .map(|p| p.as_str().to_owned());
    }
    let uint = |v: &mut Validator, k: &str| {
        get(k).and_then(|s| {
            v.parse(&format!("query/{k}"), Some(s), "invalid_format", |s| {
                s.parse::<u64>().map_err(|_| "a whole number ≥ 0")
            })
        })
    };
    q.followers_min = uint(&mut v, "followersMin");
    q.followers_max = uint(&mut v, "followersMax");
    let frac = |v: &mut Validator, k: &str, max: f64| {
        get(k).and_then(|s| {
            v.parse(
                &format!("query/{k}"),
                Some(s),
                "out_of_range",
                |s| match s.parse::<f64>() {
                    Ok(x) if x.is_finite() && (0.0..=max).contains(&x) => Ok(x),
                    _ => Err(format!("a number between 0 and {max}")),
                },
            )
        })
    };
    q.engagement_min = frac(&mut v, "engagementMin", 1.0);
    q.engagement_max = frac(&mut v, "engagementMax", 1.0);
    q.reputation_min = frac(&mut v, "reputationMin", 100.0);
    if let (Some(a), Some(b)) = (q.followers_min, q.followers_max) {
        if a > b {
            v.error(
                "query/followersMax",
                "out_of_order",
                "must be ≥ followersMin",
            );
        }
    }
    if let Some(c) = get("country") {
        q.country = crate::input::country(&mut v, "query/country", c);
    }
    if let Some(l) = get("language") {
        q.language = crate::input::language(&mut v, "query/language", l);
    }
    let share = |v: &mut Validator,
                 k: &str,
                 key_ok: &dyn Fn(&str) -> Result<String, String>|
     -> Option<(String, f64)> {
        let raw = get(k)?;
        let p = format!("query/{k}");
        let Some((key, s)) = raw.rsplit_once(':') else {
            v.error(&p, "invalid_format", "use <key>:<min share>, e.g. US:0.3");
            return None;
        };
        let key = match key_ok(key) {
            Ok(k) => k,
            Err(e) => {
                v.error(&p, "unknown_value", e);
                return None;
            }
        };
        match s.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => Some((key, x)),
            _ => {
                v.error(&p, "out_of_range", "the share is between 0 and 1");
                None
            }
        }
    };
    q.audience_country = share(&mut v, "audienceCountry", &|k| {
        let k = k.to_uppercase();
        if k.len() == 2 && k.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(k)
        } else {
            Err("an ISO country code".into())
        }
    });
    q.audience_age = share(&mut v, "audienceAge", &|k| {
        AgeBand::parse(k).map(|b| b.as_str().to_owned())
    });
    q.audience_gender = share(&mut v, "audienceGender", &|k| {
        Gender::parse(k).map(|g| g.as_str().to_owned())
    });
    let money = |v: &mut Validator, k: &str| {
        get(k).and_then(|s| {
            v.parse(&format!("query/{k}"), Some(s), "out_of_range", |s| {
                s.parse::<i64>()
                    .ok()
                    .filter(|x| *x >= 0)
                    .ok_or("minor units ≥ 0")
            })
        })
    };
    q.rate_min = money(&mut v, "rateMin");
    q.rate_max = money(&mut v, "rateMax");
    if let Some(c) = get("currency") {
        q.rate_currency = v.parse("query/currency", Some(c), "unknown_value", |c| {
            nexus_core::Currency::parse(c).map(|c| c.code().to_owned())
        });
    }
    if (q.rate_min.is_some() || q.rate_max.is_some())
        && q.rate_currency.is_none()
        && get("currency").is_none()
    {
        v.error(
            "query/currency",
            "required",
            "a rate range needs its currency",
        );
    }
    if let Some(b) = get("verified") {
        q.verified = v.parse("query/verified", Some(b), "invalid_format", |b| {
            nexus_core::validation::one_of(b, &[("true", true), ("false", false)])
        });
    }
    if let Some(s) = get("sort") {
        q.sort = v
            .parse("query/sort", Some(s), "unknown_value", |s| {
                nexus_core::validation::one_of(
                    s,
                    &[
                        ("relevance", Sort::Relevance),
                        ("followers", Sort::FollowersDesc),
                        ("engagement", Sort::EngagementDesc),
                        ("reputation", Sort::ReputationDesc),
                        ("rate", Sort::RateAsc),
                        ("newest", Sort::Newest),
                    ],
                )
            })
            .unwrap_or_default();
        if q.sort == Sort::RateAsc && q.rate_currency.is_none() && get("currency").is_none() {
            v.error(
                "query/currency",
                "required",
                "sorting by rate needs a currency",
            );
        }
    }
    if let Some(l) = get("limit") {
        q.limit = v
            .parse("query/limit", Some(l), "out_of_range", |s| {
                s.parse::<usize>()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or("between 1 and 100")
            })
            .unwrap_or(20);
    }
    q.cursor = get("cursor").map(str::to_owned);
    v.finish()?;
    Ok(q)
}

/// What matching looks for in a campaign.
pub fn target(c: &Campaign) -> CampaignTarget {
    CampaignTarget {
        niches: c.niches.clone(),
        content_styles: c.content_styles.clone(),
        brief: format!("{} {}", c.brief.objectives, c.brief.key_messages.join(" ")),
        audience: match_audience(&c.target_audience),
        budget_per_creator: c.budget.as_ref().map(|b| {
            let per = b.per_creator.unwrap_or(b.total);
            nexus_matching::Rate {
                amount_minor: per.amount,
                currency: per.currency.code().into(),
            }
        }),
        languages: c.eligibility.languages.clone(),
        countries: c.eligibility.countries.clone(),
    }
}

/// Matching inputs from a profile, for `c`'s main deliverable.
pub fn features(p: &CreatorProfile, c: &Campaign) -> CreatorFeatures {
    let s = &p.stats;
    let main = c.deliverables.first().map(|d| d.kind);
    let currency = c
        .budget
        .as_ref()
        .map(|b| b.total.currency.code().to_owned())
        .unwrap_or_else(|| "USD".into());
    // The sum of the campaign's deliverables at the creator's rate-card prices.
    let rate = p.rate_for(main, &currency).map(|r| {
        let units: i64 = c
            .deliverables
            .iter()
            .map(|d| i64::from(d.quantity))
            .sum::<i64>()
            .max(1);
        nexus_matching::Rate {
            amount_minor: r.amount.saturating_mul(units),
            currency: currency.clone(),
        }
    });
    let ratio = |hits: u32, n: u32| (n > 0).then(|| f64::from(hits) / f64::from(n));
    let engagement = {
        let total: u64 = p.social_accounts.iter().map(|a| a.followers).sum();
        (total > 0).then(|| {
            p.social_accounts
                .iter()
                .map(|a| a.engagement_rate * a.followers as f64)
                .sum::<f64>()
                / total as f64
        })
    };
    CreatorFeatures {
        creator_id: p.creator_id.to_string(),
        niches: p.niches.clone(),
        content_styles: p.content_styles.clone(),
        bio: p.bio.clone(),
        languages: p.languages.clone(),
        country: p.country.clone(),
        audience: match_audience(&p.audience()),
        rate,
        performance: Performance {
            completed_contracts: s.completed_contracts,
            on_time_rate: ratio(s.on_time, s.delivered),
            first_pass_approval_rate: ratio(s.first_pass, s.reviewed),
            avg_rating: (s.ratings > 0).then(|| f64::from(s.rating_sum) / f64::from(s.ratings)),
            avg_engagement_rate: engagement,
        },
        brand_safety: BrandSafety {
            flagged_items: 0,
            total_items: 0,
            disputes: s.cancellations,
        },
        reputation: p.reputation.score,
    }
}

/// Candidates for a campaign's matches: creators in its niches (or anyone),
/// big enough for its eligibility, best reputation first.
pub fn candidate_query(c: &Campaign, limit: usize) -> SearchQuery {
    SearchQuery {
        niches: c.niches.clone(),
        followers_min: (c.eligibility.min_followers > 0).then_some(c.eligibility.min_followers),
        country: (c.eligibility.countries.len() == 1).then(|| c.eligibility.countries[0].clone()),
        language: (c.eligibility.languages.len() == 1).then(|| c.eligibility.languages[0].clone()),
        sort: Sort::ReputationDesc,
        limit: limit.clamp(1, 100),
        ..SearchQuery::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<SearchQuery, Error> {
        parse_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn parses_every_filter() {
        let s = q(&[
            ("q", "skincare"),
            ("niche", "beauty, fitness"),
            ("platform", "tiktok"),
            ("followersMin", "1000"),
            ("followersMax", "50000"),
            ("engagementMin", "0.02"),
            ("country", "us"),
            ("language", "EN"),
            ("audienceCountry", "us:0.3"),
            ("audienceAge", "18-24:0.2"),
            ("audienceGender", "female:0.5"),
            ("rateMin", "100"),
            ("rateMax", "50000"),
            ("currency", "USD"),
            ("verified", "true"),
            ("reputationMin", "70"),
            ("sort", "followers"),
            ("limit", "10"),
        ])
        .unwrap();
        assert_eq!(s.niches, ["beauty", "fitness"]);
        assert_eq!(s.country.as_deref(), Some("US"));
        assert_eq!(s.language.as_deref(), Some("en"));
        assert_eq!(s.audience_country, Some(("US".into(), 0.3)));
        assert_eq!(s.sort, Sort::FollowersDesc);
        assert_eq!(s.verified, Some(true));
    }

    #[test]
    fn bad_filters_are_field_errors() {
        let Err(Error::Validation(errs)) = q(&[
            ("platform", "myspace"),
            ("followersMin", "-3"),
            ("audienceAge", "12-15:0.2"),
            ("rateMin", "100"),
            ("sort", "random"),
            ("limit", "500"),
            ("engagementMin", "3"),
        ]) else {
            panic!()
        };
        let ptrs: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        for p in [
            "query/platform",
            "query/followersMin",
            "query/audienceAge",
            "query/currency",
            "query/sort",
            "query/limit",
            "query/engagementMin",
        ] {
            assert!(ptrs.contains(&p), "{p} in {ptrs:?}");
        }
    }
}
