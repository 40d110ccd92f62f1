//! The mutation root: everything REST can write, as verb + type with one `input`, calling
//! the same domain functions (same scopes, validation, audit and version checks).

use async_graphql::{Context, InputObject, InputType, Object, Result, SimpleObject};
use pcr_schema::audit::{self, Action};
use pcr_schema::date::Date;
use pcr_schema::domain::crud::{self, Change, Entity};
use pcr_schema::domain::idempotency::{self, Claimed, StoredResponse};
use pcr_schema::domain::placements as placement_queries;
use pcr_schema::models::federation::{FederationInput, FederationRow, PcnInput, PcnRow};
use pcr_schema::models::ict::{IctRow, IntegratedCareTeamInput};
use pcr_schema::models::membership::{
    FederationMembershipInput, FederationMembershipRow, IctMembershipInput, IctMembershipRow, PartnerServiceInput,
    PartnerServiceRow, PcnMembershipInput, PcnMembershipRow,
};
use pcr_schema::models::placement::{PlacementInput, PlacementRow};
use pcr_schema::models::practice::{PracticeInput, PracticeRow};
use pcr_schema::models::programme::{ProgrammeInput, ProgrammeRow};
use pcr_schema::models::role::{RoleInput, RoleRow};

use super::errors::domain;
use super::types::{
    FederationMembershipNode, FederationNode, IctMembershipNode, IctNode, PartnerServiceNode, PcnMembershipNode,
    PcnNode, PlacementNode, PracticeNode, ProgrammeNode, RoleNode,
};
use super::{actor, db, decode_global_id};
use crate::rest::idempotency::{digest, IdempotencyConfig};

/// Replace a record's writable fields, if it is still at `expectedVersion`.
#[derive(InputObject)]
#[graphql(
    concrete(name = "UpdatePracticeInput", params(PracticeInput)),
    concrete(name = "UpdateFederationInput", params(FederationInput)),
    concrete(name = "UpdatePcnInput", params(PcnInput)),
    concrete(name = "UpdatePcnMembershipInput", params(PcnMembershipInput)),
    concrete(name = "UpdateIntegratedCareTeamInput", params(IntegratedCareTeamInput)),
    concrete(name = "UpdateFederationMembershipInput", params(FederationMembershipInput)),
    concrete(name = "UpdateIctMembershipInput", params(IctMembershipInput)),
    concrete(name = "UpdatePartnerServiceInput", params(PartnerServiceInput)),
    concrete(name = "UpdateRoleInput", params(RoleInput)),
    concrete(name = "UpdateProgrammeInput", params(ProgrammeInput)),
    concrete(name = "UpdatePlacementInput", params(PlacementInput))
)]
pub struct UpdateInput<T: InputType> {
    /// Database id, global id, or natural key (ODS code, code).
    pub key: String,
    /// The version last read; a different current version is a CONFLICT.
    pub expected_version: i32,
    /// All the record's writable fields; an optional field left out is cleared.
    pub data: T,
}

/// Delete a record, if it is still at `expectedVersion`.
#[derive(InputObject)]
pub struct DeleteInput {
    /// Database id, global id, or natural key (ODS code, code).
    pub key: String,
    /// The version last read; a different current version is a CONFLICT.
    pub expected_version: i32,
}

/// What a delete removed.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The key the record was deleted by.
    pub key: String,
}

/// End a placement (placements are never deleted).
#[derive(InputObject)]
pub struct EndPlacementInput {
    /// Database id or global id.
    pub key: String,
    /// The version last read; a different current version is a CONFLICT.
    pub expected_version: i32,
    /// Last day (default today).
    pub end_date: Option<Date>,
}

fn key_of(key: String) -> String {
    decode_global_id(&key.clone().into()).map(|(_, k)| k).unwrap_or(key)
}

/// Creates once per `idempotency_key`: a retry with the same key and input answers with the
/// record the first call created (as it is now); the same key with other input is BAD_USER_INPUT;
/// one still running is CONFLICT. A call that fails gives its key back.
async fn create<E: Entity + Send + 'static>(
    ctx: &Context<'_>,
    input: E::Input,
    idempotency_key: Option<String>,
) -> Result<E>
where
    E::Input: Send,
{
    let (db, actor) = (db(ctx)?, actor(ctx));
    let attempted = serde_json::to_value(&input).ok();
    let target = (Action::Create, E::NAME, "");
    let Some(key) = idempotency_key else {
        return domain(move || {
            audit::refusals_recorded(
                &db,
                actor.as_ref(),
                target,
                || attempted,
                || crud::create::<E>(&db, actor.as_ref(), input),
            )
        });
    };
    let ttl = ctx.data_opt::<IdempotencyConfig>().copied().unwrap_or_default().ttl;
    domain(move || {
        audit::refusals_recorded(
            &db,
            actor.as_ref(),
            target,
            || attempted,
            || {
                let caller = crud::writer::<E>(actor.as_ref())?;
                let body = serde_json::to_vec(&input).unwrap_or_default();
                let print = digest(&[b"graphql", E::NAME.as_bytes(), &body]);
                let claim = match idempotency::claim(&db, caller, &key, &print, ttl)? {
                    Claimed::Replay(first) => return crud::get::<E>(&db, actor.as_ref(), &first.body),
                    Claimed::New(claim) => claim,
                };
                let created = crud::create_then::<E, ()>(&db, actor.as_ref(), input, |c, rec| {
                    let answer = StoredResponse { status: 201, headers: Vec::new(), body: rec.id().to_string() };
                    idempotency::complete(c, &claim, &answer)
                });
                if created.is_err() {
                    let _ = idempotency::release(&db, &claim);
                }
                created.map(|(record, ())| record)
            },
        )
    })
}

async fn update<E: Entity + Send + 'static>(ctx: &Context<'_>, input: UpdateInput<E::Input>) -> Result<E>
where
    E::Input: Send + InputType,
{
    let (db, actor) = (db(ctx)?, actor(ctx));
    let key = key_of(input.key);
    let attempted = serde_json::to_value(&input.data).ok();
    let write = || {
        let change = Change::Replace(input.data);
        crud::update::<E>(&db, actor.as_ref(), &key, input.expected_version, change, Action::Update)
    };
    domain(|| audit::refusals_recorded(&db, actor.as_ref(), (Action::Update, E::NAME, &key), || attempted, write))
}

async fn delete<E: Entity + Send + 'static>(ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
    let (db, actor) = (db(ctx)?, actor(ctx));
    let key = key_of(input.key);
    let write = || crud::delete::<E>(&db, actor.as_ref(), &key, input.expected_version);
    domain(|| audit::refusals_recorded(&db, actor.as_ref(), (Action::Delete, E::NAME, &key), || None, write))?;
    Ok(DeletePayload { key })
}

pub struct Mutation;

/// The mutation root, with one create/update/delete triple per reference entity. (Written
/// as one macro so the `#[Object]` attribute sees every method.)
macro_rules! mutation_root {
    ($( $create:ident, $update:ident, $delete:ident, $row:ty, $input:ty, $node:ident,
        $what:literal, $noun:literal; )*) => {
        /// Writes: everything REST can write, with the same scopes, validation, audit and version checks.
        #[Object]
        impl Mutation {
            $(
                #[doc = concat!("Creates ", $what, ". Needs `reference:write`.")]
                async fn $create(
                    &self,
                    ctx: &Context<'_>,
                    #[graphql(desc = "The new record's fields")] input: $input,
                    #[graphql(desc = "Makes retries safe: a retry with the same key and input gets the record the first call created, without a second write")]
                    idempotency_key: Option<String>,
                ) -> Result<$node> {
                    Ok($node(create::<$row>(ctx, input, idempotency_key).await?.view()))
                }
                #[doc = concat!("Replaces ", $noun, "'s writable fields. Needs `reference:write`.")]
                async fn $update(
                    &self,
                    ctx: &Context<'_>,
                    #[graphql(desc = "Which record, the version last read (a stale one is a CONFLICT), and all its new fields")]
                    input: UpdateInput<$input>,
                ) -> Result<$node> {
                    Ok($node(update::<$row>(ctx, input).await?.view()))
                }
                #[doc = concat!("Deletes ", $noun, ". Needs `reference:write`.")]
                async fn $delete(
                    &self,
                    ctx: &Context<'_>,
                    #[graphql(desc = "Which record, and the version last read (a stale one is a CONFLICT)")] input: DeleteInput,
                ) -> Result<DeletePayload> {
                    delete::<$row>(ctx, input).await
                }
            )*

            /// Creates a placement. Needs `placements:write`.
            async fn create_placement(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "The new placement's fields")] input: PlacementInput,
                #[graphql(desc = "Makes retries safe: a retry with the same key and input gets the placement the first call created, without a second write")]
                idempotency_key: Option<String>,
            ) -> Result<PlacementNode> {
                Ok(PlacementNode(create::<PlacementRow>(ctx, input, idempotency_key).await?.view()))
            }

            /// Replaces a placement's writable fields. Needs `placements:write`.
            async fn update_placement(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Which placement, the version last read (a stale one is a CONFLICT), and all its new fields")]
                input: UpdateInput<PlacementInput>,
            ) -> Result<PlacementNode> {
                Ok(PlacementNode(update::<PlacementRow>(ctx, input).await?.view()))
            }

            /// Ends a placement on `endDate` (default today). Needs `placements:write`.
            /// Placements are ended, never deleted.
            async fn end_placement(
                &self,
                ctx: &Context<'_>,
                #[graphql(desc = "Which placement, the version last read (a stale one is a CONFLICT), and its last day")] input: EndPlacementInput,
            ) -> Result<PlacementNode> {
                let (db, actor) = (db(ctx)?, actor(ctx));
                let key = key_of(input.key);
                let end_date = input.end_date.map(Into::into);
                let attempted = || Some(serde_json::json!({ "endDate": end_date }));
                let write = || placement_queries::end(&db, actor.as_ref(), &key, input.expected_version, end_date);
                let target = (Action::End, <PlacementRow as Entity>::NAME, key.as_str());
                let row = domain(|| audit::refusals_recorded(&db, actor.as_ref(), target, attempted, write))?;
                Ok(PlacementNode(row.view()))
            }
        }
    };
}

mutation_root! {
    create_practice, update_practice, delete_practice, PracticeRow, PracticeInput, PracticeNode,
        "a GP practice", "a practice";
    create_federation, update_federation, delete_federation, FederationRow, FederationInput, FederationNode,
        "a GP federation", "a federation";
    create_pcn, update_pcn, delete_pcn, PcnRow, PcnInput, PcnNode,
        "a Primary Care Network", "a PCN";
    create_integrated_care_team, update_integrated_care_team, delete_integrated_care_team, IctRow, IntegratedCareTeamInput, IctNode,
        "an Integrated Care Team", "an Integrated Care Team";
    create_federation_membership, update_federation_membership, delete_federation_membership, FederationMembershipRow, FederationMembershipInput, FederationMembershipNode,
        "a practice's membership of a federation for a period", "a federation membership";
    create_pcn_membership, update_pcn_membership, delete_pcn_membership, PcnMembershipRow, PcnMembershipInput, PcnMembershipNode,
        "a practice's membership of a PCN for a period", "a PCN membership";
    create_ict_membership, update_ict_membership, delete_ict_membership, IctMembershipRow, IctMembershipInput, IctMembershipNode,
        "a practice's membership of an ICT for a period", "an ICT membership";
    create_partner_service, update_partner_service, delete_partner_service, PartnerServiceRow, PartnerServiceInput, PartnerServiceNode,
        "a partner service of an ICT", "a partner service";
    create_role, update_role, delete_role, RoleRow, RoleInput, RoleNode,
        "a role in the role catalogue", "a role";
    create_programme, update_programme, delete_programme, ProgrammeRow, ProgrammeInput, ProgrammeNode,
        "a programme", "a programme";
}
