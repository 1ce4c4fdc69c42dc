//! Closed vocabularies (enums on the wire as lower-case strings). Each parses
//! with a detail listing the allowed values, so an unknown value is a 400
//! with the field's pointer, never a 500.

/// `closed_enum!(Name { Variant = "wire", ... })`: serde + OpenAPI + `parse`.
///
/// The wire string is taken as a `tt`, not a `literal`: a `literal` fragment
/// reaches derive macros wrapped in an invisible group, which serde reads but
/// utoipa's derive skips, so the OpenAPI enum listed the Rust variant names.
macro_rules! closed_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:tt),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name { $($(#[$vm])* #[serde(rename = $s)] $v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            /// Parse the wire value; the error lists the allowed values.
            pub fn parse(s: &str) -> Result<Self, String> {
                nexus_core::validation::one_of(s, &[$(($s, $name::$v)),+])
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use closed_enum;

closed_enum!(
    /// The social platforms NEXUS knows.
    SocialPlatform {
        TikTok = "tiktok",
        Instagram = "instagram",
        X = "x",
        LinkedIn = "linkedin",
        YouTube = "youtube",
        Pinterest = "pinterest",
    }
);

closed_enum!(
    /// What a creator delivers.
    DeliverableType {
        Video = "video",
        Image = "image",
        Story = "story",
        Reel = "reel",
        Post = "post",
        Article = "article",
        Review = "review",
        Testimonial = "testimonial",
    }
);

closed_enum!(
    /// Audience age bands (as the platforms' insights APIs report them).
    AgeBand {
        A13 = "13-17",
        A18 = "18-24",
        A25 = "25-34",
        A35 = "35-44",
        A45 = "45-54",
        A55 = "55+",
    }
);

closed_enum!(
    Gender {
        Female = "female",
        Male = "male",
        Other = "other",
    }
);
