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

/// The writes of a record stored as one row keyed by `id`: insert, and update or delete
/// only while the row is at the version the writer read (0 rows changed = lost a race).
macro_rules! row_writes {
    ($vis:vis $table:ident) => {
        $vis fn insert(&self, conn: &mut $crate::db::DbConnection) -> $crate::error::DomainResult<()> {
            diesel::insert_into($table::table).values(self).execute(conn)?;
            Ok(())
        }
        $vis fn update(&self, conn: &mut $crate::db::DbConnection, expected_version: i32) -> $crate::error::DomainResult<usize> {
            let row = $table::table.filter($table::id.eq(&self.id)).filter($table::version.eq(expected_version));
            Ok(diesel::update(row).set(self).execute(conn)?)
        }
        $vis fn delete(&self, conn: &mut $crate::db::DbConnection) -> $crate::error::DomainResult<usize> {
            let row = $table::table.filter($table::id.eq(&self.id)).filter($table::version.eq(self.version));
            Ok(diesel::delete(row).execute(conn)?)
        }
    };
}
pub(crate) use row_writes;

/// The writes of a kind's record, stored as its organisation row and a row of the kind's
/// details (`self.parts()` gives both): the organisation carries the version.
macro_rules! organisation_writes {
    ($vis:vis $details:ident) => {
        $vis fn insert(&self, conn: &mut $crate::db::DbConnection) -> $crate::error::DomainResult<()> {
            let (org, details) = self.parts();
            org.insert(conn)?;
            diesel::insert_into($details::table).values(&details).execute(conn)?;
            Ok(())
        }
        $vis fn update(&self, conn: &mut $crate::db::DbConnection, expected_version: i32) -> $crate::error::DomainResult<usize> {
            let (org, details) = self.parts();
            let changed = org.update(conn, expected_version)?;
            if changed > 0 {
                diesel::update($details::table.filter($details::code.eq(&org.code))).set(&details).execute(conn)?;
            }
            Ok(changed)
        }
        $vis fn delete(&self, conn: &mut $crate::db::DbConnection) -> $crate::error::DomainResult<usize> {
            // Its details and affiliations go with it.
            self.parts().0.delete(conn)
        }
    };
}
pub(crate) use organisation_writes;

/// The parts of an [`Entity`](crate::domain::crud::Entity) every row-backed record answers
/// alike: its id, the key it is addressed by (`$key`), its version and its view.
macro_rules! entity_basics {
    ($key:ident) => {
        fn id(&self) -> &str {
            &self.id
        }
        fn key(&self) -> &str {
            &self.$key
        }
        fn version(&self) -> i32 {
            self.version
        }
        fn view(&self) -> Self::View {
            Self::view(self)
        }
    };
}
pub(crate) use entity_basics;
