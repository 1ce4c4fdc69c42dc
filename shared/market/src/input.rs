//! Parsing wire DTOs into domain values, collecting every field error with
//! its JSON pointer (one 400 lists them all).

use std::collections::BTreeMap;

use nexus_core::money::{Currency, Money};
use nexus_core::validation::Validator;
use nexus_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::vocab::{AgeBand, Gender};

/// Money on the wire: integer minor units and an ISO 4217 code.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct MoneyInput {
    /// Minor units (cents), ≥ 0.
    #[schema(example = 25000)]
    pub amount: Option<i64>,
    #[schema(example = "USD")]
    pub currency: Option<String>,
}

/// Audience distributions: shares (0–1) per age band, gender and country.
/// Each distribution sums to at most 1 (the rest is unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Audience {
    /// `13-17`, `18-24`, `25-34`, `35-44`, `45-54`, `55+` → share.
    #[serde(default)]
    pub age: BTreeMap<String, f64>,
    /// `female`, `male`, `other` → share.
    #[serde(default)]
    pub gender: BTreeMap<String, f64>,
    /// ISO 3166-1 alpha-2 → share.
    #[serde(default)]
    pub countries: BTreeMap<String, f64>,
}

impl Audience {
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.gender.is_empty() && self.countries.is_empty()
    }
}

pub fn money(v: &mut Validator, pointer: &str, m: Option<&MoneyInput>) -> Option<Money> {
    let Some(m) = m else {
        v.error(
            pointer,
            "required",
            format!("{} is required", last(pointer)),
        );
        return None;
    };
    let currency = match m.currency.as_deref() {
        None => {
            v.error(
                &format!("{pointer}/currency"),
                "required",
                "currency is required",
            );
            None
        }
        Some(c) => match Currency::parse(c) {
            Ok(c) => Some(c),
            Err(e) => {
                v.error(
                    &format!("{pointer}/currency"),
                    "unknown_value",
                    e.to_string(),
                );
                None
            }
        },
    };
    let amount = match m.amount {
        None => {
            v.error(
                &format!("{pointer}/amount"),
                "required",
                "amount is required",
            );
            None
        }
        Some(a) if a < 0 => {
            v.error(
                &format!("{pointer}/amount"),
                "out_of_range",
                "amount must not be negative",
            );
            None
        }
        Some(a) => Some(a),
    };
    Some(Money::new(amount?, currency?))
}

/// ISO 3166-1 alpha-2, upper case.
pub fn country(v: &mut Validator, pointer: &str, raw: &str) -> Option<String> {
    let c = raw.trim().to_uppercase();
    if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
        Some(c)
    } else {
        v.error(
            pointer,
            "invalid_format",
            "use an ISO 3166-1 alpha-2 country code, e.g. US",
        );
        None
    }
}

/// ISO 639-1, lower case.
pub fn language(v: &mut Validator, pointer: &str, raw: &str) -> Option<String> {
    let c = raw.trim().to_lowercase();
    if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_lowercase()) {
        Some(c)
    } else {
        v.error(
            pointer,
            "invalid_format",
            "use an ISO 639-1 language code, e.g. en",
        );
        None
    }
}

/// Lower-case slug tags (`beauty`, `home-fitness`), at most `max`, deduplicated.
pub fn tags(v: &mut Validator, pointer: &str, raw: &[String], max: usize) -> Vec<String> {
    if raw.len() > max {
        v.error(pointer, "too_long", format!("at most {max} entries"));
        return vec![];
    }
    let mut out: Vec<String> = vec![];
    for (i, t) in raw.iter().enumerate() {
        let t = t.trim().to_lowercase();
        let ok = (2..=40).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok {
            v.error(
                &format!("{pointer}/{i}"),
                "invalid_format",
                "2–40 characters: a-z, 0-9 and '-'",
            );
        } else if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

pub fn codes(
    v: &mut Validator,
    pointer: &str,
    raw: &[String],
    max: usize,
    parse: fn(&mut Validator, &str, &str) -> Option<String>,
) -> Vec<String> {
    if raw.len() > max {
        v.error(pointer, "too_long", format!("at most {max} entries"));
        return vec![];
    }
    let mut out = vec![];
    for (i, c) in raw.iter().enumerate() {
        if let Some(c) = parse(v, &format!("{pointer}/{i}"), c) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// An `https://` (or `http://`) URL of at most 2 000 characters.
pub fn url(v: &mut Validator, pointer: &str, raw: Option<&str>) -> Option<String> {
    let Some(raw) = raw else {
        v.error(pointer, "required", "url is required");
        return None;
    };
    let u = raw.trim();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    match rest {
        Some(r) if u.len() <= 2000 && !r.is_empty() && !r.contains(char::is_whitespace) => {
            Some(u.to_owned())
        }
        _ => {
            v.error(pointer, "invalid_format", "must be an http(s) URL");
            None
        }
    }
}

pub fn timestamp(v: &mut Validator, pointer: &str, raw: Option<&str>) -> Option<Timestamp> {
    v.parse(pointer, raw, "invalid_format", |s| {
        s.parse::<Timestamp>()
            .map_err(|_| "use an RFC 3339 date-time, e.g. 2026-12-01T09:00:00Z")
    })
}

/// An IANA time zone name (`Europe/Paris`).
pub fn time_zone(v: &mut Validator, pointer: &str, raw: Option<&str>) -> Option<String> {
    let raw = raw.unwrap_or("UTC");
    match jiff::tz::TimeZone::get(raw) {
        Ok(_) => Some(raw.to_owned()),
        Err(_) => {
            v.error(
                pointer,
                "unknown_value",
                "use an IANA time zone name, e.g. Europe/Paris",
            );
            None
        }
    }
}

fn shares<K>(
    v: &mut Validator,
    pointer: &str,
    raw: &BTreeMap<String, f64>,
    key: impl Fn(&str) -> Result<K, String>,
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut sum = 0.0;
    for (k, share) in raw {
        let p = format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1"));
        if let Err(e) = key(k) {
            v.error(&p, "unknown_value", e);
            continue;
        }
        if !share.is_finite() || !(0.0..=1.0).contains(share) {
            v.error(&p, "out_of_range", "a share between 0 and 1");
            continue;
        }
        sum += share;
        out.insert(k.clone(), *share);
    }
    if sum > 1.0001 {
        v.error(pointer, "out_of_range", "shares must sum to at most 1");
    }
    out
}

pub fn audience(v: &mut Validator, pointer: &str, a: &Audience) -> Audience {
    Audience {
        age: shares(v, &format!("{pointer}/age"), &a.age, |k| {
            AgeBand::parse(k).map(|_| ())
        }),
        gender: shares(v, &format!("{pointer}/gender"), &a.gender, |k| {
            Gender::parse(k).map(|_| ())
        }),
        countries: shares(v, &format!("{pointer}/countries"), &a.countries, |k| {
            if k.len() == 2 && k.chars().all(|c| c.is_ascii_uppercase()) {
                Ok(())
            } else {
                Err("use ISO 3166-1 alpha-2 upper-case codes".into())
            }
        }),
    }
}

fn last(pointer: &str) -> &str {
    pointer.rsplit('/').next().unwrap_or("value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes_of(v: Validator) -> Vec<(String, String)> {
        match v.finish() {
            Ok(()) => vec![],
            Err(nexus_core::Error::Validation(e)) => {
                e.into_iter().map(|e| (e.pointer, e.code)).collect()
            }
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn money_refuses_negative_and_unknown_currency() {
        let mut v = Validator::new();
        let m = MoneyInput {
            amount: Some(-1),
            currency: Some("BTC".into()),
        };
        assert!(money(&mut v, "/budget/total", Some(&m)).is_none());
        assert_eq!(
            codes_of(v),
            [
                ("/budget/total/currency".into(), "unknown_value".into()),
                ("/budget/total/amount".into(), "out_of_range".into())
            ]
        );
    }

    #[test]
    fn audience_shares_are_checked() {
        let mut v = Validator::new();
        let a = Audience {
            age: BTreeMap::from([("18-24".into(), 0.7), ("12-15".into(), 0.1)]),
            gender: BTreeMap::from([("female".into(), 0.8), ("male".into(), 0.5)]),
            countries: BTreeMap::from([("us".into(), 0.2), ("FR".into(), 1.5)]),
        };
        audience(&mut v, "/audience", &a);
        let c = codes_of(v);
        assert!(c.contains(&("/audience/age/12-15".into(), "unknown_value".into())));
        assert!(c.contains(&("/audience/gender".into(), "out_of_range".into())));
        assert!(c.contains(&("/audience/countries/us".into(), "unknown_value".into())));
        assert!(c.contains(&("/audience/countries/FR".into(), "out_of_range".into())));
    }

    #[test]
    fn tags_codes_urls_and_zones() {
        let mut v = Validator::new();
        assert_eq!(
            tags(&mut v, "/niches", &["Beauty".into(), "beauty".into()], 5),
            ["beauty"]
        );
        assert_eq!(country(&mut v, "/c", "fr"), Some("FR".into()));
        assert!(url(&mut v, "/u", Some("https://x.com/a")).is_some());
        assert!(time_zone(&mut v, "/tz", Some("Europe/Paris")).is_some());
        assert!(v.is_ok());
        assert!(url(&mut v, "/u2", Some("javascript:alert(1)")).is_none());
        assert!(time_zone(&mut v, "/tz2", Some("Mars/Olympus")).is_none());
        assert!(tags(&mut v, "/t", &["no spaces".into()], 5).is_empty());
        assert_eq!(codes_of(v).len(), 3);
    }
}
