"""Where the extension's credentials come from, and what the user sees when they are wrong."""

import pytest
from serverext_support import JobList, server_config
from traitlets import TraitError
from traitlets.config import Config

from flux_hub.serverextension.config import FluxHub


class TestFromTheEnvironment:
    @pytest.fixture
    def jp_server_config(self, cluster, monkeypatch):
        # What the hub's pre_spawn_start injects; no FluxHub config at all.
        monkeypatch.setenv("FLUX_RESTFUL_HOST", cluster.url)
        monkeypatch.setenv("FLUX_USER", "carol")
        monkeypatch.setenv("FLUX_TOKEN", cluster.passwords["carol"])
        monkeypatch.setenv("FLUX_SECRET_KEY", cluster.secret_key)
        return server_config()

    async def test_credentials_come_from_the_hubs_environment(self, api, cluster):
        code, summary = await api.get("cluster")
        assert code == 200
        assert (summary["account"], summary["url"], summary["reachable"]) == (
            "carol",
            cluster.url,
            True,
        )
        job_id = await api.submit(command="hostname")
        assert (await api.wait(job_id))["result"] == "COMPLETED"


class TestNotConfigured:
    @pytest.fixture
    def jp_server_config(self, cluster, monkeypatch):
        for name in ("FLUX_USER", "FLUX_TOKEN", "FLUX_SECRET_KEY"):
            monkeypatch.delenv(name, raising=False)
        return server_config(host=cluster.url)

    async def test_the_server_runs_and_says_what_is_missing(self, api, cluster):
        code, error = await api.get("jobs")
        assert code == 503
        assert "FLUX_USER and FLUX_TOKEN not set" in error["message"]
        assert cluster.url in error["message"]
        code, summary = await api.get("cluster")
        assert code == 200
        assert summary["reachable"] is False
        assert "FLUX_USER and FLUX_TOKEN not set" in summary["error"]


class TestWrongPassword:
    @pytest.fixture
    def jp_server_config(self, cluster):
        return server_config(cluster, "alice", token="not-alices-password")

    async def test_a_refused_login_is_401_with_a_message_and_no_secret(self, api, cluster):
        code, error = await api.get("jobs")
        assert code == 401
        assert "alice" in error["message"] and cluster.url in error["message"]
        assert "not-alices-password" not in str(error)
        assert cluster.secret_key not in str(error)
        code, summary = await api.get("cluster")
        assert code == 200
        assert summary["reachable"] is True  # it answered, but refused the account
        assert "failed" in summary["error"]


class TestCompleteListingEveryTime:
    @pytest.fixture
    def jp_server_config(self, cluster):
        return server_config(cluster, "alice", full_listing_interval=0.0)

    async def test_a_zero_interval_reads_the_complete_listing_on_every_refresh(self, api, service):
        asked = []
        original = service.client.jobs_body

        async def recorded(**kwargs):
            asked.append(kwargs)
            return await original(**kwargs)

        service.client.jobs_body = recorded
        panel = JobList(api)
        for _ in range(3):
            await panel.refresh()
        assert asked == [{}, {}, {}]
        # a complete listing still answers the panel with what changed
        assert [answer["complete"] for answer in panel.answers] == [True, False, False]


@pytest.mark.parametrize(
    "setting, value, message",
    [
        ("host", "localhost:port", "FluxHub.host (or $FLUX_RESTFUL_HOST) must be the URL of the "
         "flux-restful server, like http://127.0.0.1:5000, not 'localhost:port'"),
        ("host", "http://127.0.0.1:99999", "not 'http://127.0.0.1:99999'"),
        ("host", "ftp://cluster", "not 'ftp://cluster'"),
        ("request_timeout", 0, "'request_timeout' trait of a FluxHub instance should not be less "
         "than 0.1"),
        ("full_listing_interval", -1, "'full_listing_interval' trait of a FluxHub instance "
         "should not be less than 0.0"),
        ("concurrent_requests", 0, "'concurrent_requests' trait of a FluxHub instance should "
         "not be less than 1"),
        ("finished_jobs_cache_size", -1, "'finished_jobs_cache_size' trait of a FluxHub "
         "instance should not be less than 0"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_when_set_naming_the_setting(setting, value, message):
    config = Config()
    config.FluxHub[setting] = value
    with pytest.raises(TraitError) as refused:
        FluxHub(config=config)
    assert message in str(refused.value)


def test_a_host_is_kept_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("FLUX_RESTFUL_HOST", "https://flux.example.org:8443/ ")
    assert FluxHub().host == "https://flux.example.org:8443"
