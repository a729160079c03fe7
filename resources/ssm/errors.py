"""Typed errors of the SSM API v4 client.

Each message says what failed and what to do about it. None of them ever carries the API keys
or the session token: they are built only from the resource name, the HTTP status and SSM's own
answer (which never echoes the keys).
"""

from __future__ import annotations


class SSMError(Exception):
    """Something went wrong talking to Sage Sales Management."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        field: str | None = None,
        resource: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status  # HTTP status of SSM's last answer, if there was one
        self.code = code  # SSM's application code (900, 901, 910, ...) when it sent one
        self.field = field  # the offending field, when SSM named it
        self.resource = resource  # e.g. "accounts"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, field={self.field!r}, resource={self.resource!r})"
        )


class SSMConfigurationError(SSMError, ValueError):
    """The client was configured in a way that cannot work (e.g. plain HTTP to a remote host)."""


class SSMAuthError(SSMError):
    """SSM refused the API keys (or refused the session right after a fresh login)."""


class SSMRateLimitError(SSMError):
    """SSM kept answering 429 Too Many Requests after every retry."""


class SSMValidationError(SSMError):
    """SSM rejected the request itself (bad field, bad filter, record read-only...)."""


class SSMNotFoundError(SSMError):
    """The record id does not exist in SSM.

    SSM answers an unknown id with a generic ``400 Bad Request``, the same status it uses for
    invalid input. The client tells them apart by asking the list endpoint for ``id=<n>``: no row
    means the id is unknown (this error), a row means the 400 was about the request
    (``SSMValidationError``). A 404, or code 910 ("resource not exist", which the sandbox uses
    for an unknown resource name), is taken as not-found directly.
    """


class SSMUnavailableError(SSMError):
    """SSM did not answer usefully (5xx, 408, timeouts, dropped connections) after every retry."""
