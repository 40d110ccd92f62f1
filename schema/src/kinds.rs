//! The kinds of organisation and of affiliation between them, and their rules: the one
//! place that knows them. Everything else asks these types (which kinds may be members of
//! which, which may host a placement, what a kind's code looks like and what it is called)
//! instead of matching on a kind.

use crate::validate::{is_ods_code, is_org_code, is_pcn_code, is_practice_ods_code};

crate::text_enum! {
    /// What kind of organisation a record is.
    OrgKind {
        #[doc = "A GP practice, by its ODS code (a capital letter and five digits)."] Practice = "practice",
        #[doc = "A Primary Care Network, by its ODS code (`U` and five digits)."] Pcn = "pcn",
        #[doc = "A GP federation."] Federation = "federation",
        #[doc = "An Integrated Care Team."] Ict = "ict",
        #[doc = "A commissioner of practices: a CCG or sub-ICB location, by its ODS code."] Commissioner = "commissioner",
        #[doc = "An organisation outside primary care, such as an NHS trust or a voluntary service."] External = "external",
    }
}

crate::text_enum! {
    /// How one organisation is related to another over a period.
    AffiliationKind {
        #[doc = "A practice is a member of a PCN, federation or ICT."] MemberOf = "member_of",
        #[doc = "A practice is commissioned by a CCG or sub-ICB location."] CommissionedBy = "commissioned_by",
        #[doc = "An external provider's service is a partner service of an ICT."] PartnerServiceOf = "partner_service_of",
    }
}

crate::text_enum! {
    /// The kind of host a placement has: an organisation of one of the kinds that employ
    /// staff.
    HostType {
        #[doc = "A GP practice, by ODS code."] Practice = "practice",
        #[doc = "A Primary Care Network, by ODS code."] Pcn = "pcn",
        #[doc = "A GP federation, by code."] Federation = "federation",
        #[doc = "An Integrated Care Team, by code."] Ict = "ict",
        #[doc = "A host outside primary care, such as an NHS trust team, named by `hostName` (and by its ODS code in `hostCode` when it has one)."] External = "external",
    }
}

/// Which kinds of organisation may be affiliated in which way: (kind, member, parent).
const AFFILIATIONS: &[(AffiliationKind, OrgKind, OrgKind)] = &[
    (AffiliationKind::MemberOf, OrgKind::Practice, OrgKind::Pcn),
    (AffiliationKind::MemberOf, OrgKind::Practice, OrgKind::Federation),
    (AffiliationKind::MemberOf, OrgKind::Practice, OrgKind::Ict),
    (AffiliationKind::CommissionedBy, OrgKind::Practice, OrgKind::Commissioner),
    (AffiliationKind::PartnerServiceOf, OrgKind::External, OrgKind::Ict),
];

/// The prefix of the codes we give external providers that have no ODS code (ODS codes
/// never hold a hyphen, so the two cannot meet).
pub const OWN_EXTERNAL_PREFIX: &str = "EXT-";

impl OrgKind {
    /// What an organisation of this kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            OrgKind::Practice => "practice",
            OrgKind::Pcn => "primary care network",
            OrgKind::Federation => "federation",
            OrgKind::Ict => "integrated care team",
            OrgKind::Commissioner => "commissioner",
            OrgKind::External => "external provider",
        }
    }

    /// The affiliation a member of kind `self` has with a parent of kind `parent`, if any
    /// is allowed.
    pub fn affiliation_with(self, parent: OrgKind) -> Option<AffiliationKind> {
        AFFILIATIONS.iter().find(|(_, m, p)| *m == self && *p == parent).map(|(k, _, _)| *k)
    }

    /// Whether a member belongs to at most one organisation of this kind on any day: a
    /// practice is in one PCN at a time, and has one commissioner.
    pub fn one_at_a_time(self) -> bool {
        matches!(self, OrgKind::Pcn | OrgKind::Commissioner)
    }

    /// The kinds of affiliation an organisation of this kind may have as a member.
    pub fn affiliation_kinds_as_member(self) -> Vec<AffiliationKind> {
        let mut kinds: Vec<AffiliationKind> =
            AFFILIATIONS.iter().filter(|(_, m, _)| *m == self).map(|(k, _, _)| *k).collect();
        kinds.dedup();
        kinds
    }

    /// Whether organisations of this kind have member practices (and so a `practices` list).
    pub fn has_member_practices(self) -> bool {
        OrgKind::Practice.affiliation_with(self).is_some()
    }

    /// The kind of host a placement at an organisation of this kind has, if it may host one.
    pub fn host_type(self) -> Option<HostType> {
        HostType::ALL.iter().copied().find(|h| h.kind() == self)
    }

    /// Whether `code` is shaped like the code of an organisation of this kind. The message
    /// says what the shape is.
    pub fn check_code(self, code: &str) -> Result<(), &'static str> {
        let (ok, shape) = match self {
            OrgKind::Practice => (
                is_practice_ods_code(code),
                "must be an ODS practice code: a capital letter and five digits, e.g. M83001",
            ),
            OrgKind::Pcn => (is_pcn_code(code), "must be an ODS PCN code: U and five digits, e.g. U81234"),
            OrgKind::Federation | OrgKind::Ict => {
                (is_org_code(code), "must be 2 to 32 capital letters, digits or hyphens, e.g. NSGPF")
            }
            OrgKind::Commissioner => (is_ods_code(code), "must be an ODS code: 3 to 10 capital letters and digits"),
            OrgKind::External => (
                is_ods_code(code) || is_own_external_code(code),
                "must be an ODS code (3 to 10 capital letters and digits) or the code of a known external provider",
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(shape)
        }
    }

    /// The statuses an organisation of this kind may have, the first being the default, and
    /// which of them mean it is working.
    pub fn statuses(self) -> &'static [(&'static str, bool)] {
        match self {
            OrgKind::Practice => {
                &[("active", true), ("closed", false), ("dormant", false), ("proposed", false), ("merged", false)]
            }
            OrgKind::Ict => &[("planned", false), ("early_adopter", true), ("live", true)],
            _ => &[("active", true), ("closed", false)],
        }
    }

    /// Whether `status` means an organisation of this kind is working.
    pub fn is_active_status(self, status: &str) -> bool {
        self.statuses().iter().any(|(s, active)| *s == status && *active)
    }

    /// The status a new organisation of this kind has unless told otherwise.
    pub fn default_status(self) -> &'static str {
        self.statuses().first().map_or("active", |(s, _)| s)
    }
}

impl HostType {
    /// The kind of organisation a host of this type is.
    pub fn kind(self) -> OrgKind {
        match self {
            HostType::Practice => OrgKind::Practice,
            HostType::Pcn => OrgKind::Pcn,
            HostType::Federation => OrgKind::Federation,
            HostType::Ict => OrgKind::Ict,
            HostType::External => OrgKind::External,
        }
    }

    /// What a host of this kind is called in messages.
    pub fn noun(self) -> &'static str {
        match self {
            HostType::External => "external host",
            other => other.kind().noun(),
        }
    }
}

/// Whether `code` is one we gave an external provider without an ODS code.
pub fn is_own_external_code(code: &str) -> bool {
    code.strip_prefix(OWN_EXTERNAL_PREFIX)
        .is_some_and(|rest| rest.len() == 8 && rest.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()))
}

/// A new code for an external provider without an ODS code.
pub fn new_external_code() -> String {
    let hex = uuid::Uuid::new_v4().simple().to_string();
    format!("{OWN_EXTERNAL_PREFIX}{}", hex[..8].to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(OrgKind::Practice.affiliation_with(OrgKind::Pcn), Some(AffiliationKind::MemberOf));
        assert_eq!(OrgKind::Practice.affiliation_with(OrgKind::Commissioner), Some(AffiliationKind::CommissionedBy));
        assert_eq!(OrgKind::External.affiliation_with(OrgKind::Ict), Some(AffiliationKind::PartnerServiceOf));
        assert_eq!(OrgKind::Pcn.affiliation_with(OrgKind::Practice), None);
        assert!(OrgKind::Pcn.has_member_practices() && !OrgKind::External.has_member_practices());
        assert_eq!(OrgKind::Commissioner.host_type(), None);
        assert_eq!(OrgKind::Pcn.host_type(), Some(HostType::Pcn));
        assert!(OrgKind::Pcn.check_code("U81234").is_ok() && OrgKind::Pcn.check_code("M83001").is_err());
        let own = new_external_code();
        assert!(is_own_external_code(&own) && OrgKind::External.check_code(&own).is_ok(), "{own}");
        assert!(OrgKind::Ict.is_active_status("live") && !OrgKind::Ict.is_active_status("planned"));
        assert!(OrgKind::Pcn.one_at_a_time() && !OrgKind::Federation.one_at_a_time());
        assert_eq!(
            OrgKind::Practice.affiliation_kinds_as_member(),
            [AffiliationKind::MemberOf, AffiliationKind::CommissionedBy]
        );
    }
}
