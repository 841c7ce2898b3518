"""The sharing card (without a browser): its form stays while shares are added and revoked."""

from __future__ import annotations

from pathlib import Path

import panel as pn

from rhinoapp.config import Settings
from rhinoapp.state.session import SessionState
from rhinoapp.state.sharing import SharingState
from rhinoapp.store.accounts import AccountStore
from rhinoapp.store.database import open_store
from rhinoapp.store.repository import ProjectRepository
from rhinoapp.views.sharing import SharingPanel


def widgets(card: pn.viewable.Viewable, kind: type) -> list:
    return [w for w in card.select(kind)]


def test_the_form_stays_while_shares_change_and_groups_are_shared_and_revoked(tmp_path: Path) -> None:
    store = open_store(Settings(data_dir=tmp_path))
    for name in ("ana", "bob"):
        AccountStore(store).add(name, f"{name} long password")
    session = SessionState(repository=ProjectRepository(store, owner="ana"))
    session.open_project(session.repository.create("Case 1").id)
    state = SharingState(session=session)
    card = SharingPanel(state=state).__panel__()
    [share] = [b for b in widgets(card, pn.widgets.Button) if b.label == "Share"]
    [name] = widgets(card, pn.widgets.TextInput)
    kind = next(s for s in widgets(card, pn.widgets.Select) if s.label == "Share with")

    name.value = "bob"
    share.clicks += 1
    state.refresh()  # read again, nothing changed
    assert [r.object for r in card.select(pn.pane.HTML) if "rh-share'" in str(r.object)] == [
        "<span class='rh-share'>bob: viewer</span>"]
    kind.value, name.value = True, "ent"
    share.clicks += 1
    assert state.feedback == "Shared with group ent as viewer."
    assert share in widgets(card, pn.widgets.Button)  # the same button: the form was not redrawn
    [revoke] = [b for b in widgets(card, pn.widgets.Button) if b.label == "Revoke group ent"]
    revoke.clicks += 1
    assert [(s.user, s.group) for s in state.shares] == [("bob", False)]
    assert state.feedback == "Group ent no longer sees this project."
    assert share in widgets(card, pn.widgets.Button)
    store.close()
