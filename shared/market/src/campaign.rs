//! Campaigns: what a brand wants made, for whom, with which rights, budget and dates.

use nexus_core::ids::{CampaignId, OrgId};
use nexus_core::money::Money;
use nexus_core::plans::{Limit, Plan};
use nexus_core::validation::Validator;
use nexus_core::{Error, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input::{self, Audience, MoneyInput};
use crate::lifecycle::{self, CampaignStatus, Trigger};
use crate::vocab::{closed_enum, DeliverableType, SocialPlatform};

closed_enum!(
    CampaignType {
        Ugc = "ugc",
        BrandAmbassador = "brand_ambassador",
        ProductReview = "product_review",
        SocialMedia = "social_media",
        Influencer = "influencer",
        Event = "event",
    }
);

closed_enum!(
    UsageRightsType {
        Exclusive = "exclusive",
        NonExclusive = "non_exclusive",
        Limited = "limited",
        Perpetual = "perpetual",
    }
);

closed_enum!(
    Visibility {
        Public = "public",
        InviteOnly = "invite_only",
    }
);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Brief {
    pub objectives: String,
    pub key_messages: Vec<String>,
    pub dos: Vec<String>,
    pub donts: Vec<String>,
    /// Without `#`.
    pub required_hashtags: Vec<String>,
    /// Without `@`.
    pub required_mentions: Vec<String>,
    /// FTC/ASA disclosure (`#ad`, paid-partnership label). On unless turned off.
    pub ftc_disclosure_required: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliverableSpec {
    #[serde(rename = "type")]
    pub kind: DeliverableType,
    pub platform: SocialPlatform,
    pub quantity: u32,
    #[schema(value_type = String, format = DateTime)]
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRights {
    #[serde(rename = "type")]
    pub kind: UsageRightsType,
    /// Days the rights last; absent for perpetual rights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<u32>,
    /// ISO country codes, or `WW` for worldwide.
    pub territories: Vec<String>,
    /// Where the brand may use the content: `organic_social`, `paid_social`, `website`, `email`, `ooh`, `tv`.
    pub channels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    pub total: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_creator: Option<Money>,
    /// Fees of accepted, not yet delivered contracts (minor units).
    pub committed: i64,
    /// Fees of approved deliverables (minor units).
    pub spent: i64,
}

impl Budget {
    pub fn available(&self) -> i64 {
        self.total.amount - self.committed - self.spent
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub applications_close_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end_at: Option<Timestamp>,
}

/// Who may apply (marketplace eligibility).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    /// Creator's country among these (empty: any).
    pub countries: Vec<String>,
    /// Creator speaks one of these (empty: any).
    pub languages: Vec<String>,
    /// Linked account on one of these (empty: any).
    pub platforms: Vec<SocialPlatform>,
    /// Followers on their largest linked account.
    pub min_followers: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: CampaignId,
    pub org_id: OrgId,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: CampaignType,
    pub brief: Brief,
    /// Niche tags used by discovery and matching.
    pub niches: Vec<String>,
    pub content_styles: Vec<String>,
    pub target_audience: Audience,
    pub deliverables: Vec<DeliverableSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_rights: Option<UsageRights>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    pub dates: Dates,
    /// IANA zone for due dates and reminders.
    pub time_zone: String,
    pub visibility: Visibility,
    pub eligibility: Eligibility,
    pub status: CampaignStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_from: Option<CampaignStatus>,
    /// Creators with an accepted (not cancelled) contract.
    pub creator_count: u32,
    pub contracts_signed: u32,
    /// Deliverables not yet approved or cancelled.
    pub deliverables_open: u32,
    pub submissions: u32,
    /// Who created it: a user (`usr_…`) or an API key (`key_…`).
    pub created_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(default)]
    pub version: u64,
}

// ------------------------------------------------------------------ input

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BriefInput {
    pub objectives: Option<String>,
    #[serde(default)]
    pub key_messages: Vec<String>,
    #[serde(default)]
    pub dos: Vec<String>,
    #[serde(default)]
    pub donts: Vec<String>,
    #[serde(default)]
    pub required_hashtags: Vec<String>,
    #[serde(default)]
    pub required_mentions: Vec<String>,
    /// Defaults to `true`.
    pub ftc_disclosure_required: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliverableInput {
    /// `video`, `image`, `story`, `reel`, `post`, `article`, `review`, `testimonial`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub platform: Option<String>,
    pub quantity: Option<i64>,
    pub due_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsageRightsInput {
    /// `exclusive`, `non_exclusive`, `limited`, `perpetual`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub duration_days: Option<i64>,
    #[serde(default)]
    pub territories: Vec<String>,
    #[serde(default)]
    pub channels: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BudgetInput {
    pub total: Option<MoneyInput>,
    pub per_creator: Option<MoneyInput>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatesInput {
    pub applications_close_at: Option<String>,
    pub start_at: Option<String>,
    pub end_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityInput {
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<String>,
    pub min_followers: Option<i64>,
}

/// Body of `POST /v1/campaigns` and `PATCH /v1/campaigns/{id}` (drafts only).
/// On PATCH, each section present replaces the draft's.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CampaignInput {
    pub title: Option<String>,
    /// `ugc`, `brand_ambassador`, `product_review`, `social_media`, `influencer`, `event`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub brief: Option<BriefInput>,
    pub niches: Option<Vec<String>>,
    pub content_styles: Option<Vec<String>>,
    pub target_audience: Option<Audience>,
    pub deliverables: Option<Vec<DeliverableInput>>,
    pub usage_rights: Option<UsageRightsInput>,
    pub budget: Option<BudgetInput>,
    pub dates: Option<DatesInput>,
    /// IANA time zone for due dates and reminders (default `UTC`).
    pub time_zone: Option<String>,
    /// `public` (marketplace, default) or `invite_only`.
    pub visibility: Option<String>,
    pub eligibility: Option<EligibilityInput>,
}

const CHANNELS: &[&str] = &[
    "organic_social",
    "paid_social",
    "website",
    "email",
    "ooh",
    "tv",
    "retail",
];

fn lines(v: &mut Validator, pointer: &str, raw: &[String], max: usize, len: usize) -> Vec<String> {
    if raw.len() > max {
        v.error(pointer, "too_long", format!("at most {max} entries"));
        return vec![];
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| v.text(&format!("{pointer}/{i}"), Some(s.clone()), 1, len))
        .collect()
}

fn words(v: &mut Validator, pointer: &str, raw: &[String], strip: char) -> Vec<String> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let w = s.trim().trim_start_matches(strip).to_owned();
            if (1..=100).contains(&w.len()) && !w.contains(char::is_whitespace) {
                Some(w)
            } else {
                v.error(
                    &format!("{pointer}/{i}"),
                    "invalid_format",
                    "one word, no spaces",
                );
                None
            }
        })
        .collect()
}

impl CampaignInput {
    /// Validate and apply onto `c` (a new draft or an existing one).
    pub fn apply_to(self, c: &mut Campaign, now: Timestamp) -> Result<(), Error> {
        let mut v = Validator::new();
        if self.title.is_some() || c.title.is_empty() {
            if let Some(t) = v.text("/title", self.title, 3, 140) {
                c.title = t;
            }
        }
        if let Some(k) = self.kind {
            if let Some(k) = v.parse("/type", Some(&k), "unknown_value", CampaignType::parse) {
                c.kind = k;
            }
        }
        if let Some(b) = self.brief {
            c.brief = Brief {
                objectives: v
                    .text(
                        "/brief/objectives",
                        Some(b.objectives.unwrap_or_default()),
                        0,
                        4000,
                    )
                    .unwrap_or_default(),
                key_messages: lines(&mut v, "/brief/keyMessages", &b.key_messages, 20, 500),
                dos: lines(&mut v, "/brief/dos", &b.dos, 30, 500),
                donts: lines(&mut v, "/brief/donts", &b.donts, 30, 500),
                required_hashtags: words(
                    &mut v,
                    "/brief/requiredHashtags",
                    &b.required_hashtags,
                    '#',
                ),
                required_mentions: words(
                    &mut v,
                    "/brief/requiredMentions",
                    &b.required_mentions,
                    '@',
                ),
                ftc_disclosure_required: b.ftc_disclosure_required.unwrap_or(true),
            };
        }
        if let Some(n) = self.niches {
            c.niches = input::tags(&mut v, "/niches", &n, 10);
        }
        if let Some(n) = self.content_styles {
            c.content_styles = input::tags(&mut v, "/contentStyles", &n, 10);
        }
        if let Some(a) = self.target_audience {
            c.target_audience = input::audience(&mut v, "/targetAudience", &a);
        }
        if let Some(ds) = self.deliverables {
            if ds.len() > 20 {
                v.error("/deliverables", "too_long", "at most 20 deliverables");
            }
            c.deliverables = ds
                .iter()
                .take(20)
                .enumerate()
                .filter_map(|(i, d)| {
                    let p = format!("/deliverables/{i}");
                    let kind = v.parse(
                        &format!("{p}/type"),
                        d.kind.as_deref(),
                        "unknown_value",
                        DeliverableType::parse,
                    );
                    let platform = v.parse(
                        &format!("{p}/platform"),
                        d.platform.as_deref(),
                        "unknown_value",
                        SocialPlatform::parse,
                    );
                    let quantity = match d.quantity {
                        None => Some(1),
                        Some(q) if (1..=50).contains(&q) => Some(q as u32),
                        Some(_) => {
                            v.error(&format!("{p}/quantity"), "out_of_range", "between 1 and 50");
                            None
                        }
                    };
                    let due_at =
                        input::timestamp(&mut v, &format!("{p}/dueAt"), d.due_at.as_deref());
                    Some(DeliverableSpec {
                        kind: kind?,
                        platform: platform?,
                        quantity: quantity?,
                        due_at: due_at?,
                    })
                })
                .collect();
        }
        if let Some(u) = self.usage_rights {
            let kind = v.parse(
                "/usageRights/type",
                u.kind.as_deref(),
                "unknown_value",
                UsageRightsType::parse,
            );
            let duration_days = match (kind, u.duration_days) {
                (Some(UsageRightsType::Perpetual), Some(_)) => {
                    v.error(
                        "/usageRights/durationDays",
                        "not_allowed",
                        "perpetual rights have no duration",
                    );
                    None
                }
                (Some(UsageRightsType::Perpetual), None) | (None, _) => None,
                (Some(_), None) => {
                    v.error(
                        "/usageRights/durationDays",
                        "required",
                        "durationDays is required unless rights are perpetual",
                    );
                    None
                }
                (Some(_), Some(d)) if (1..=3650).contains(&d) => Some(d as u32),
                (Some(_), Some(_)) => {
                    v.error(
                        "/usageRights/durationDays",
                        "out_of_range",
                        "between 1 and 3650 days",
                    );
                    None
                }
            };
            let territories: Vec<String> = u
                .territories
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    if t == "WW" {
                        Some(t.clone())
                    } else {
                        input::country(&mut v, &format!("/usageRights/territories/{i}"), t)
                    }
                })
                .collect();
            if territories.is_empty() {
                v.error(
                    "/usageRights/territories",
                    "required",
                    "at least one territory (or WW)",
                );
            }
            let channels: Vec<String> = u
                .channels
                .iter()
                .enumerate()
                .filter_map(|(i, ch)| {
                    v.parse(
                        &format!("/usageRights/channels/{i}"),
                        Some(ch),
                        "unknown_value",
                        |s| {
                            nexus_core::validation::one_of(
                                s,
                                &CHANNELS.iter().map(|c| (*c, *c)).collect::<Vec<_>>(),
                            )
                        },
                    )
                    .map(str::to_owned)
                })
                .collect();
            if channels.is_empty() {
                v.error("/usageRights/channels", "required", "at least one channel");
            }
            if let Some(kind) = kind {
                c.usage_rights = Some(UsageRights {
                    kind,
                    duration_days,
                    territories,
                    channels,
                });
            }
        }
        if let Some(b) = self.budget {
            let total = input::money(&mut v, "/budget/total", b.total.as_ref());
            let per_creator = b
                .per_creator
                .as_ref()
                .and_then(|m| input::money(&mut v, "/budget/perCreator", Some(m)));
            if let (Some(t), Some(p)) = (total, per_creator) {
                if t.currency != p.currency {
                    v.error(
                        "/budget/perCreator/currency",
                        "currency_mismatch",
                        format!("must be {} like the total", t.currency.code()),
                    );
                } else if p.amount > t.amount {
                    v.error(
                        "/budget/perCreator/amount",
                        "out_of_range",
                        "must not exceed the total",
                    );
                }
            }
            if let Some(total) = total {
                if c.budget.as_ref().is_some_and(|b| b.committed + b.spent > 0) {
                    v.error(
                        "/budget",
                        "locked",
                        "the budget can't change once creators are accepted",
                    );
                }
                c.budget = Some(Budget {
                    total,
                    per_creator,
                    committed: 0,
                    spent: 0,
                });
            }
        }
        if let Some(d) = self.dates {
            c.dates = Dates {
                applications_close_at: d
                    .applications_close_at
                    .as_deref()
                    .and_then(|s| input::timestamp(&mut v, "/dates/applicationsCloseAt", Some(s))),
                start_at: d
                    .start_at
                    .as_deref()
                    .and_then(|s| input::timestamp(&mut v, "/dates/startAt", Some(s))),
                end_at: d
                    .end_at
                    .as_deref()
                    .and_then(|s| input::timestamp(&mut v, "/dates/endAt", Some(s))),
            };
        }
        if let Some(tz) = self.time_zone {
            if let Some(tz) = input::time_zone(&mut v, "/timeZone", Some(&tz)) {
                c.time_zone = tz;
            }
        }
        if let Some(vis) = self.visibility {
            if let Some(vis) = v.parse(
                "/visibility",
                Some(&vis),
                "unknown_value",
                Visibility::parse,
            ) {
                c.visibility = vis;
            }
        }
        if let Some(e) = self.eligibility {
            let platforms = e
                .platforms
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    v.parse(
                        &format!("/eligibility/platforms/{i}"),
                        Some(p),
                        "unknown_value",
                        SocialPlatform::parse,
                    )
                })
                .collect();
            let min_followers = match e.min_followers {
                Some(n) if n < 0 => {
                    v.error(
                        "/eligibility/minFollowers",
                        "out_of_range",
                        "must not be negative",
                    );
                    0
                }
                n => n.unwrap_or(0) as u64,
            };
            c.eligibility = Eligibility {
                countries: input::codes(
                    &mut v,
                    "/eligibility/countries",
                    &e.countries,
                    50,
                    input::country,
                ),
                languages: input::codes(
                    &mut v,
                    "/eligibility/languages",
                    &e.languages,
                    20,
                    input::language,
                ),
                platforms,
                min_followers,
            };
        }
        // Cross-field rules on whatever is set.
        date_order(&mut v, c);
        v.finish()?;
        c.updated_at = now;
        Ok(())
    }
}

fn date_order(v: &mut Validator, c: &Campaign) {
    let d = &c.dates;
    if let (Some(close), Some(start)) = (d.applications_close_at, d.start_at) {
        if close > start {
            v.error(
                "/dates/applicationsCloseAt",
                "out_of_order",
                "applications must close no later than the start",
            );
        }
    }
    if let (Some(start), Some(end)) = (d.start_at, d.end_at) {
        if start >= end {
            v.error(
                "/dates/endAt",
                "out_of_order",
                "the end must be after the start",
            );
        }
    }
    for (i, del) in c.deliverables.iter().enumerate() {
        if d.start_at.is_some_and(|s| del.due_at < s) || d.end_at.is_some_and(|e| del.due_at > e) {
            v.error(
                &format!("/deliverables/{i}/dueAt"),
                "out_of_range",
                "due dates fall between the start and the end",
            );
        }
    }
}

/// What a transition produced, for the caller to persist with its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub from: CampaignStatus,
    pub to: CampaignStatus,
    pub trigger: Trigger,
}

/// What changes in the org's active-campaign count with a move.
pub fn active_delta(m: &Moved) -> i64 {
    match (m.from.counts_as_active(), m.to.counts_as_active()) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    }
}

impl Campaign {
    pub fn new_draft(org_id: OrgId, by: impl Into<String>, now: Timestamp) -> Self {
        Self {
            id: CampaignId::new(),
            org_id,
            title: String::new(),
            kind: CampaignType::Ugc,
            brief: Brief {
                ftc_disclosure_required: true,
                ..Brief::default()
            },
            niches: vec![],
            content_styles: vec![],
            target_audience: Audience::default(),
            deliverables: vec![],
            usage_rights: None,
            budget: None,
            dates: Dates::default(),
            time_zone: "UTC".into(),
            visibility: Visibility::Public,
            eligibility: Eligibility::default(),
            status: CampaignStatus::Draft,
            paused_from: None,
            creator_count: 0,
            contracts_signed: 0,
            deliverables_open: 0,
            submissions: 0,
            created_by: by.into(),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// What publishing needs: a complete brief, deliverables, budget and dates in the future.
    pub fn publish_guard(&self, now: Timestamp) -> Result<(), Error> {
        let mut v = Validator::new();
        if self.brief.objectives.trim().is_empty() {
            v.error(
                "/brief/objectives",
                "required",
                "publishing needs the brief's objectives",
            );
        }
        if self.brief.key_messages.is_empty() {
            v.error(
                "/brief/keyMessages",
                "required",
                "publishing needs at least one key message",
            );
        }
        if self.deliverables.is_empty() {
            v.error(
                "/deliverables",
                "required",
                "publishing needs at least one deliverable",
            );
        }
        if self.usage_rights.is_none() {
            v.error(
                "/usageRights",
                "required",
                "publishing needs the usage rights requested",
            );
        }
        match &self.budget {
            None => v.error("/budget", "required", "publishing needs a budget"),
            Some(b) if b.total.amount == 0 => v.error(
                "/budget/total/amount",
                "out_of_range",
                "the budget must be more than zero",
            ),
            _ => {}
        }
        let d = &self.dates;
        for (p, t) in [
            ("/dates/applicationsCloseAt", d.applications_close_at),
            ("/dates/startAt", d.start_at),
            ("/dates/endAt", d.end_at),
        ] {
            match t {
                None => v.error(p, "required", "publishing needs all three dates"),
                Some(t) if t <= now => v.error(p, "in_the_past", "must be in the future"),
                _ => {}
            }
        }
        date_order(&mut v, self);
        v.finish().map_err(|e| match e {
            Error::Validation(errors) => Error::Validation(errors),
            other => other,
        })
    }

    /// Apply a move (guards included). Returns what moved.
    pub fn transition(
        &mut self,
        to: CampaignStatus,
        trigger: Trigger,
        now: Timestamp,
    ) -> Result<Moved, Error> {
        let from = self.status;
        lifecycle::check(from, to, trigger, self.paused_from)?;
        match to {
            CampaignStatus::Published if from == CampaignStatus::Draft => {
                self.publish_guard(now)?
            }
            CampaignStatus::Completed
                if trigger == Trigger::Manual
                    && (self.deliverables_open > 0 || self.contracts_signed == 0) =>
            {
                return Err(Error::conflict(
                    "deliverables-open",
                    format!(
                        "a campaign completes when every deliverable is approved or cancelled ({} still open, {} signed contracts)",
                        self.deliverables_open, self.contracts_signed
                    ),
                ));
            }
            _ => {}
        }
        self.paused_from = (to == CampaignStatus::Paused).then_some(from);
        self.status = to;
        self.updated_at = now;
        Ok(Moved { from, to, trigger })
    }

    /// The plan check for a move that takes an active-campaign slot.
    pub fn check_active_limit(plan: Plan, active_now: u64) -> Result<(), Error> {
        plan.check(Limit::ActiveCampaigns, active_now, 1)
    }

    /// Reserve a creator slot and `fee` of the budget for an accepted application.
    pub fn reserve(&mut self, fee: Money, plan: Plan, now: Timestamp) -> Result<(), Error> {
        if !self.status.accepts_creators() {
            return Err(Error::conflict(
                "campaign-not-running",
                format!("a {} campaign can't accept creators", self.status),
            ));
        }
        let budget = self
            .budget
            .as_mut()
            .ok_or_else(|| Error::conflict("no-budget", "the campaign has no budget"))?;
        if fee.currency != budget.total.currency {
            return Err(Error::field(
                "/fee/currency",
                "currency_mismatch",
                format!(
                    "the campaign's budget is in {}",
                    budget.total.currency.code()
                ),
            ));
        }
        if let Some(per) = budget.per_creator {
            if fee.amount > per.amount {
                return Err(Error::conflict(
                    "over-per-creator-budget",
                    format!("the fee {fee} is more than the per-creator budget {per}"),
                ));
            }
        }
        plan.check(Limit::CreatorsPerCampaign, self.creator_count.into(), 1)?;
        if fee.amount > budget.available() {
            return Err(Error::conflict(
                "budget-exceeded",
                format!(
                    "accepting {fee} would exceed the budget: {} committed + {} spent of {}",
                    Money::new(budget.committed, budget.total.currency),
                    Money::new(budget.spent, budget.total.currency),
                    budget.total
                ),
            ));
        }
        budget.committed += fee.amount;
        self.creator_count += 1;
        self.updated_at = now;
        Ok(())
    }

    /// Give back what a cancelled contract still held.
    pub fn release(&mut self, unspent: i64, open_deliverables: u32, signed: bool, now: Timestamp) {
        if let Some(b) = self.budget.as_mut() {
            b.committed = (b.committed - unspent).max(0);
        }
        self.creator_count = self.creator_count.saturating_sub(1);
        self.deliverables_open = self.deliverables_open.saturating_sub(open_deliverables);
        if signed {
            self.contracts_signed = self.contracts_signed.saturating_sub(1);
        }
        self.updated_at = now;
    }

    /// A contract was signed by both parties: the first makes the campaign ACTIVE.
    pub fn contract_signed(&mut self, deliverables: u32, now: Timestamp) -> Option<Moved> {
        self.contracts_signed += 1;
        self.deliverables_open += deliverables;
        self.updated_at = now;
        if self.status == CampaignStatus::Published {
            self.transition(CampaignStatus::Active, Trigger::ContractSigned, now)
                .ok()
        } else {
            None
        }
    }

    /// A deliverable was submitted: the first makes the campaign IN_PROGRESS.
    pub fn submitted(&mut self, now: Timestamp) -> Option<Moved> {
        self.submissions += 1;
        self.updated_at = now;
        if self.status == CampaignStatus::Active {
            self.transition(CampaignStatus::InProgress, Trigger::FirstSubmission, now)
                .ok()
        } else {
            None
        }
    }

    /// A deliverable was approved (its fee share moves from committed to spent)
    /// or cancelled; when none is left open the campaign completes.
    pub fn resolved(&mut self, spent: i64, now: Timestamp) -> Option<Moved> {
        if let Some(b) = self.budget.as_mut() {
            b.committed = (b.committed - spent).max(0);
            b.spent += spent;
        }
        self.deliverables_open = self.deliverables_open.saturating_sub(1);
        self.updated_at = now;
        self.complete_if_done(now)
    }

    pub fn complete_if_done(&mut self, now: Timestamp) -> Option<Moved> {
        if self.deliverables_open == 0
            && self.contracts_signed > 0
            && matches!(
                self.status,
                CampaignStatus::Active | CampaignStatus::InProgress
            )
        {
            self.transition(
                CampaignStatus::Completed,
                Trigger::AllDeliverablesResolved,
                now,
            )
            .ok()
        } else {
            None
        }
    }

    /// Open for applications at `now`.
    pub fn open_for_applications(&self, now: Timestamp) -> bool {
        self.status.accepts_creators() && self.dates.applications_close_at.is_some_and(|t| t > now)
    }

    /// Why a creator can't apply (None: eligible).
    pub fn ineligibility(&self, p: &crate::creator::CreatorProfile) -> Option<String> {
        let e = &self.eligibility;
        if !e.countries.is_empty() && !p.country.as_ref().is_some_and(|c| e.countries.contains(c)) {
            return Some(format!("open to creators in {}", e.countries.join(", ")));
        }
        if !e.languages.is_empty() && !p.languages.iter().any(|l| e.languages.contains(l)) {
            return Some(format!(
                "needs one of the languages {}",
                e.languages.join(", ")
            ));
        }
        if !e.platforms.is_empty()
            && !p
                .social_accounts
                .iter()
                .any(|a| e.platforms.contains(&a.platform))
        {
            return Some("needs a linked account on one of the campaign's platforms".into());
        }
        let max_followers = p
            .social_accounts
            .iter()
            .map(|a| a.followers)
            .max()
            .unwrap_or(0);
        if max_followers < e.min_followers {
            return Some(format!("needs at least {} followers", e.min_followers));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> Timestamp {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    pub fn complete_input() -> CampaignInput {
        serde_json::from_value(json!({
            "title": "Winter glow launch",
            "type": "ugc",
            "brief": {"objectives": "Launch the winter serum", "keyMessages": ["glow in 7 days"]},
            "niches": ["beauty"],
            "deliverables": [{"type": "video", "platform": "tiktok", "quantity": 1, "dueAt": "2027-01-10T12:00:00Z"}],
            "usageRights": {"type": "non_exclusive", "durationDays": 90, "territories": ["US"], "channels": ["organic_social"]},
            "budget": {"total": {"amount": 100000, "currency": "USD"}, "perCreator": {"amount": 40000, "currency": "USD"}},
            "dates": {"applicationsCloseAt": "2026-12-15T00:00:00Z", "startAt": "2027-01-01T00:00:00Z", "endAt": "2027-01-31T00:00:00Z"},
            "timeZone": "America/New_York"
        }))
        .unwrap()
    }

    fn published() -> Campaign {
        let mut c = Campaign::new_draft(OrgId::new(), "usr_test", now());
        complete_input().apply_to(&mut c, now()).unwrap();
        c.transition(CampaignStatus::Published, Trigger::Manual, now())
            .unwrap();
        c
    }

    #[test]
    fn ftc_disclosure_defaults_on() {
        let c = published();
        assert!(c.brief.ftc_disclosure_required);
        assert_eq!(c.time_zone, "America/New_York");
    }

    #[test]
    fn publishing_an_incomplete_draft_lists_what_is_missing() {
        let mut c = Campaign::new_draft(OrgId::new(), "usr_test", now());
        CampaignInput {
            title: Some("Just a title".into()),
            ..Default::default()
        }
        .apply_to(&mut c, now())
        .unwrap();
        let Err(Error::Validation(errs)) =
            c.transition(CampaignStatus::Published, Trigger::Manual, now())
        else {
            panic!()
        };
        let ptrs: Vec<_> = errs.iter().map(|e| e.pointer.as_str()).collect();
        for p in [
            "/brief/objectives",
            "/deliverables",
            "/budget",
            "/dates/startAt",
            "/usageRights",
        ] {
            assert!(ptrs.contains(&p), "{p} in {ptrs:?}");
        }
        assert_eq!(c.status, CampaignStatus::Draft);
    }

    #[test]
    fn bad_input_is_a_field_error() {
        let mut c = Campaign::new_draft(OrgId::new(), "usr_test", now());
        let input: CampaignInput = serde_json::from_value(json!({
            "title": "Bad one",
            "type": "flashmob",
            "budget": {"total": {"amount": -5, "currency": "USD"}, "perCreator": {"amount": 5, "currency": "EUR"}},
            "dates": {"applicationsCloseAt": "2027-02-01T00:00:00Z", "startAt": "2027-01-01T00:00:00Z", "endAt": "2026-12-01T00:00:00Z"},
            "deliverables": [{"type": "hologram", "platform": "tiktok", "dueAt": "2027-01-10T12:00:00Z"}],
            "usageRights": {"type": "perpetual", "durationDays": 30, "territories": ["WW"], "channels": ["billboard"]},
            "timeZone": "Nowhere/City"
        }))
        .unwrap();
        let Err(Error::Validation(errs)) = input.apply_to(&mut c, now()) else {
            panic!()
        };
        let got: Vec<_> = errs
            .iter()
            .map(|e| (e.pointer.as_str(), e.code.as_str()))
            .collect();
        for want in [
            ("/type", "unknown_value"),
            ("/budget/total/amount", "out_of_range"),
            ("/dates/applicationsCloseAt", "out_of_order"),
            ("/dates/endAt", "out_of_order"),
            ("/deliverables/0/type", "unknown_value"),
            ("/usageRights/durationDays", "not_allowed"),
            ("/usageRights/channels/0", "unknown_value"),
            ("/timeZone", "unknown_value"),
        ] {
            assert!(got.contains(&want), "{want:?} in {got:?}");
        }
    }

    #[test]
    fn budget_never_over_commits_and_checks_currency() {
        let mut c = published();
        let usd = |a| Money::new(a, nexus_core::Currency::parse("USD").unwrap());
        c.reserve(usd(40_000), Plan::Growth, now()).unwrap();
        c.reserve(usd(40_000), Plan::Growth, now()).unwrap();
        let e = c.reserve(usd(30_000), Plan::Growth, now()).unwrap_err();
        assert_eq!(e.code(), "budget-exceeded");
        assert_eq!(c.budget.as_ref().unwrap().committed, 80_000);
        assert_eq!(
            c.reserve(usd(50_000), Plan::Growth, now())
                .unwrap_err()
                .code(),
            "over-per-creator-budget"
        );
        let eur = Money::new(1_000, nexus_core::Currency::parse("EUR").unwrap());
        assert_eq!(
            c.reserve(eur, Plan::Growth, now()).unwrap_err().status(),
            400
        );
        c.reserve(usd(20_000), Plan::Growth, now()).unwrap();
        assert_eq!(c.budget.as_ref().unwrap().available(), 0);
    }

    #[test]
    fn creators_per_campaign_limit_names_the_limit() {
        let mut c = published();
        c.budget.as_mut().unwrap().per_creator = None;
        c.budget.as_mut().unwrap().total.amount = 1_000_000;
        let usd = Money::new(1, nexus_core::Currency::parse("USD").unwrap());
        for _ in 0..5 {
            c.reserve(usd, Plan::Free, now()).unwrap();
        }
        let e = c.reserve(usd, Plan::Free, now()).unwrap_err();
        assert_eq!(e.status(), 402);
        assert!(e.to_string().contains("creators per campaign"));
        c.reserve(usd, Plan::Starter, now()).unwrap();
    }

    #[test]
    fn milestones_drive_the_lifecycle() {
        let mut c = published();
        assert_eq!(
            c.contract_signed(2, now()).map(|m| m.to),
            Some(CampaignStatus::Active)
        );
        assert_eq!(c.contract_signed(1, now()), None);
        assert_eq!(
            c.submitted(now()).map(|m| m.to),
            Some(CampaignStatus::InProgress)
        );
        assert_eq!(c.resolved(10, now()), None);
        assert_eq!(c.resolved(10, now()), None);
        assert_eq!(
            c.resolved(10, now()).map(|m| m.to),
            Some(CampaignStatus::Completed)
        );
        assert_eq!(c.budget.as_ref().unwrap().spent, 30);
    }

    #[test]
    fn pause_and_resume_keep_the_active_slot() {
        let mut c = published();
        let m = c
            .transition(CampaignStatus::Paused, Trigger::Manual, now())
            .unwrap();
        assert_eq!(active_delta(&m), 0);
        let e = c
            .transition(CampaignStatus::Active, Trigger::Manual, now())
            .unwrap_err();
        assert_eq!(e.status(), 409);
        c.transition(CampaignStatus::Published, Trigger::Manual, now())
            .unwrap();
        let m = c
            .transition(CampaignStatus::Cancelled, Trigger::Manual, now())
            .unwrap();
        assert_eq!(active_delta(&m), -1);
    }
}

/// What creators see of a campaign in the marketplace (no budget
/// bookkeeping, no internal counters).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarketCampaign {
    pub id: CampaignId,
    pub org_id: OrgId,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: CampaignType,
    pub brief: Brief,
    pub niches: Vec<String>,
    pub content_styles: Vec<String>,
    pub deliverables: Vec<DeliverableSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_rights: Option<UsageRights>,
    /// The most one creator can be paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_per_creator: Option<Money>,
    pub dates: Dates,
    pub time_zone: String,
    pub visibility: Visibility,
    pub eligibility: Eligibility,
    pub status: CampaignStatus,
}

impl From<&Campaign> for MarketCampaign {
    fn from(c: &Campaign) -> Self {
        Self {
            id: c.id.clone(),
            org_id: c.org_id.clone(),
            title: c.title.clone(),
            kind: c.kind,
            brief: c.brief.clone(),
            niches: c.niches.clone(),
            content_styles: c.content_styles.clone(),
            deliverables: c.deliverables.clone(),
            usage_rights: c.usage_rights.clone(),
            budget_per_creator: c.budget.as_ref().map(|b| b.per_creator.unwrap_or(b.total)),
            dates: c.dates.clone(),
            time_zone: c.time_zone.clone(),
            visibility: c.visibility,
            eligibility: c.eligibility.clone(),
            status: c.status,
        }
    }
}

impl Campaign {
    /// Marketplace filters: type, platform, niche and free text over title, brief and niches.
    pub fn matches_filters(
        &self,
        kind: Option<CampaignType>,
        platform: Option<SocialPlatform>,
        niche: Option<&str>,
        text: Option<&str>,
    ) -> bool {
        kind.is_none_or(|k| self.kind == k)
            && platform.is_none_or(|p| self.deliverables.iter().any(|d| d.platform == p))
            && niche.is_none_or(|n| self.niches.iter().any(|x| x == n))
            && text.is_none_or(|t| {
                let hay = format!(
                    "{} {} {} {}",
                    self.title,
                    self.brief.objectives,
                    self.brief.key_messages.join(" "),
                    self.niches.join(" ")
                )
                .to_lowercase();
                t.to_lowercase().split_whitespace().all(|w| hay.contains(w))
            })
    }
}
