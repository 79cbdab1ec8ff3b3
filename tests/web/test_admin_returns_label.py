"""The console's authorise form and the carrier account that follows a return label: it
offers the return's client's carrier accounts (no other client's), names none when the client
has several, and the domain's refusals (several accounts of the label's carrier and none
named, an account of another carrier) come back as the return's page with the problem at the
form, the return unchanged; the account chosen is the one that follows the label."""

from __future__ import annotations

from sqlalchemy import select

from hub.storage.models import ParcelRow, ReturnRow
from tests.conftest import QUIET_ROYALMAIL, accounts_fixture, make_person, sign_in
from tests.conftest import shipped_order as _shipped_order
from tests.web.test_admin_returns import _a_return, _step

#: acme ships with its one Royal Mail account and has two DPD UK accounts; globex has one
accounts_file = accounts_fixture(
    QUIET_ROYALMAIL
    + "".join(
        f"""
[accounts.{name}]
connector = "dpd_uk"
client = "{client}"
username = "{name}-user"
password = "{name}-password"
api_calls = false
"""
        for name, client in (
            ("acme-dpd-north", "acme"),
            ("acme-dpd-south", "acme"),
            ("globex-dpd", "globex"),
        )
    )
)


def _editor(hub, client) -> None:
    assert sign_in(client, make_person(hub, "ed@example.com", "editor")).status_code == 302


def _status(hub, return_id: int) -> str:
    with hub.db.transaction() as session:
        return session.get(ReturnRow, return_id).status


def _label(hub, return_id: int) -> ParcelRow | None:
    with hub.db.transaction() as session:
        return session.execute(
            select(ParcelRow).where(ParcelRow.return_id == return_id)
        ).scalar_one_or_none()


def test_two_accounts_of_the_label_carrier_and_none_named_then_one_chosen(
    hub, client, worker, viewer, editor
):
    order = _shipped_order(hub, client, worker, viewer, editor)
    rid = _a_return(hub, order["id"])
    _editor(hub, client)
    page = client.get(f"/admin/returns/{rid}").text
    assert '<select id="carrier_account" name="carrier_account">' in page
    for name, carrier in (
        ("acme-dpd-north", "dpd_uk"),
        ("acme-dpd-south", "dpd_uk"),
        ("acme-royalmail", "royalmail"),
    ):
        assert f'<option value="{name}">{name} ({carrier})</option>' in page
    assert "globex-dpd" not in page  # another client's account is never offered
    assert "shop-a" not in page.split('name="carrier_account"')[1].split("</select>")[0]
    assert '<option value="" selected>' in page  # three to choose from: none chosen

    refused = _step(client, rid, "authorise", carrier="dpd_uk", tracking_number="15501234567890")
    assert refused.status_code == 422
    assert (
        "carrier_account: client &#39;acme&#39; has several dpd_uk accounts: name one of "
        "acme-dpd-north, acme-dpd-south"
    ) in refused.text
    assert 'id="authorise-problem"' in refused.text and 'aria-label="Authorise"' in refused.text
    assert 'name="carrier_account" aria-invalid="true"' in refused.text
    assert 'value="15501234567890"' in refused.text  # what was typed is kept
    assert _status(hub, rid) == "requested" and _label(hub, rid) is None

    chosen = _step(
        client, rid, "authorise", carrier="dpd_uk", tracking_number="15501234567890",
        carrier_account="acme-dpd-south",
    )  # fmt: skip
    assert chosen.status_code == 302, chosen.text
    detail = client.get(f"/admin/returns/{rid}").text
    assert "now in transit" in detail and "dpd_uk <strong>15501234567890</strong>" in detail
    label = _label(hub, rid)
    assert label is not None and label.carrier == "dpd_uk"
    assert label.carrier_account == "acme-dpd-south"


def test_an_account_of_another_carrier_or_client_is_refused_at_the_form(
    hub, client, worker, viewer, editor
):
    order = _shipped_order(hub, client, worker, viewer, editor)
    rid = _a_return(hub, order["id"])
    _editor(hub, client)
    wrong = _step(
        client, rid, "authorise", carrier="royalmail", tracking_number="RT000000002GB",
        carrier_account="acme-dpd-north",
    )  # fmt: skip
    assert wrong.status_code == 422
    assert "&#39;acme-dpd-north&#39; is a dpd_uk account, not royalmail" in wrong.text
    # the choice is kept for the person to change
    assert '<option value="acme-dpd-north" selected>' in wrong.text
    theirs = _step(
        client, rid, "authorise", carrier="dpd_uk", tracking_number="15501234567891",
        carrier_account="globex-dpd",
    )  # fmt: skip
    assert theirs.status_code == 422
    assert "&#39;globex-dpd&#39; is client &#39;globex&#39;&#39;s, not &#39;acme&#39;&#39;s" in (
        theirs.text
    )
    assert _status(hub, rid) == "requested" and _label(hub, rid) is None
    # Royal Mail, the client's only account of it, follows the label with no account named
    plain = _step(client, rid, "authorise", carrier="royalmail", tracking_number="RT000000002GB")
    assert plain.status_code == 302, plain.text
    label = _label(hub, rid)
    assert label is not None and label.carrier == "royalmail" and label.carrier_account is None
    assert (
        'data-status="in_transit">In transit</span></h1>'
        in client.get(f"/admin/returns/{rid}").text
    )
