//! Records as stored (`*Row`), as read by clients (views) and as written by clients (inputs).

pub mod federation;
pub mod ict;
pub mod membership;
pub mod organisation;
pub mod placement;
pub mod practice;
pub mod programme;
pub mod role;

/// A closed set of values stored as text: serde, OpenAPI and the database agree on spelling.
/// Each value carries its doc comment, which GraphQL shows as the enum value's description.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[doc = $doc:literal])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, async_graphql::Enum)]
        pub enum $name {
            $($(#[doc = $doc])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
        // Written by hand: utoipa's derive does not see serde renames made inside a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {}
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Where a record came from.
pub const SOURCE_API: &str = "api";
pub const SOURCE_ODS: &str = "ods";
pub const SOURCE_DEMO: &str = "demo";

pub(crate) fn utc(t: chrono::NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

/// Whether `key` is a UUID (an id) rather than a natural key (ODS code, code).
pub(crate) fn is_uuid(key: &str) -> bool {
    uuid::Uuid::parse_str(key).is_ok()
}

/// The `find` of a table addressable by id or by a natural key: one statically typed
/// statement for each, run on the backend's own connection (see [`crate::db::load_direct`]).
macro_rules! find_by_id_or_key {
    ($conn:expr, $key:expr, $table:ident, $natural:ident, $normalise:expr) => {{
        let key: &str = $key;
        let rows = if $crate::models::is_uuid(key) {
            $crate::db::load_direct($conn, $table::table.filter($table::id.eq(key.to_string())).limit(1))?
        } else {
            let natural: String = ($normalise)(key);
            $crate::db::load_direct($conn, $table::table.filter($table::$natural.eq(natural)).limit(1))?
        };
        Ok(rows.into_iter().next())
    }};
}
pub(crate) use find_by_id_or_key;
