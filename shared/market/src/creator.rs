//! Creator profiles: owned by a creator account, keyed by that account's id
//! (the creator is its own tenant: `C#<usr_…>`).

use nexus_core::ids::{UserId, VerificationId};
use nexus_core::money::Money;
use nexus_core::validation::{one_of, Validator};
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input::{self, Audience, MoneyInput};
use crate::reputation::{CreatorStats, Reputation};
use crate::vocab::{closed_enum, DeliverableType, SocialPlatform};

pub const MAX_PORTFOLIO: usize = 50;
pub const MAX_RATES: usize = 40;

closed_enum!(
    /// Kinds of verification a creator can request.
    VerificationKind {
        Social = "social",
        Document = "document",
        VideoSelfie = "video_selfie",
        Phone = "phone",
    }
);

closed_enum!(
    VerificationStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
    }
);

closed_enum!(
    Availability {
        Available = "available",
        Limited = "limited",
        Unavailable = "unavailable",
    }
);

/// A linked social account with its reported statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SocialAccount {
    pub platform: SocialPlatform,
    pub handle: String,
    pub followers: u64,
    pub average_views: u64,
    /// Engagement rate as a fraction (0.045 = 4.5 %).
    pub engagement_rate: f64,
    #[serde(default)]
    pub audience: Audience,
    #[schema(value_type = String, format = DateTime)]
    pub linked_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioItem {
    pub id: String,
    pub title: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<SocialPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliverable_type: Option<DeliverableType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rate {
    pub platform: SocialPlatform,
    pub deliverable_type: DeliverableType,
    pub price: Money,
}

/// A badge shown on the profile; only ever added by an approved verification request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Badge {
    pub kind: VerificationKind,
    pub request_id: VerificationId,
    #[schema(value_type = String, format = DateTime)]
    pub granted_at: Timestamp,
    /// Social badges: the verified account. Linking another handle on this
    /// platform (or unlinking it) removes the badge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<SocialPlatform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}

impl Badge {
    /// Does this badge vouch for `platform`'s account? (A social badge from
    /// before badges named their account vouches for none in particular, so
    /// any change of a linked account ends it.)
    fn covers(&self, platform: SocialPlatform) -> bool {
        self.kind == VerificationKind::Social && self.platform.is_none_or(|p| p == platform)
    }
}

/// Handles are compared as platforms do: without `@`, case-insensitively.
fn same_handle(a: &str, b: &str) -> bool {
    a.trim_start_matches('@')
        .eq_ignore_ascii_case(b.trim_start_matches('@'))
}

/// The creator profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatorProfile {
    pub creator_id: UserId,
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub niches: Vec<String>,
    pub content_styles: Vec<String>,
    pub languages: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    pub rate_card: Vec<Rate>,
    pub portfolio: Vec<PortfolioItem>,
    pub social_accounts: Vec<SocialAccount>,
    pub availability: Availability,
    pub badges: Vec<Badge>,
    /// `true` once any verification request was approved.
    pub verified: bool,
    pub reputation: Reputation,
    #[serde(default)]
    pub stats: CreatorStats,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

/// Body of `PUT /v1/creators/me` (the whole editable profile).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    /// 3–30 characters: a-z, 0-9, `_` and `.`; unique.
    pub handle: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    #[serde(default)]
    pub niches: Vec<String>,
    #[serde(default)]
    pub content_styles: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    #[serde(default)]
    pub rate_card: Vec<RateInput>,
    /// `available` (default), `limited`, `unavailable`.
    pub availability: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateInput {
    pub platform: Option<String>,
    pub deliverable_type: Option<String>,
    pub price: Option<MoneyInput>,
}

/// The validated editable part of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileFields {
    pub handle: String,
    pub display_name: String,
    pub bio: String,
    pub niches: Vec<String>,
    pub content_styles: Vec<String>,
    pub languages: Vec<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub rate_card: Vec<Rate>,
    pub availability: Availability,
}

pub fn parse_handle(raw: &str) -> Result<String, String> {
    let h = raw.trim().trim_start_matches('@').to_lowercase();
    let ok = (3..=30).contains(&h.len())
        && h.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.');
    if ok {
        Ok(h)
    } else {
        Err("3–30 characters: a-z, 0-9, '_' and '.'".into())
    }
}

fn enum_field<T>(
    v: &mut Validator,
    pointer: &str,
    raw: Option<&str>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    v.parse(pointer, raw, "unknown_value", parse)
}

impl ProfileInput {
    pub fn parse(self) -> Result<ProfileFields, Error> {
        let mut v = Validator::new();
        let handle = v.parse(
            "/handle",
            self.handle.as_deref(),
            "invalid_format",
            parse_handle,
        );
        let display_name = v.text("/displayName", self.display_name, 1, 80);
        let bio = v.text("/bio", Some(self.bio.unwrap_or_default()), 0, 2000);
        let niches = input::tags(&mut v, "/niches", &self.niches, 10);
        let content_styles = input::tags(&mut v, "/contentStyles", &self.content_styles, 10);
        let languages = input::codes(&mut v, "/languages", &self.languages, 10, input::language);
        let country = self
            .country
            .as_deref()
            .and_then(|c| input::country(&mut v, "/country", c));
        let city = match self.city {
            Some(c) => v.text("/city", Some(c), 1, 80),
            None => None,
        };
        if self.rate_card.len() > MAX_RATES {
            v.error(
                "/rateCard",
                "too_long",
                format!("at most {MAX_RATES} rates"),
            );
        }
        let mut rate_card: Vec<Rate> = vec![];
        for (i, r) in self.rate_card.iter().enumerate().take(MAX_RATES) {
            let p = format!("/rateCard/{i}");
            let platform = enum_field(
                &mut v,
                &format!("{p}/platform"),
                r.platform.as_deref(),
                SocialPlatform::parse,
            );
            let kind = enum_field(
                &mut v,
                &format!("{p}/deliverableType"),
                r.deliverable_type.as_deref(),
                DeliverableType::parse,
            );
            let price = input::money(&mut v, &format!("{p}/price"), r.price.as_ref());
            if let (Some(platform), Some(deliverable_type), Some(price)) = (platform, kind, price) {
                if rate_card
                    .iter()
                    .any(|x| x.platform == platform && x.deliverable_type == deliverable_type)
                {
                    v.error(
                        &p,
                        "duplicate",
                        "one rate per platform and deliverable type",
                    );
                } else {
                    rate_card.push(Rate {
                        platform,
                        deliverable_type,
                        price,
                    });
                }
            }
        }
        let availability = match self.availability.as_deref() {
            None => Some(Availability::Available),
            raw => enum_field(&mut v, "/availability", raw, Availability::parse),
        };
        v.finish()?;
        Ok(ProfileFields {
            handle: handle.unwrap_or_default(),
            display_name: display_name.unwrap_or_default(),
            bio: bio.unwrap_or_default(),
            niches,
            content_styles,
            languages,
            country,
            city,
            rate_card,
            availability: availability.unwrap_or(Availability::Available),
        })
    }
}

/// Body of `POST /v1/creators/me/social-accounts` (link or refresh one platform).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SocialAccountInput {
    pub platform: Option<String>,
    pub handle: Option<String>,
    pub followers: Option<i64>,
    pub average_views: Option<i64>,
    /// Fraction, 0–1.
    pub engagement_rate: Option<f64>,
    #[serde(default)]
    pub audience: Audience,
}

impl SocialAccountInput {
    pub fn parse(self, now: Timestamp) -> Result<SocialAccount, Error> {
        let mut v = Validator::new();
        let platform = enum_field(
            &mut v,
            "/platform",
            self.platform.as_deref(),
            SocialPlatform::parse,
        );
        let handle = v.parse("/handle", self.handle.as_deref(), "invalid_format", |h| {
            let h = h.trim().trim_start_matches('@');
            if (1..=100).contains(&h.len()) && !h.contains(char::is_whitespace) {
                Ok(h.to_owned())
            } else {
                Err("1–100 characters without spaces")
            }
        });
        let count = |v: &mut Validator, p: &str, n: Option<i64>| match n {
            Some(n) if n >= 0 => Some(n as u64),
            Some(_) => {
                v.error(p, "out_of_range", "must not be negative");
                None
            }
            None => Some(0),
        };
        let followers = count(&mut v, "/followers", self.followers);
        let average_views = count(&mut v, "/averageViews", self.average_views);
        let engagement_rate = match self.engagement_rate {
            Some(e) if e.is_finite() && (0.0..=1.0).contains(&e) => Some(e),
            None => Some(0.0),
            Some(_) => {
                v.error(
                    "/engagementRate",
                    "out_of_range",
                    "a fraction between 0 and 1",
                );
                None
            }
        };
        let audience = input::audience(&mut v, "/audience", &self.audience);
        v.finish()?;
        Ok(SocialAccount {
            platform: platform.ok_or_else(|| Error::internal("validated"))?,
            handle: handle.unwrap_or_default(),
            followers: followers.unwrap_or(0),
            average_views: average_views.unwrap_or(0),
            engagement_rate: engagement_rate.unwrap_or(0.0),
            audience,
            linked_at: now,
        })
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioInput {
    pub title: Option<String>,
    pub url: Option<String>,
    pub platform: Option<String>,
    pub deliverable_type: Option<String>,
}

impl PortfolioInput {
    pub fn parse(self, id: String) -> Result<PortfolioItem, Error> {
        let mut v = Validator::new();
        let title = v.text("/title", self.title, 1, 120);
        let url = input::url(&mut v, "/url", self.url.as_deref());
        let platform = match self.platform.as_deref() {
            Some(p) => enum_field(&mut v, "/platform", Some(p), SocialPlatform::parse),
            None => None,
        };
        let deliverable_type = match self.deliverable_type.as_deref() {
            Some(p) => enum_field(&mut v, "/deliverableType", Some(p), DeliverableType::parse),
            None => None,
        };
        v.finish()?;
        Ok(PortfolioItem {
            id,
            title: title.unwrap_or_default(),
            url: url.unwrap_or_default(),
            platform,
            deliverable_type,
        })
    }
}

impl CreatorProfile {
    pub fn new(creator_id: UserId, f: ProfileFields, now: Timestamp) -> Self {
        let mut p = Self {
            creator_id,
            handle: String::new(),
            display_name: String::new(),
            bio: String::new(),
            niches: vec![],
            content_styles: vec![],
            languages: vec![],
            country: None,
            city: None,
            rate_card: vec![],
            portfolio: vec![],
            social_accounts: vec![],
            availability: Availability::Available,
            badges: vec![],
            verified: false,
            reputation: Reputation::default(),
            stats: CreatorStats::default(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        p.apply(f, now);
        p
    }

    pub fn apply(&mut self, f: ProfileFields, now: Timestamp) {
        self.handle = f.handle;
        self.display_name = f.display_name;
        self.bio = f.bio;
        self.niches = f.niches;
        self.content_styles = f.content_styles;
        self.languages = f.languages;
        self.country = f.country;
        self.city = f.city;
        self.rate_card = f.rate_card;
        self.availability = f.availability;
        self.touch(now);
    }

    /// Recompute what depends on the rest (reputation's completeness factor).
    pub fn touch(&mut self, now: Timestamp) {
        self.updated_at = now;
        self.reputation = crate::reputation::compute(&self.stats, self.completeness());
    }

    /// Link (or refresh) one platform's account. Refreshing the same handle
    /// keeps its social badge; linking another handle removes it (the badge
    /// vouched for the account that was reviewed, not for the platform).
    pub fn link(&mut self, account: SocialAccount, now: Timestamp) {
        let relinked = self
            .social_accounts
            .iter()
            .any(|a| a.platform == account.platform && !same_handle(&a.handle, &account.handle));
        if relinked {
            self.drop_social_badges(account.platform);
        }
        self.social_accounts
            .retain(|a| a.platform != account.platform);
        self.social_accounts.push(account);
        self.social_accounts.sort_by_key(|a| a.platform);
        self.touch(now);
    }

    /// Unlink one platform's account (and its social badge).
    pub fn unlink(&mut self, platform: SocialPlatform, now: Timestamp) -> Result<(), Error> {
        let before = self.social_accounts.len();
        self.social_accounts.retain(|a| a.platform != platform);
        if before == self.social_accounts.len() {
            return Err(Error::NotFound {
                resource: "social account",
            });
        }
        self.drop_social_badges(platform);
        self.touch(now);
        Ok(())
    }

    fn drop_social_badges(&mut self, platform: SocialPlatform) {
        self.badges.retain(|b| !b.covers(platform));
        self.verified = !self.badges.is_empty();
    }

    pub fn add_portfolio(&mut self, item: PortfolioItem, now: Timestamp) -> Result<(), Error> {
        if self.portfolio.len() >= MAX_PORTFOLIO {
            return Err(Error::conflict(
                "portfolio-full",
                format!("a portfolio holds at most {MAX_PORTFOLIO} items"),
            ));
        }
        self.portfolio.push(item);
        self.touch(now);
        Ok(())
    }

    pub fn remove_portfolio(&mut self, id: &str, now: Timestamp) -> Result<(), Error> {
        let before = self.portfolio.len();
        self.portfolio.retain(|p| p.id != id);
        if before == self.portfolio.len() {
            return Err(Error::NotFound {
                resource: "portfolio item",
            });
        }
        self.touch(now);
        Ok(())
    }

    /// Profile completeness 0–1: the share of the ten things a brand looks at.
    pub fn completeness(&self) -> f64 {
        let checks = [
            !self.display_name.is_empty(),
            self.bio.chars().count() >= 50,
            !self.niches.is_empty(),
            !self.content_styles.is_empty(),
            !self.languages.is_empty(),
            self.country.is_some(),
            !self.rate_card.is_empty(),
            !self.portfolio.is_empty(),
            !self.social_accounts.is_empty(),
            self.social_accounts.iter().any(|a| !a.audience.is_empty()),
        ];
        checks.iter().filter(|c| **c).count() as f64 / checks.len() as f64
    }

    /// Audience over all linked accounts, weighted by followers.
    pub fn audience(&self) -> Audience {
        let total: f64 = self
            .social_accounts
            .iter()
            .filter(|a| !a.audience.is_empty())
            .map(|a| a.followers.max(1) as f64)
            .sum();
        let mut out = Audience::default();
        if total == 0.0 {
            return out;
        }
        for a in self
            .social_accounts
            .iter()
            .filter(|a| !a.audience.is_empty())
        {
            let w = a.followers.max(1) as f64 / total;
            for (dst, src) in [
                (&mut out.age, &a.audience.age),
                (&mut out.gender, &a.audience.gender),
                (&mut out.countries, &a.audience.countries),
            ] {
                for (k, s) in src {
                    *dst.entry(k.clone()).or_insert(0.0) += s * w;
                }
            }
        }
        out
    }

    /// Grant the badge of an approved request (the only way to a badge). A
    /// social badge is for the account the request named: if the creator has
    /// linked another handle on that platform since, it is refused.
    pub fn grant_badge(&mut self, r: &VerificationRequest, now: Timestamp) -> Result<(), Error> {
        if r.status != VerificationStatus::Approved || r.creator_id != self.creator_id {
            return Err(Error::conflict(
                "not-approved",
                "a badge needs an approved verification request",
            ));
        }
        let (platform, handle) = match r.kind {
            VerificationKind::Social => {
                let platform = SocialPlatform::parse(&r.evidence).ok();
                let linked = self
                    .social_accounts
                    .iter()
                    .find(|a| Some(a.platform) == platform);
                match (linked, r.handle.as_deref()) {
                    (Some(a), Some(h)) if same_handle(&a.handle, h) => {
                        (Some(a.platform), Some(a.handle.clone()))
                    }
                    _ => {
                        return Err(Error::conflict(
                            "account-changed",
                            format!(
                                "the creator's {} account is no longer the one this request was for; reject it and let them request again",
                                r.evidence
                            ),
                        ))
                    }
                }
            }
            _ => (None, None),
        };
        self.badges.retain(|b| b.kind != r.kind);
        self.badges.push(Badge {
            kind: r.kind,
            request_id: r.id.clone(),
            granted_at: now,
            platform,
            handle,
        });
        self.badges.sort_by_key(|b| b.kind);
        self.verified = true;
        self.touch(now);
        Ok(())
    }

    /// The lowest price on the rate card for a deliverable type (any platform), if any.
    pub fn rate_for(&self, kind: Option<DeliverableType>, currency: &str) -> Option<Money> {
        self.rate_card
            .iter()
            .filter(|r| r.price.currency.code() == currency)
            .filter(|r| kind.is_none_or(|k| r.deliverable_type == k))
            .map(|r| r.price)
            .min_by_key(|m| m.amount)
    }
}

/// A verification request, reviewed by NEXUS staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRequest {
    pub id: VerificationId,
    pub creator_id: UserId,
    pub kind: VerificationKind,
    pub status: VerificationStatus,
    /// Social: the platform; document/video selfie: an uploaded media key or URL; phone: E.164 number.
    pub evidence: String,
    /// Social: the handle linked on that platform when the request was made
    /// (the account the badge will vouch for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reviewed_at: Option<Timestamp>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationInput {
    /// `social`, `document`, `video_selfie`, `phone`.
    pub kind: Option<String>,
    /// Social: the linked platform (`instagram`); document / video selfie: the
    /// uploaded file's URL; phone: the number in E.164 (`+14155550123`).
    pub evidence: Option<String>,
}

impl VerificationInput {
    pub fn parse(
        self,
        profile: &CreatorProfile,
        now: Timestamp,
    ) -> Result<VerificationRequest, Error> {
        let mut v = Validator::new();
        let kind = enum_field(
            &mut v,
            "/kind",
            self.kind.as_deref(),
            VerificationKind::parse,
        );
        let mut handle = None;
        let evidence = match kind {
            Some(VerificationKind::Social) => {
                let p = enum_field(
                    &mut v,
                    "/evidence",
                    self.evidence.as_deref(),
                    SocialPlatform::parse,
                );
                if let Some(p) = p {
                    match profile.social_accounts.iter().find(|a| a.platform == p) {
                        Some(a) => handle = Some(a.handle.clone()),
                        None => v.error(
                            "/evidence",
                            "not_linked",
                            format!("link your {p} account first"),
                        ),
                    }
                }
                p.map(|p| p.as_str().to_owned())
            }
            Some(VerificationKind::Phone) => v.parse(
                "/evidence",
                self.evidence.as_deref(),
                "invalid_format",
                |s| {
                    let digits = s.strip_prefix('+').unwrap_or("");
                    if (8..=15).contains(&digits.len())
                        && digits.chars().all(|c| c.is_ascii_digit())
                    {
                        Ok(s.to_owned())
                    } else {
                        Err("an E.164 number, e.g. +14155550123")
                    }
                },
            ),
            Some(_) => input::url(&mut v, "/evidence", self.evidence.as_deref()),
            None => None,
        };
        v.finish()?;
        Ok(VerificationRequest {
            id: VerificationId::new(),
            creator_id: profile.creator_id.clone(),
            kind: kind.ok_or_else(|| Error::internal("validated"))?,
            status: VerificationStatus::Pending,
            evidence: evidence.unwrap_or_default(),
            handle,
            reason: None,
            reviewed_by: None,
            reviewed_at: None,
            created_at: now,
            version: 0,
        })
    }
}

/// Body of `POST /v1/staff/verification-requests/{id}/decision`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ReviewInput {
    /// `approve` or `reject`.
    pub decision: Option<String>,
    /// Required when rejecting; shown to the creator.
    pub reason: Option<String>,
}

impl VerificationRequest {
    /// A staff decision. Only pending requests can be reviewed, and never by
    /// the creator who made them (staff accounts can be creators too).
    pub fn review(
        &mut self,
        staff: UserId,
        input: ReviewInput,
        now: Timestamp,
    ) -> Result<(), Error> {
        if staff == self.creator_id {
            return Err(Error::Forbidden(
                "you can't review your own verification request; another staff member must".into(),
            ));
        }
        let mut v = Validator::new();
        let approve = v.parse(
            "/decision",
            input.decision.as_deref(),
            "unknown_value",
            |d| one_of(d, &[("approve", true), ("reject", false)]),
        );
        let reason = match (approve, input.reason) {
            (Some(false), r) => v.text("/reason", r, 3, 500),
            (_, Some(r)) => v.text("/reason", Some(r), 0, 500),
            _ => None,
        };
        v.finish()?;
        if self.status != VerificationStatus::Pending {
            return Err(Error::InvalidTransition {
                resource: "verification request",
                from: self.status.as_str().into(),
                to: if approve == Some(true) {
                    "approved"
                } else {
                    "rejected"
                }
                .into(),
                allowed: vec![],
            });
        }
        self.status = if approve == Some(true) {
            VerificationStatus::Approved
        } else {
            VerificationStatus::Rejected
        };
        self.reason = reason;
        self.reviewed_by = Some(staff);
        self.reviewed_at = Some(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    fn fields() -> ProfileFields {
        ProfileInput {
            handle: Some("@Mia.Makes".into()),
            display_name: Some("Mia".into()),
            niches: vec!["beauty".into()],
            ..Default::default()
        }
        .parse()
        .unwrap()
    }

    #[test]
    fn parses_profile_and_normalises_handle() {
        let f = fields();
        assert_eq!(f.handle, "mia.makes");
        assert_eq!(f.availability, Availability::Available);
    }

    #[test]
    fn bad_profile_lists_every_field() {
        let e = ProfileInput {
            handle: Some("x".into()),
            display_name: None,
            languages: vec!["english".into()],
            country: Some("USA".into()),
            availability: Some("sometimes".into()),
            rate_card: vec![RateInput {
                platform: Some("myspace".into()),
                deliverable_type: Some("video".into()),
                price: Some(MoneyInput {
                    amount: Some(-5),
                    currency: Some("USD".into()),
                }),
            }],
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let Error::Validation(errs) = e else { panic!() };
        let ptrs: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        for p in [
            "/handle",
            "/displayName",
            "/languages/0",
            "/country",
            "/availability",
            "/rateCard/0/platform",
            "/rateCard/0/price/amount",
        ] {
            assert!(ptrs.contains(&p), "{p} missing in {ptrs:?}");
        }
    }

    #[test]
    fn no_badge_without_an_approved_request() {
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        let mut r = VerificationInput {
            kind: Some("phone".into()),
            evidence: Some("+14155550123".into()),
        }
        .parse(&p, now())
        .unwrap();
        assert!(p.grant_badge(&r, now()).is_err());
        assert!(!p.verified);
        r.review(
            UserId::new(),
            ReviewInput {
                decision: Some("reject".into()),
                reason: None,
            },
            now(),
        )
        .unwrap_err(); // a rejection needs a reason
        r.review(
            UserId::new(),
            ReviewInput {
                decision: Some("approve".into()),
                reason: None,
            },
            now(),
        )
        .unwrap();
        p.grant_badge(&r, now()).unwrap();
        assert!(p.verified);
        assert_eq!(p.badges.len(), 1);
        // Reviewing twice is a conflict listing nothing allowed.
        let again = r.review(
            UserId::new(),
            ReviewInput {
                decision: Some("reject".into()),
                reason: Some("changed my mind".into()),
            },
            now(),
        );
        assert_eq!(again.unwrap_err().status(), 409);
    }

    #[test]
    fn social_verification_needs_a_linked_account() {
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        let req = || VerificationInput {
            kind: Some("social".into()),
            evidence: Some("tiktok".into()),
        };
        assert!(req().parse(&p, now()).is_err());
        p.link(
            SocialAccountInput {
                platform: Some("tiktok".into()),
                handle: Some("@mia".into()),
                followers: Some(1000),
                ..Default::default()
            }
            .parse(now())
            .unwrap(),
            now(),
        );
        assert!(req().parse(&p, now()).is_ok());
    }

    fn link(p: &mut CreatorProfile, platform: &str, handle: &str) {
        p.link(
            SocialAccountInput {
                platform: Some(platform.into()),
                handle: Some(handle.into()),
                followers: Some(1000),
                ..Default::default()
            }
            .parse(now())
            .unwrap(),
            now(),
        );
    }

    fn approve(r: &mut VerificationRequest) {
        r.review(
            UserId::new(),
            ReviewInput {
                decision: Some("approve".into()),
                reason: None,
            },
            now(),
        )
        .unwrap();
    }

    fn social(p: &CreatorProfile, platform: &str) -> VerificationRequest {
        VerificationInput {
            kind: Some("social".into()),
            evidence: Some(platform.into()),
        }
        .parse(p, now())
        .unwrap()
    }

    #[test]
    fn a_social_badge_is_for_the_account_that_was_reviewed() {
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        link(&mut p, "tiktok", "@mia");
        link(&mut p, "instagram", "mia.ig");
        let mut r = social(&p, "tiktok");
        assert_eq!(r.handle.as_deref(), Some("mia"));
        approve(&mut r);
        p.grant_badge(&r, now()).unwrap();
        assert_eq!(p.badges[0].handle.as_deref(), Some("mia"));
        // Refreshing the same account (any case, with @) keeps it; other platforms don't matter.
        link(&mut p, "tiktok", "@MIA");
        link(&mut p, "instagram", "someone.else");
        assert!(p.verified && p.badges.len() == 1);
        // Another handle on the verified platform ends it.
        link(&mut p, "tiktok", "famous_person");
        assert!(!p.verified, "{:?}", p.badges);
        assert!(p.badges.is_empty());

        // Approved after the creator switched handles: no badge for the new account.
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        link(&mut p, "tiktok", "mia");
        let mut r = social(&p, "tiktok");
        link(&mut p, "tiktok", "famous_person");
        approve(&mut r);
        assert_eq!(
            p.grant_badge(&r, now()).unwrap_err().code(),
            "account-changed"
        );
        assert!(!p.verified);

        // Unlinking removes it; other kinds of badge stay.
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        link(&mut p, "tiktok", "mia");
        let mut r = social(&p, "tiktok");
        approve(&mut r);
        p.grant_badge(&r, now()).unwrap();
        let mut phone = VerificationInput {
            kind: Some("phone".into()),
            evidence: Some("+14155550123".into()),
        }
        .parse(&p, now())
        .unwrap();
        approve(&mut phone);
        p.grant_badge(&phone, now()).unwrap();
        p.unlink(SocialPlatform::TikTok, now()).unwrap();
        assert_eq!(p.badges.len(), 1);
        assert_eq!(p.badges[0].kind, VerificationKind::Phone);
        assert!(p.verified);
    }

    #[test]
    fn staff_never_review_their_own_request() {
        let creator = UserId::new();
        let p = CreatorProfile::new(creator.clone(), fields(), now());
        let mut r = VerificationInput {
            kind: Some("phone".into()),
            evidence: Some("+14155550123".into()),
        }
        .parse(&p, now())
        .unwrap();
        let e = r
            .review(
                creator,
                ReviewInput {
                    decision: Some("approve".into()),
                    reason: None,
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(e.status(), 403);
        assert_eq!(r.status, VerificationStatus::Pending);
        assert!(r.reviewed_by.is_none());
    }

    #[test]
    fn audience_is_follower_weighted() {
        let mut p = CreatorProfile::new(UserId::new(), fields(), now());
        for (platform, followers, us) in [("tiktok", 3000, 1.0), ("instagram", 1000, 0.0)] {
            let mut a = Audience::default();
            a.countries.insert("US".into(), us);
            a.countries.insert("FR".into(), 1.0 - us);
            p.link(
                SocialAccountInput {
                    platform: Some(platform.into()),
                    handle: Some("mia".into()),
                    followers: Some(followers),
                    audience: a,
                    ..Default::default()
                }
                .parse(now())
                .unwrap(),
                now(),
            );
        }
        let a = p.audience();
        assert!((a.countries["US"] - 0.75).abs() < 1e-9);
        assert!(p.completeness() > 0.3);
    }
}
