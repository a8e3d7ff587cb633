"""PagerDuty Events API v2 alerts with the platform's defaults.

The provider's notifier always posts to ``https://events.pagerduty.com`` (its sync hook builds
``pagerduty.EventsApiV2Client(key)`` without a base URL; its async hook hard-codes ``base_url``), and
the ``pagerduty_events`` connection type has no host field. PagerDuty accounts in the EU service
region need ``https://events.eu.pagerduty.com``, and tests need a local receiver, so the platform
notifier honours an optional ``extra.events_url`` on the connection for both the sync and the async
path; without it, the provider's behaviour is unchanged. With an override, the sync path posts the
provider-built event itself through the package's HTTP client (the ``pagerduty`` client accepts only
``https://`` base URLs); the async path sets the provider's async hook ``base_url``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.pagerduty.hooks.pagerduty_events import prepare_event_data
from airflow.providers.pagerduty.notifications.pagerduty import PagerdutyNotifier
from airflow.sdk import BaseHook

from airflow_platform.notifiers import message
from airflow_platform.utils.http import ApiCall, RestClient, RestEndpoint, error_for_status

if TYPE_CHECKING:
    import httpx

# The notifier's attributes that make up an Events API v2 event (``prepare_event_data``'s arguments).
EVENT_FIELDS = (
    "summary", "severity", "source", "custom_details", "component", "group", "class_type", "action",
    "dedup_key", "images", "links",
)  # fmt: skip
PAGERDUTY_CONN_ID = "pagerduty_events"
"""The platform's PagerDuty Events connection (config/platform.yaml); password = integration key."""


def _pagerduty_status_error(response: httpx.Response, call: ApiCall) -> Exception:
    return error_for_status(
        response.status_code, f"PagerDuty Events API answered HTTP {response.status_code}"
    )


class PlatformPagerdutyNotifier(PagerdutyNotifier):
    """The provider's ``PagerdutyNotifier`` with the platform's connection id, summary and details.

    Importable by path, so ``AsyncCallback``/``SyncCallback`` can rebuild it from keyword arguments.

    Args:
        summary: Event summary (Jinja); default names the DAG and the event.
        severity: ``info``, ``warning``, ``error`` or ``critical``.
        custom_details: Event details (Jinja); default names DAG, task, run and log URL.
        pagerduty_events_conn_id: The PagerDuty Events connection (password = integration key).
        **kwargs: Passed to ``PagerdutyNotifier`` (``dedup_key``, ``component``, ``links``, ...).
    """

    def __init__(
        self, *, severity: str = "error", pagerduty_events_conn_id: str = PAGERDUTY_CONN_ID, **kwargs: Any
    ):
        kwargs.setdefault("summary", message.TITLE)
        kwargs.setdefault("custom_details", message.DETAILS)
        super().__init__(severity=severity, pagerduty_events_conn_id=pagerduty_events_conn_id, **kwargs)

    def notify(self, context: Any) -> None:
        """Send the event (sync), to ``extra.events_url`` when the connection sets one."""
        events_url = self._events_url(self._connection_extra())
        if events_url is None:
            super().notify(context)
            return
        fields = {name: getattr(self, name) for name in EVENT_FIELDS}
        event = prepare_event_data(**fields, action_key_name="event_action")
        event["routing_key"] = self.hook.integration_key
        # The routing key travels in the body only and is redacted from any error message.
        endpoint = RestEndpoint(
            base_url=events_url,
            service="PagerDuty Events API",
            status_error=_pagerduty_status_error,
            secrets=(str(self.hook.integration_key),),
        )
        with RestClient(endpoint) as client:
            client.call(ApiCall("POST", "v2/enqueue", "PagerDuty event", body=event))

    async def async_notify(self, context: Any) -> None:
        """Send the event (async, e.g. a deadline alert in the triggerer), honouring ``extra.events_url``."""
        extra: dict[str, Any] = {}
        if self.pagerduty_events_conn_id:
            conn = await BaseHook.aget_connection(self.pagerduty_events_conn_id)
            extra = await conn.aextra_dejson()
        events_url = self._events_url(extra)
        if events_url is not None:
            self.hook_async.base_url = events_url
        await super().async_notify(context)

    def _connection_extra(self) -> dict[str, Any]:
        if not self.pagerduty_events_conn_id:
            return {}
        return BaseHook.get_connection(self.pagerduty_events_conn_id).extra_dejson

    @staticmethod
    def _events_url(extra: dict[str, Any]) -> str | None:
        url = extra.get("events_url")
        return str(url).rstrip("/") if url else None


pagerduty_notifier = PlatformPagerdutyNotifier
"""The notifier for ``on_failure_callback`` (and other task/DAG callbacks): the class itself."""
