//! Behaviour of `TantivySearch` through the `CreatorSearch` port.

use std::collections::{BTreeMap, HashSet};

use nexus_search::{
    Audience, CreatorDoc, CreatorSearch, PlatformStats, RateDoc, SearchError, SearchQuery, Sort,
    TantivySearch,
};

fn creator(id: &str) -> CreatorDoc {
    CreatorDoc {
        creator_id: id.into(),
        handle: format!("handle_{id}"),
        display_name: "Someone".into(),
        bio: "Making things online.".into(),
        niches: vec!["lifestyle".into()],
        content_styles: vec!["vlog".into()],
        languages: vec!["en".into()],
        country: Some("US".into()),
        city: None,
        platforms: vec![stats("instagram", 1_000, 0.02)],
        audience: Audience::default(),
        rates: vec![],
        verified: false,
        reputation: 50.0,
        updated_at: 1_700_000_000,
    }
}

fn stats(platform: &str, followers: u64, engagement_rate: f64) -> PlatformStats {
    PlatformStats {
        platform: platform.into(),
        followers,
        avg_views: followers / 10,
        engagement_rate,
    }
}

fn rate(amount_minor: i64, currency: &str) -> RateDoc {
    RateDoc {
        platform: "instagram".into(),
        deliverable: "post".into(),
        amount_minor,
        currency: currency.into(),
    }
}

fn shares(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

async fn index(docs: Vec<CreatorDoc>) -> TantivySearch {
    let s = TantivySearch::in_memory().unwrap();
    s.upsert(docs).await.unwrap();
    s
}

fn q() -> SearchQuery {
    SearchQuery {
        limit: 100,
        ..SearchQuery::default()
    }
}

async fn ids(s: &TantivySearch, query: SearchQuery) -> Vec<String> {
    s.search(&query)
        .await
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.creator_id)
        .collect()
}

/// Ids matching `query`, sorted, for set comparisons.
async fn set(s: &TantivySearch, query: SearchQuery) -> Vec<String> {
    let mut v = ids(s, query).await;
    v.sort();
    v
}

#[tokio::test]
async fn handle_and_niche_matches_rank_above_bio_only_matches() {
    let s = index(vec![
        CreatorDoc {
            bio: "I sometimes review skincare and cooking gadgets and skincare serums".into(),
            ..creator("usr_bio")
        },
        CreatorDoc {
            handle: "skincare.sophie".into(),
            ..creator("usr_handle")
        },
        CreatorDoc {
            niches: vec!["skincare".into()],
            ..creator("usr_niche")
        },
        creator("usr_none"),
    ])
    .await;
    let page = s
        .search(&SearchQuery {
            text: Some("Skincare".into()),
            ..q()
        })
        .await
        .unwrap();
    let got: Vec<_> = page.hits.iter().map(|h| h.creator_id.as_str()).collect();
    assert_eq!(got, ["usr_handle", "usr_niche", "usr_bio"]);
    assert_eq!(page.total, 3);
    assert!(page.hits.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(page.hits[2].score > 0.0);
}

#[tokio::test]
async fn bio_text_is_stemmed_and_accent_folded() {
    let s = index(vec![
        CreatorDoc {
            bio: "Running coach and café lover".into(),
            ..creator("usr_a")
        },
        creator("usr_b"),
    ])
    .await;
    for text in ["runs", "CAFE", "coaching"] {
        let got = ids(
            &s,
            SearchQuery {
                text: Some(text.into()),
                ..q()
            },
        )
        .await;
        assert_eq!(got, ["usr_a"], "{text}");
    }
}

#[tokio::test]
async fn odd_query_text_never_errors() {
    let s = index(vec![creator("usr_a"), creator("usr_b")]).await;
    for text in [
        "\"unterminated",
        "handle:foo",
        "a AND OR NOT (",
        "*",
        "~!@#$%^&*()[]{}",
        "美容 ビューティー",
        "emoji 💄🔥",
        "   ",
        "\u{0}\u{202e}",
        &"x".repeat(5000),
        "-fitness +beauty",
    ] {
        let page = s
            .search(&SearchQuery {
                text: Some(text.into()),
                ..q()
            })
            .await
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(page.total <= 2);
    }
    // Punctuation-only text has no tokens and is treated as no text.
    let page = s
        .search(&SearchQuery {
            text: Some("!!!".into()),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2);
}

#[tokio::test]
async fn niche_country_language_filters_include_and_exclude() {
    let s = index(vec![
        CreatorDoc {
            niches: vec!["beauty".into(), "fashion".into()],
            country: Some("GB".into()),
            languages: vec!["en".into(), "fr".into()],
            ..creator("usr_a")
        },
        CreatorDoc {
            niches: vec!["fitness".into()],
            country: Some("DE".into()),
            languages: vec!["de".into()],
            ..creator("usr_b")
        },
        CreatorDoc {
            niches: vec!["gaming".into()],
            country: None,
            ..creator("usr_c")
        },
    ])
    .await;
    let niches = |n: &[&str]| SearchQuery {
        niches: n.iter().map(|s| s.to_string()).collect(),
        ..q()
    };
    assert_eq!(set(&s, niches(&["Beauty"])).await, ["usr_a"]);
    assert_eq!(
        set(&s, niches(&["fitness", "gaming"])).await,
        ["usr_b", "usr_c"]
    );
    assert!(set(&s, niches(&["cooking"])).await.is_empty());
    let country = |c: &str| SearchQuery {
        country: Some(c.into()),
        ..q()
    };
    assert_eq!(set(&s, country("gb")).await, ["usr_a"]);
    assert!(set(&s, country("FR")).await.is_empty());
    let lang = |l: &str| SearchQuery {
        language: Some(l.into()),
        ..q()
    };
    assert_eq!(set(&s, lang("fr")).await, ["usr_a"]);
    assert_eq!(set(&s, lang("en")).await, ["usr_a", "usr_c"]);
    // Filters combine with AND.
    let both = SearchQuery {
        niches: vec!["beauty".into()],
        country: Some("DE".into()),
        ..q()
    };
    assert!(set(&s, both).await.is_empty());
}

#[tokio::test]
async fn follower_and_engagement_ranges_use_the_max_or_the_named_platform() {
    let s = index(vec![
        CreatorDoc {
            platforms: vec![
                stats("tiktok", 500_000, 0.08),
                stats("youtube", 2_000, 0.01),
            ],
            ..creator("usr_tiktoker")
        },
        CreatorDoc {
            platforms: vec![stats("youtube", 100_000, 0.03)],
            ..creator("usr_tuber")
        },
        CreatorDoc {
            platforms: vec![],
            ..creator("usr_nothing")
        },
    ])
    .await;
    let range = |platform: Option<&str>, min: Option<u64>, max: Option<u64>| SearchQuery {
        platform: platform.map(str::to_string),
        followers_min: min,
        followers_max: max,
        ..q()
    };
    assert_eq!(
        set(&s, range(None, Some(50_000), None)).await,
        ["usr_tiktoker", "usr_tuber"]
    );
    assert_eq!(
        set(&s, range(None, Some(200_000), None)).await,
        ["usr_tiktoker"]
    );
    assert_eq!(
        set(&s, range(None, None, Some(100_000))).await,
        ["usr_tuber"]
    );
    // On YouTube the TikTok star is small; creators without YouTube never match.
    assert_eq!(
        set(&s, range(Some("youtube"), None, Some(10_000))).await,
        ["usr_tiktoker"]
    );
    assert_eq!(
        set(&s, range(Some("youtube"), Some(50_000), None)).await,
        ["usr_tuber"]
    );
    assert!(set(&s, range(Some("instagram"), Some(0), None))
        .await
        .is_empty());

    let eng = |platform: Option<&str>, min: Option<f64>, max: Option<f64>| SearchQuery {
        platform: platform.map(str::to_string),
        engagement_min: min,
        engagement_max: max,
        ..q()
    };
    assert_eq!(set(&s, eng(None, Some(0.05), None)).await, ["usr_tiktoker"]);
    assert_eq!(
        set(&s, eng(None, Some(0.02), Some(0.05))).await,
        ["usr_tuber"]
    );
    assert_eq!(
        set(&s, eng(Some("youtube"), None, Some(0.02))).await,
        ["usr_tiktoker"]
    );
}

#[tokio::test]
async fn audience_share_filters_compare_the_minimum_share() {
    let s = index(vec![
        CreatorDoc {
            audience: Audience {
                age: shares(&[("18-24", 0.55), ("25-34", 0.30)]),
                gender: shares(&[("female", 0.8), ("male", 0.2)]),
                countries: shares(&[("US", 0.40), ("GB", 0.10)]),
            },
            ..creator("usr_a")
        },
        CreatorDoc {
            audience: Audience {
                age: shares(&[("25-34", 0.60)]),
                gender: shares(&[("female", 0.3), ("male", 0.7)]),
                countries: shares(&[("GB", 0.50), ("US", 0.25)]),
            },
            ..creator("usr_b")
        },
        creator("usr_none"),
    ])
    .await;
    let country = |c: &str, min: f64| SearchQuery {
        audience_country: Some((c.into(), min)),
        ..q()
    };
    assert_eq!(
        set(&s, country("US", 0.25)).await,
        ["usr_a", "usr_b"],
        "bound is inclusive"
    );
    assert_eq!(set(&s, country("us", 0.26)).await, ["usr_a"]);
    assert_eq!(set(&s, country("GB", 0.2)).await, ["usr_b"]);
    assert!(
        set(&s, country("FR", 0.0)).await.is_empty(),
        "no share at all never matches"
    );
    let age = |b: &str, min: f64| SearchQuery {
        audience_age: Some((b.into(), min)),
        ..q()
    };
    assert_eq!(set(&s, age("25-34", 0.5)).await, ["usr_b"]);
    assert_eq!(set(&s, age("18-24", 0.5)).await, ["usr_a"]);
    let gender = |g: &str, min: f64| SearchQuery {
        audience_gender: Some((g.into(), min)),
        ..q()
    };
    assert_eq!(set(&s, gender("female", 0.5)).await, ["usr_a"]);
    assert_eq!(set(&s, gender("male", 0.5)).await, ["usr_b"]);
    // Dimensions do not bleed into each other and combine with AND.
    let both = SearchQuery {
        audience_country: Some(("GB".into(), 0.3)),
        audience_gender: Some(("female".into(), 0.5)),
        ..q()
    };
    assert!(set(&s, both).await.is_empty());
}

#[tokio::test]
async fn rate_filter_uses_the_lowest_rate_in_the_currency() {
    let s = index(vec![
        CreatorDoc {
            rates: vec![
                rate(50_000, "USD"),
                rate(20_000, "usd"),
                rate(10_000, "EUR"),
            ],
            ..creator("usr_a")
        },
        CreatorDoc {
            rates: vec![rate(80_000, "USD")],
            ..creator("usr_b")
        },
        CreatorDoc {
            rates: vec![rate(5_000, "EUR")],
            ..creator("usr_eur_only")
        },
        creator("usr_no_rates"),
    ])
    .await;
    let r = |min: Option<i64>, max: Option<i64>, cur: &str| SearchQuery {
        rate_min: min,
        rate_max: max,
        rate_currency: Some(cur.into()),
        ..q()
    };
    assert_eq!(set(&s, r(None, Some(30_000), "USD")).await, ["usr_a"]);
    assert_eq!(
        set(&s, r(Some(30_000), None, "USD")).await,
        ["usr_b"],
        "a's lowest USD is 20k"
    );
    assert_eq!(set(&s, r(Some(0), None, "USD")).await, ["usr_a", "usr_b"]);
    assert_eq!(
        set(&s, r(None, Some(10_000), "EUR")).await,
        ["usr_a", "usr_eur_only"]
    );
    assert!(set(&s, r(Some(0), None, "GBP")).await.is_empty());
    // A currency without its own column (ISK) behaves the same.
    s.upsert(vec![
        CreatorDoc {
            rates: vec![rate(9_000, "ISK"), rate(7_000, "isk")],
            ..creator("usr_isk_a")
        },
        CreatorDoc {
            rates: vec![rate(8_000, "ISK")],
            ..creator("usr_isk_b")
        },
    ])
    .await
    .unwrap();
    assert_eq!(set(&s, r(None, Some(7_500), "ISK")).await, ["usr_isk_a"]);
    assert_eq!(set(&s, r(Some(7_500), None, "ISK")).await, ["usr_isk_b"]);
    let by_rate = SearchQuery {
        sort: Sort::RateAsc,
        rate_currency: Some("ISK".into()),
        ..q()
    };
    assert_eq!(ids(&s, by_rate).await[..2], ["usr_isk_a", "usr_isk_b"]);
    // Currency alone (no bound) filters nothing.
    assert_eq!(
        set(
            &s,
            SearchQuery {
                rate_currency: Some("USD".into()),
                ..q()
            }
        )
        .await
        .len(),
        6
    );
}

#[tokio::test]
async fn verified_and_reputation_filters() {
    let s = index(vec![
        CreatorDoc {
            verified: true,
            reputation: 90.0,
            ..creator("usr_a")
        },
        CreatorDoc {
            verified: false,
            reputation: 75.5,
            ..creator("usr_b")
        },
        CreatorDoc {
            verified: true,
            reputation: 10.0,
            ..creator("usr_c")
        },
    ])
    .await;
    assert_eq!(
        set(
            &s,
            SearchQuery {
                verified: Some(true),
                ..q()
            }
        )
        .await,
        ["usr_a", "usr_c"]
    );
    assert_eq!(
        set(
            &s,
            SearchQuery {
                verified: Some(false),
                ..q()
            }
        )
        .await,
        ["usr_b"]
    );
    assert_eq!(
        set(
            &s,
            SearchQuery {
                reputation_min: Some(75.5),
                ..q()
            }
        )
        .await,
        ["usr_a", "usr_b"]
    );
    assert!(set(
        &s,
        SearchQuery {
            reputation_min: Some(95.0),
            ..q()
        }
    )
    .await
    .is_empty());
}

fn sort_fixture() -> Vec<CreatorDoc> {
    vec![
        CreatorDoc {
            platforms: vec![stats("tiktok", 900, 0.09), stats("youtube", 10_000, 0.01)],
            reputation: 70.0,
            rates: vec![rate(30_000, "USD")],
            updated_at: 300,
            ..creator("usr_a")
        },
        CreatorDoc {
            platforms: vec![stats("tiktok", 5_000, 0.04)],
            reputation: 90.0,
            rates: vec![rate(10_000, "USD")],
            updated_at: 100,
            ..creator("usr_b")
        },
        CreatorDoc {
            platforms: vec![stats("instagram", 7_000, 0.05)],
            reputation: 70.0,
            rates: vec![rate(10_000, "EUR")],
            updated_at: 200,
            ..creator("usr_c")
        },
    ]
}

#[tokio::test]
async fn every_sort_orders_with_creator_id_tiebreak() {
    let s = index(sort_fixture()).await;
    let sorted = |sort: Sort, platform: Option<&str>| SearchQuery {
        sort,
        platform: platform.map(str::to_string),
        rate_currency: Some("USD".into()),
        ..q()
    };
    // Relevance without text = reputation; a and c tie at 70 → id order.
    assert_eq!(
        ids(&s, sorted(Sort::Relevance, None)).await,
        ["usr_b", "usr_a", "usr_c"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::ReputationDesc, None)).await,
        ["usr_b", "usr_a", "usr_c"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::FollowersDesc, None)).await,
        ["usr_a", "usr_c", "usr_b"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::FollowersDesc, Some("tiktok"))).await,
        ["usr_b", "usr_a", "usr_c"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::EngagementDesc, None)).await,
        ["usr_a", "usr_c", "usr_b"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::EngagementDesc, Some("youtube"))).await,
        ["usr_a", "usr_b", "usr_c"]
    );
    // Creators without a USD rate come last.
    assert_eq!(
        ids(&s, sorted(Sort::RateAsc, None)).await,
        ["usr_b", "usr_a", "usr_c"]
    );
    assert_eq!(
        ids(&s, sorted(Sort::Newest, None)).await,
        ["usr_a", "usr_c", "usr_b"]
    );
    // Field sorts do not report a relevance score.
    let page = s.search(&sorted(Sort::Newest, None)).await.unwrap();
    assert!(page.hits.iter().all(|h| h.score == 0.0));
}

/// Pages through `query` and returns the concatenated ids.
async fn all_pages(s: &TantivySearch, mut query: SearchQuery) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.search(&query).await.unwrap();
        pages += 1;
        assert!(page.hits.len() <= query.limit);
        out.extend(page.hits.into_iter().map(|h| h.creator_id));
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => break,
        }
        assert!(pages < 1000, "pagination does not terminate");
    }
    (out, pages)
}

#[tokio::test]
async fn pagination_never_duplicates_or_skips_even_with_ties_and_segments() {
    let s = TantivySearch::in_memory().unwrap();
    // Several commits → several segments; heavy ties on every sort key.
    for batch in 0..4 {
        let docs = (0..25)
            .map(|i| {
                let n = batch * 25 + i;
                CreatorDoc {
                    // Ids inserted out of order so segment order ≠ id order.
                    creator_id: format!("usr_{:03}", (n * 37) % 100),
                    handle: format!("maker{n}"),
                    bio: if n % 2 == 0 {
                        "beauty tips".into()
                    } else {
                        "beauty beauty tips".into()
                    },
                    platforms: vec![stats(
                        "tiktok",
                        (n % 3) as u64 * 1000,
                        0.01 * (n % 4) as f64,
                    )],
                    reputation: (n % 5) as f64 * 10.0,
                    rates: if n % 7 == 0 {
                        vec![]
                    } else {
                        vec![rate((n % 4) as i64 * 100, "USD")]
                    },
                    updated_at: (n % 6) as i64,
                    ..creator("x")
                }
            })
            .collect();
        s.upsert(docs).await.unwrap();
    }
    assert!(s.segment_count() > 1);
    let expected: HashSet<String> = (0..100).map(|n| format!("usr_{n:03}")).collect();
    for sort in [
        Sort::Relevance,
        Sort::FollowersDesc,
        Sort::EngagementDesc,
        Sort::ReputationDesc,
        Sort::RateAsc,
        Sort::Newest,
    ] {
        for text in [None, Some("beauty")] {
            for limit in [1, 7, 10, 100] {
                let query = SearchQuery {
                    text: text.map(str::to_string),
                    sort,
                    rate_currency: Some("USD".into()),
                    limit,
                    ..SearchQuery::default()
                };
                let (got, pages) = all_pages(&s, query.clone()).await;
                let unique: HashSet<String> = got.iter().cloned().collect();
                assert_eq!(
                    unique.len(),
                    got.len(),
                    "{sort:?} {text:?} {limit}: duplicates"
                );
                assert_eq!(unique, expected, "{sort:?} {text:?} {limit}: skipped");
                assert_eq!(
                    pages,
                    100_usize.div_ceil(limit),
                    "{sort:?} {text:?} {limit}: no empty last page"
                );
                // Paging yields the same order as one big page.
                if limit < 100 {
                    let one = ids(
                        &s,
                        SearchQuery {
                            limit: 100,
                            ..query
                        },
                    )
                    .await;
                    assert_eq!(got, one, "{sort:?} {text:?} {limit}: order");
                }
            }
        }
    }
}

#[tokio::test]
async fn total_counts_all_matches_on_every_page() {
    let s = index((0..30).map(|i| creator(&format!("usr_{i:02}"))).collect()).await;
    let first = s.search(&SearchQuery { limit: 10, ..q() }).await.unwrap();
    assert_eq!(first.total, 30);
    let second = s
        .search(&SearchQuery {
            limit: 10,
            cursor: first.next_cursor,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(second.total, 30);
    assert_eq!(second.hits.len(), 10);
}

#[tokio::test]
async fn upsert_replaces_and_remove_deletes() {
    let s = index(vec![
        CreatorDoc {
            niches: vec!["beauty".into()],
            handle: "glowup".into(),
            ..creator("usr_a")
        },
        creator("usr_b"),
    ])
    .await;
    s.upsert(vec![CreatorDoc {
        niches: vec!["fitness".into()],
        handle: "liftoff".into(),
        ..creator("usr_a")
    }])
    .await
    .unwrap();
    assert!(set(
        &s,
        SearchQuery {
            niches: vec!["beauty".into()],
            ..q()
        }
    )
    .await
    .is_empty());
    assert!(set(
        &s,
        SearchQuery {
            text: Some("glowup".into()),
            ..q()
        }
    )
    .await
    .is_empty());
    assert_eq!(
        set(
            &s,
            SearchQuery {
                niches: vec!["fitness".into()],
                ..q()
            }
        )
        .await,
        ["usr_a"]
    );
    assert_eq!(s.search(&q()).await.unwrap().total, 2);

    // Within one batch the last copy wins.
    s.upsert(vec![
        CreatorDoc {
            verified: true,
            ..creator("usr_c")
        },
        CreatorDoc {
            verified: false,
            ..creator("usr_c")
        },
    ])
    .await
    .unwrap();
    assert!(set(
        &s,
        SearchQuery {
            verified: Some(true),
            ..q()
        }
    )
    .await
    .is_empty());
    assert_eq!(s.search(&q()).await.unwrap().total, 3);

    s.remove("usr_a").await.unwrap();
    s.remove("usr_missing").await.unwrap();
    assert_eq!(set(&s, q()).await, ["usr_b", "usr_c"]);
}

#[tokio::test]
async fn bad_cursors_are_rejected_and_map_to_a_cursor_field_error() {
    let s = index((0..5).map(|i| creator(&format!("usr_{i}"))).collect()).await;
    for cursor in ["", "garbage", "r.zzzz.00", "r.0000000000000000.f"] {
        let err = s
            .search(&SearchQuery {
                cursor: Some(cursor.into()),
                ..q()
            })
            .await
            .unwrap_err();
        assert_eq!(err, SearchError::BadCursor, "{cursor:?}");
    }
    // A cursor from another sort order is not accepted either.
    let page = s.search(&SearchQuery { limit: 2, ..q() }).await.unwrap();
    let err = s
        .search(&SearchQuery {
            limit: 2,
            sort: Sort::Newest,
            cursor: page.next_cursor,
            ..q()
        })
        .await
        .unwrap_err();
    assert_eq!(err, SearchError::BadCursor);

    match nexus_core::Error::from(SearchError::BadCursor) {
        nexus_core::Error::Validation(fields) => assert_eq!(fields[0].pointer, "/cursor"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        nexus_core::Error::from(SearchError::BadCursor).status(),
        400
    );
}

#[tokio::test]
async fn invalid_queries_are_field_errors() {
    let s = index(vec![creator("usr_a")]).await;
    let err = s
        .search(&SearchQuery { limit: 0, ..q() })
        .await
        .unwrap_err();
    let core = nexus_core::Error::from(err);
    assert_eq!(core.status(), 400);
    let err = s.upsert(vec![creator("  ")]).await.unwrap_err();
    assert!(matches!(err, SearchError::InvalidDoc { .. }));
}

#[tokio::test]
async fn mmap_index_persists_across_opens() {
    let dir = std::env::temp_dir().join(format!("nexus-search-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let s = TantivySearch::open(&dir).unwrap();
        s.upsert(vec![creator("usr_a"), creator("usr_b")])
            .await
            .unwrap();
        s.compact().unwrap();
        assert_eq!(s.num_docs(), 2);
    }
    let s = TantivySearch::open(&dir).unwrap();
    assert_eq!(set(&s, q()).await, ["usr_a", "usr_b"]);
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn query_json_is_camel_case_with_defaults() {
    let q: SearchQuery = serde_json::from_str(
        r#"{"text":"yoga","followersMin":1000,"audienceCountry":["US",0.3],"sort":"followersDesc"}"#,
    )
    .unwrap();
    assert_eq!(q.followers_min, Some(1000));
    assert_eq!(q.audience_country, Some(("US".into(), 0.3)));
    assert_eq!(q.sort, Sort::FollowersDesc);
    assert_eq!(q.limit, 20);
}
