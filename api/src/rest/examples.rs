//! Request examples for the OpenAPI document, drawn from the demo data: a client pasting
//! one into Swagger UI against the demo gets a real answer (or a clear conflict).

use serde_json::{json, Value};

pub fn practice() -> Value {
    json!({"odsCode": "M83005", "name": "Heathcote Street Surgery", "postcode": "ST5 7EB",
           "addressLines": ["2 Heathcote Street", "Chesterton", "Newcastle"], "commissionerCode": "05G",
           "icbCode": "Q76", "regionCode": "Y60", "status": "active", "phone": "01782 561057"})
}

pub fn federation() -> Value {
    json!({"code": "NSGPF", "name": "North Staffordshire GP Federation", "icbCode": "QNC",
           "description": "The active practices of commissioner 05G (North Staffordshire)."})
}

pub fn pcn() -> Value {
    json!({"code": "U99901", "name": "Meir North PCN (demo)", "icbCode": "QNC",
           "description": "Demo Primary Care Network: practices of Meir Integrated Care Team."})
}

pub fn pcn_membership() -> Value {
    json!({"pcnCode": "U99901", "odsCode": "M83047", "startDate": "2019-07-01"})
}

pub fn ict() -> Value {
    json!({"code": "ICT-MEIR", "name": "Meir Integrated Care Team", "icbCode": "QNC",
           "locality": "Meir, Stoke-on-Trent (ST3)", "population": 52000, "status": "early_adopter"})
}

pub fn federation_membership() -> Value {
    json!({"federationCode": "NSGPF", "odsCode": "M83005", "startDate": "2016-04-01"})
}

pub fn ict_membership() -> Value {
    json!({"ictCode": "ICT-MEIR", "odsCode": "M83047", "startDate": "2025-04-01"})
}

pub fn partner_service() -> Value {
    json!({"ictCode": "ICT-MEIR", "name": "North Staffordshire Combined Healthcare, community mental health team",
           "kind": "mental_health", "organisationCode": "RLY", "startDate": "2025-04-01"})
}

pub fn role() -> Value {
    json!({"code": "physician-associate", "name": "Physician associate", "staffGroup": "direct_patient_care",
           "regulator": "GMC", "additionalRoles": true,
           "description": "Physician associates are regulated by the GMC since December 2024."})
}

pub fn programme() -> Value {
    json!({"code": "pa-internship", "name": "Physician associate internship",
           "description": "A year split between general practice and an acute or mental health team.",
           "targetRole": "physician-associate"})
}

pub fn placement() -> Value {
    json!({"staffRef": "NSGPF-PA-0001", "roleCode": "physician-associate", "programmeCode": "pa-internship",
           "hostType": "practice", "hostCode": "M83005", "hoursPerWeek": 22.5, "startDate": "2026-09-01",
           "endDate": "2027-08-31", "funding": "programme"})
}

// Merge patches (PATCH bodies): a field or two changed, `null` removing an optional one.

pub fn practice_patch() -> Value {
    json!({"phone": "01782 561057", "listSize": null})
}

pub fn federation_patch() -> Value {
    json!({"description": "The active practices of commissioner 05G, North Staffordshire."})
}

pub fn ict_patch() -> Value {
    json!({"status": "live", "population": 54000})
}

pub fn membership_patch() -> Value {
    json!({"endDate": "2027-03-31"})
}

pub fn role_patch() -> Value {
    json!({"description": "Regulated by the GMC since December 2024."})
}

pub fn programme_patch() -> Value {
    json!({"targetCount": 1000})
}

pub fn placement_patch() -> Value {
    json!({"hoursPerWeek": 30, "notes": null})
}

pub fn end_placement() -> Value {
    json!({"endDate": "2027-08-31"})
}
