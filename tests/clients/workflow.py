"""An integrator's first session, through the Python client openapi-python-client generates
from the committed OpenAPI document: list practices, read one by ODS code, page to the end
with the cursor, create a placement with a token, read it back with its ETag, end it, and
handle a 412 and a 422 as typed problems.

Usage: PYTHONPATH=<generated client> python workflow.py BASE_URL TOKEN
"""

import datetime
import sys

from pcr_client import AuthenticatedClient, Client
from pcr_client.api.placements import create_placement, end_placement, get_placement
from pcr_client.api.practices import get_practice, list_practices
from pcr_client.models import EndPlacement, HostType, PlacementInput, PracticeList, Problem
from pcr_client.models import Practice, Placement
from pcr_client.types import UNSET


def check(ok, what):
    if not ok:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok: {what}")


def main(base_url, token):
    public = Client(base_url=base_url, raise_on_unexpected_status=True)
    partner = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)

    first = list_practices.sync_detailed(client=public, commissioner="05G", limit=7)
    check(first.status_code == 200 and isinstance(first.parsed, PracticeList), "list practices is a typed page")
    check(len(first.parsed.items) == 7, "the page has the size asked for")

    code = first.parsed.items[0].ods_code
    one = get_practice.sync_detailed(code, client=public)
    check(isinstance(one.parsed, Practice) and one.parsed.ods_code == code, f"get practice {code} by ODS code")
    check(one.headers.get("etag", "").startswith('"'), "it has an ETag")

    seen, page, pages = [], first.parsed, 1
    while True:
        seen.extend(p.ods_code for p in page.items)
        if not page.next_cursor:
            break
        page = list_practices.sync_detailed(client=public, commissioner="05G", limit=7, after=page.next_cursor).parsed
        pages += 1
    check(pages >= 3 and len(seen) == len(set(seen)), f"paged to the end: {len(seen)} practices in {pages} pages")

    body = PlacementInput(
        staff_ref="PY-CLIENT-0001",
        role_code="physician-associate",
        host_type=HostType.PRACTICE,
        host_code=code,
        hours_per_week=22.5,
        start_date=datetime.date(2026, 9, 1),
    )
    created = create_placement.sync_detailed(client=partner, body=body)
    check(created.status_code == 201 and isinstance(created.parsed, Placement), "create a placement with a token")
    pid, etag = created.parsed.id, created.headers["etag"]

    read = get_placement.sync_detailed(pid, client=partner)
    check(read.status_code == 200 and read.headers["etag"] == etag, "read it back with the same ETag")
    check(abs(read.parsed.fte - 0.6) < 1e-9, "22.5 hours is 0.6 FTE")

    ended = end_placement.sync_detailed(
        pid, client=partner, body=EndPlacement(end_date=datetime.date(2027, 8, 31)), if_match=etag
    )
    check(ended.status_code == 200 and ended.parsed.end_date == datetime.date(2027, 8, 31), "end it with If-Match")
    check(ended.headers["etag"] != etag, "ending it gives a new ETag")

    stale = end_placement.sync_detailed(pid, client=partner, body=EndPlacement(end_date=UNSET), if_match=etag)
    check(stale.status_code == 412 and isinstance(stale.parsed, Problem), "the old ETag is a typed 412 problem")
    check(stale.parsed.type_ == "/problems/stale-version" and stale.parsed.current_version == 2, "it says where the record is")

    bad = create_placement.sync_detailed(
        client=partner,
        body=PlacementInput(
            staff_ref="", role_code="astronaut", host_type=HostType.PRACTICE, host_code=code,
            hours_per_week=0, start_date=datetime.date(2026, 9, 1),
        ),
    )
    check(bad.status_code == 422 and isinstance(bad.parsed, Problem), "an invalid placement is a typed 422 problem")
    fields = sorted(e.field for e in bad.parsed.errors)
    check(fields == ["hoursPerWeek", "roleCode", "staffRef"], f"every field at fault is named: {fields}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
