//! Diesel table definitions, shared by both backends. Column order matches the migrations.

diesel::table! {
    practices (id) {
        id -> Text,
        ods_code -> Text,
        name -> Text,
        address_lines -> Nullable<Text>,
        postcode -> Text,
        region_code -> Nullable<Text>,
        icb_code -> Nullable<Text>,
        commissioner_code -> Nullable<Text>,
        list_size -> Nullable<Integer>,
        status -> Text,
        merged_into -> Nullable<Text>,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        phone -> Nullable<Text>,
        source -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    practice_commissioners (ods_code, commissioner_code, start_date) {
        ods_code -> Text,
        commissioner_code -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
    }
}

diesel::table! {
    federations (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        ods_code -> Nullable<Text>,
        icb_code -> Nullable<Text>,
        description -> Nullable<Text>,
        source -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    integrated_care_teams (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        icb_code -> Nullable<Text>,
        locality -> Nullable<Text>,
        population -> Nullable<Integer>,
        status -> Text,
        source -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    federation_memberships (id) {
        id -> Text,
        federation_code -> Text,
        ods_code -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ict_memberships (id) {
        id -> Text,
        ict_code -> Text,
        ods_code -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ict_partner_services (id) {
        id -> Text,
        ict_code -> Text,
        name -> Text,
        kind -> Text,
        organisation_code -> Nullable<Text>,
        start_date -> Date,
        end_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        staff_group -> Text,
        regulator -> Text,
        additional_roles -> Bool,
        description -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    programmes (id) {
        id -> Text,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        target_count -> Nullable<Integer>,
        target_role -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    placements (id) {
        id -> Text,
        staff_ref -> Text,
        role_code -> Text,
        programme_code -> Nullable<Text>,
        host_type -> Text,
        host_practice -> Nullable<Text>,
        host_federation -> Nullable<Text>,
        host_ict -> Nullable<Text>,
        external_host_name -> Nullable<Text>,
        external_host_code -> Nullable<Text>,
        hours_per_week -> Double,
        start_date -> Date,
        end_date -> Nullable<Date>,
        funding -> Nullable<Text>,
        notes -> Nullable<Text>,
        source -> Text,
        created_by -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        occurred_at -> Timestamp,
        actor -> Text,
        actor_org -> Nullable<Text>,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before -> Nullable<Text>,
        after -> Nullable<Text>,
        seq -> BigInt,
        entity_key -> Text,
        entity_version -> Nullable<Integer>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    practices,
    practice_commissioners,
    federations,
    integrated_care_teams,
    federation_memberships,
    ict_memberships,
    ict_partner_services,
    roles,
    programmes,
    placements,
    audit_events,
);
