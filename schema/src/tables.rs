//! Diesel table definitions, shared by both backends. Column order matches the migrations.
//! Organisations of every kind are one table with a detail table per kind; the kinds'
//! records are read through views (marked below) and written through the tables.

diesel::table! {
    organisations (code) {
        id -> Text,
        code -> Text,
        kind -> Text,
        name -> Text,
        status -> Text,
        opened_on -> Nullable<Date>,
        closed_on -> Nullable<Date>,
        source -> Text,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    practice_details (code) {
        code -> Text,
        address_lines -> Nullable<Text>,
        postcode -> Text,
        region_code -> Nullable<Text>,
        icb_code -> Nullable<Text>,
        commissioner_code -> Nullable<Text>,
        list_size -> Nullable<Integer>,
        merged_into -> Nullable<Text>,
        phone -> Nullable<Text>,
    }
}

diesel::table! {
    group_details (code) {
        code -> Text,
        ods_code -> Nullable<Text>,
        icb_code -> Nullable<Text>,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    ict_details (code) {
        code -> Text,
        icb_code -> Nullable<Text>,
        locality -> Nullable<Text>,
        population -> Nullable<Integer>,
    }
}

diesel::table! {
    affiliations (id) {
        id -> Text,
        kind -> Text,
        member_code -> Text,
        parent_code -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    partner_service_details (affiliation_id) {
        affiliation_id -> Text,
        name -> Text,
        service_kind -> Text,
    }
}

// Views: each kind's records as read (organisations joined with the kind's details).
// They are written through the tables above.

diesel::table! {
    /// View: organisations of kind practice with their details.
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
    /// View: federations and PCNs (groups of practices) with their details.
    group_organisations (id) {
        id -> Text,
        code -> Text,
        kind -> Text,
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
    /// View: organisations of kind ict with their details.
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
    /// View: partner-service affiliations of ICTs with their details.
    ict_partner_services (id) {
        id -> Text,
        ict_code -> Text,
        name -> Text,
        kind -> Text,
        start_date -> Date,
        end_date -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        member_code -> Text,
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
    placement_records (id) {
        id -> Text,
        staff_ref -> Text,
        role_code -> Text,
        programme_code -> Nullable<Text>,
        host_type -> Text,
        host_code -> Text,
        host_unit -> Nullable<Text>,
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
        registration_body -> Nullable<Text>,
        registration_number -> Nullable<Text>,
    }
}

diesel::table! {
    /// View: placement records with the name of an external host.
    placements (id) {
        id -> Text,
        staff_ref -> Text,
        role_code -> Text,
        programme_code -> Nullable<Text>,
        host_type -> Text,
        host_code -> Text,
        host_unit -> Nullable<Text>,
        host_name -> Nullable<Text>,
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
        registration_body -> Nullable<Text>,
        registration_number -> Nullable<Text>,
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
        outcome -> Text,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (subject, idempotency_key) {
        subject -> Text,
        idempotency_key -> Text,
        fingerprint -> Text,
        claim -> Text,
        claimed_at -> Timestamp,
        status -> Nullable<Integer>,
        headers -> Nullable<Text>,
        body -> Nullable<Text>,
        expires_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    practice_details,
    group_details,
    ict_details,
    affiliations,
    partner_service_details,
    practices,
    group_organisations,
    integrated_care_teams,
    ict_partner_services,
    roles,
    programmes,
    placement_records,
    placements,
    audit_events,
);
