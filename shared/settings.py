"""Settings common to every service, read from the environment with one prefix per service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

import jwt
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.messaging.kafka import KafkaSecurity, SaslMechanism, SecurityProtocol
from shared.messaging.retention import RetentionPolicy

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789"  # noqa: S105 - refused outside dev below

Environment = Literal["dev", "test", "prod"]
_ASYNC_DRIVERS = {
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
    "sqlite://": "sqlite+aiosqlite://",
}


# 茌平区, the district of the demo data; every deployment sets its own.
DEFAULT_DISTRICT_CODE = "371523"


class ServiceSettings(BaseSettings):
    """What every service needs; subclasses set `model_config` with their own env prefix."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Environment = "dev"
    database_url: str = Field(
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://... or sqlite+aiosqlite:///..."
    )
    migration_database_url: str | None = Field(
        default=None,
        description="the schema owner's URL, which migrations run with, when the service's own role (database_url's) "
        "is kept to reading and writing rows; unset: migrations use database_url",
    )
    district_code: str = Field(
        default=DEFAULT_DISTRICT_CODE, pattern=r"^[0-9]{6}$", description="the district served (区县代码, 6 digits)"
    )
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enabled: bool = True
    kafka_create_topics: bool = Field(
        default=True, description="create missing topics at start-up (off where KafkaTopic resources exist)"
    )
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA bundle for the brokers (default: the system's)")
    kafka_ssl_certfile: str | None = Field(default=None, description="client certificate (PEM), for mutual TLS")
    kafka_ssl_keyfile: str | None = None
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_public_key: str | None = None
    jwt_jwks: str | None = Field(
        default=None,
        description="a JWKS document (JSON) for RS256: tokens are verified by their kid, so keys rotate with overlap",
    )
    jwt_audience: str = "poverty-platform"
    jwt_issuer: str | None = Field(
        default=None, description="when set, tokens must name this issuer (`iss`): the identity provider's URL"
    )
    jwt_max_lifetime_s: int = Field(
        default=12 * 3600, ge=60, description="the longest a token may be valid (`exp` - `iat`, both required)"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    metrics_port: int = Field(
        default=9100, ge=0, le=65535, description="where /metrics is served, apart from the API (0: not served)"
    )
    log_level: str = "INFO"
    outbox_poll_interval_s: float = Field(
        default=5.0, gt=0, description="fallback poll; commits wake the relay at once"
    )
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_batch_size: int = Field(
        default=500,
        ge=1,
        le=500,
        description="most events of one partition applied in one transaction (a fetch brings at most 500)",
    )
    consumer_retry_backoff_s: float = Field(default=0.2, gt=0)
    max_request_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="request bodies above this are refused (413) unread"
    )
    outbox_retention_days: int = Field(default=7, ge=1, description="published outbox rows are deleted after this")
    inbox_retention_days: int = Field(
        default=60,
        ge=1,
        description="applied-event records must outlive the topics' and dead letters' retention, or a re-read "
        "could apply an event twice",
    )
    idempotency_retention_days: int = Field(
        default=7, ge=1, description="how long a create's Idempotency-Key is remembered: a retry must come within it"
    )
    retention_interval_s: float = Field(default=3600, gt=0, description="how often expired rows are purged")

    @field_validator("database_url", "migration_database_url")
    @classmethod
    def _async_driver(cls, url: str | None) -> str | None:
        """Accept plain URLs (as operators' secrets give them) and name the async driver we use."""
        for plain, driver in _ASYNC_DRIVERS.items():
            if url is not None and url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    def migration_url(self) -> str:
        """The URL migrations run with: the schema owner's."""
        return self.migration_database_url or self.database_url

    @field_validator("jwt_jwks")
    @classmethod
    def _usable_key_set(cls, document: str | None) -> str | None:
        if document is not None:
            try:
                jwt.PyJWKSet.from_json(document)
            except (jwt.PyJWKSetError, jwt.InvalidKeyError, ValueError) as exc:
                raise ValueError(f"not a usable JWKS document ({type(exc).__name__})") from None
        return document

    def kafka_security(self) -> KafkaSecurity:
        """The clients' security settings, as configured."""
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password,
            cafile=self.kafka_ssl_cafile,
            certfile=self.kafka_ssl_certfile,
            keyfile=self.kafka_ssl_keyfile,
        )

    def retention_policy(self) -> RetentionPolicy:
        """How long the outbox and inbox keep their rows, as configured."""
        return RetentionPolicy(
            timedelta(days=self.outbox_retention_days),
            timedelta(days=self.inbox_retention_days),
            idempotency_keys=timedelta(days=self.idempotency_retention_days),
        )

    @model_validator(mode="after")
    def _usable_retention(self) -> ServiceSettings:
        try:
            self.retention_policy()  # the rule lives with the policy; here it stops a service that would break it
        except ValueError as exc:
            raise ValueError(f"inbox_retention_days: {exc}") from None
        return self

    @model_validator(mode="after")
    def _metrics_apart_from_the_api(self) -> ServiceSettings:
        if self.metrics_port == self.port:
            raise ValueError("metrics_port must differ from port: metrics are never served on the API's port")
        return self

    @model_validator(mode="after")
    def _complete_kafka_security(self) -> ServiceSettings:
        sasl = self.kafka_security_protocol.startswith("SASL")
        if sasl and not (self.kafka_sasl_mechanism and self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError("a SASL security protocol needs kafka_sasl_mechanism, _username and _password")
        if not sasl and (self.kafka_sasl_mechanism or self.kafka_sasl_username or self.kafka_sasl_password):
            raise ValueError("kafka_sasl_* settings need a SASL_PLAINTEXT or SASL_SSL security protocol")
        tls_files = (self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile)
        if any(tls_files) and not self.kafka_security_protocol.endswith("SSL"):
            raise ValueError("kafka_ssl_* files need an SSL or SASL_SSL security protocol")
        if self.kafka_ssl_keyfile and not self.kafka_ssl_certfile:
            raise ValueError("kafka_ssl_keyfile needs kafka_ssl_certfile")
        for path in filter(None, tls_files):
            if not Path(path).is_file():
                raise ValueError(f"kafka TLS file not found: {path}")
        return self

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> ServiceSettings:
        if self.environment == "prod":
            if self.jwt_algorithm == "HS256" and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise ValueError("jwt_secret is the development default; set a real secret in production")
            if self.jwt_algorithm == "HS256" and len(self.jwt_secret.get_secret_value()) < 32:
                raise ValueError("jwt_secret must be at least 32 characters")
            if self.jwt_algorithm == "RS256" and not (self.jwt_public_key or self.jwt_jwks):
                raise ValueError("jwt_public_key or jwt_jwks is required for RS256")
            if self.database_url.startswith("sqlite"):
                raise ValueError("SQLite is the embedded development default; production needs PostgreSQL")
        return self
