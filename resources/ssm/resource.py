"""The Dagster face of the SSM client: configuration in, an :class:`SSMClient` out.

Wire it with the keys from the environment so they never land in run config::

    SSMResource(
        base_url=dg.EnvVar("SSM_BASE_URL"),
        public_key=dg.EnvVar("SSM_PUBLIC_KEY"),
        private_key=dg.EnvVar("SSM_PRIVATE_KEY"),
    )

The key fields are excluded from the resource's repr, so they do not show up in logs either.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from pydantic import Field, PrivateAttr

from resources.run_scope import RunScope
from resources.ssm.client import SSMClient
from resources.ssm.ratelimit import pace_file
from resources.ssm.where import DEFAULT_DATE_FORMAT


class SSMResource(dg.ConfigurableResource):
    """Sage Sales Management API v4 (production: https://api.forcemanager.com/api/v4)."""

    base_url: str = Field(
        description="API v4 root (SSM_BASE_URL); https, or http to localhost for the sandbox."
    )
    public_key: str = Field(repr=False, description="Public API key (SSM_PUBLIC_KEY).")
    private_key: str = Field(repr=False, description="Private API key (SSM_PRIVATE_KEY).")
    requests_per_second: float = Field(
        default=4.0,
        description="The API plan's rate, 4 or 13 requests/s (SSM_REQUESTS_PER_SECOND).",
    )
    timeout_seconds: float = Field(default=30.0, description="Per-request timeout in seconds.")
    max_attempts: int = Field(
        default=6, description="Sends per request before giving up on 429/5xx/timeouts."
    )
    page_size: int = Field(
        default=50,
        ge=1,
        description=(
            "Rows asked per list page (Count header; SSM's default is 50, its maximum is "
            "UNCONFIRMED). A tenant that holds pages below it is still read whole."
        ),
    )
    token_refresh_seconds: float = Field(
        default=3000.0,
        gt=0,
        description=(
            "Log in again this many seconds after the last login. SSM's session lifetime is "
            "UNCONFIRMED (sources suggest 1 h to 24 h); keep this under the shortest, and the "
            "client also logs in again once when SSM answers 401."
        ),
    )

    where_date_format: str = Field(
        default=DEFAULT_DATE_FORMAT,
        description=(
            "strftime format of the dates the client writes in where filters (change feed, "
            "deletes seen since), SSM_WHERE_DATE_FORMAT. SSM's syntax is UNCONFIRMED: samples "
            "show '%Y-%m-%dT%H:%M:%S' (the default) and '%Y-%m-%d %H:%M:%S'. Always UTC."
        ),
    )

    pace_dir: str = Field(
        default="",
        description=(
            "A folder where every process of this host that calls the tenant shares its pace "
            "(SSM_PACE_DIR): the sync, the quote and reverse jobs, their sensors and the runs "
            "of other Sage companies then stay under requests_per_second together. Empty: "
            "this process paces alone."
        ),
    )

    _run: RunScope = PrivateAttr(default_factory=RunScope)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run.open()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._run.close()

    @contextmanager
    def get_client(self) -> Iterator[SSMClient]:
        """A client; inside a run, the run's one client (one login and one pace for all the
        run's steps: a client per push step cost a login each, 11 of a quiet sync's 25 calls),
        closed when the run ends; outside a run, a client closed when the block ends."""
        if self._run.active:
            yield self._run.shared(self._new_client)
            return
        with self._new_client() as client:
            yield client

    def new_client(self) -> SSMClient:
        """A client the caller keeps and closes (a sensor reuses one across its ticks, so a
        poll costs its list calls, not a login each time)."""
        return self._new_client()

    def _new_client(self) -> SSMClient:
        return SSMClient(
            self.base_url,
            self.public_key,
            self.private_key,
            requests_per_second=self.requests_per_second,
            timeout_seconds=self.timeout_seconds,
            max_attempts=self.max_attempts,
            page_size=self.page_size,
            token_refresh_seconds=self.token_refresh_seconds,
            date_literal_format=self.where_date_format,
            pace_file=pace_file(self.pace_dir, self.base_url, self.public_key)
            if self.pace_dir
            else None,
        )
