"""The app's Adapters tab: versions with figures, promote (refused with the gate's reason unless forced),
roll back; in a served app, the key's tenant's registry and only an admin key may change it."""

from __future__ import annotations

import gradio as gr
import httpx
import pytest
from live_server import LiveApp
from test_lora_registry import fake_version

from adgen import lora_registry as registry
from adgen.apikeys import create_key
from adgen.service import ServiceSettings
from adgen.settings import adgen_home
from adgen.ui_adapters import _promote, _rollback, _show

CALL = 60


def test_local_tab_lists_promotes_with_the_gate_and_rolls_back():
    fake_version(base=30, mine=25)
    fake_version(base=30, mine=27, previous=25, against=None)
    status, rows, version, grid = _show("northwind")
    assert [r[0] for r in rows] == ["v1", "v2"] and rows[0][6:8] == ["30.00", "25.00"]
    assert "no active version" in status and version == 2
    _, rows, _, _ = _promote("northwind", 1, False)
    assert rows[0][1] == "●" and registry.active("northwind").version == 1
    with pytest.raises(gr.Error, match="evaluated against no active version"):
        _promote("northwind", 2, False)
    status, rows, _, _ = _promote("northwind", 2, True)
    assert "northwind/v2 is active" in status and rows[1][1] == "●"
    status, _, _, _ = _rollback("northwind")
    assert "northwind/v1 is active" in status


def test_served_tab_uses_the_keys_tenant_and_needs_an_admin_key():
    _, creator = create_key(["northwind"], "shop", role="creator")
    _, admin = create_key(["northwind"], "shop", role="admin")
    fake_version(tenant="shop", base=30, mine=25)
    fake_version(base=30, mine=20)  # the CLI's own registry: not the served tenant's
    with LiveApp(ServiceSettings(home=adgen_home(), run_worker=False, ui=True)) as live:
        refused = _call(live, creator, "promote_adapter", ["northwind", 1, False])
        assert "event: error" in refused and "cannot promote" in refused, refused[:500]
        assert registry.active("northwind", "shop") is None
        done = _call(live, admin, "promote_adapter", ["northwind", 1, False])
        assert "event: complete" in done and "northwind/v1 is active" in done and "tenant shop" in done, done[:800]
        assert registry.active("northwind", "shop").version == 1 and registry.active("northwind") is None
        other_brand = _call(live, admin, "adapters", ["sakura"])
        assert "event: error" in other_brand and "not scoped to that brand" in other_brand


def _call(live: LiveApp, key: str, api_name: str, data: list) -> str:
    headers = {"Authorization": f"Bearer {key}"}
    posted = httpx.post(f"{live.url}/ui/gradio_api/call/{api_name}", json={"data": data}, headers=headers,
                        timeout=CALL)
    assert posted.status_code == 200, posted.text
    return httpx.get(f"{live.url}/ui/gradio_api/call/{api_name}/{posted.json()['event_id']}", headers=headers,
                     timeout=CALL).text
