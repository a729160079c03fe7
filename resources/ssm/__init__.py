"""Sage Sales Management (SSM) API v4: the client, its errors, filters and Dagster resource."""

from resources.ssm.client import NOT_SENT, OUTCOME_UNKNOWN, BulkResult, SSMClient
from resources.ssm.errors import (
    SSMAuthError,
    SSMConfigurationError,
    SSMError,
    SSMNotFoundError,
    SSMRateLimitError,
    SSMUnavailableError,
    SSMValidationError,
)
from resources.ssm.resource import SSMResource

__all__ = [
    "NOT_SENT",
    "OUTCOME_UNKNOWN",
    "BulkResult",
    "SSMAuthError",
    "SSMClient",
    "SSMConfigurationError",
    "SSMError",
    "SSMNotFoundError",
    "SSMRateLimitError",
    "SSMResource",
    "SSMUnavailableError",
    "SSMValidationError",
]
