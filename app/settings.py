"""The one place that reads the environment: every setting, its default, and what prod refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# Secrets that ship in this repository and must never protect a real deployment.
PLACEHOLDER_SECRETS = {"", "change-me", "dev-secret-change-me", "placeholder", "secret"}


class Settings(BaseSettings):
    """Gongzhi configuration, read from the environment (and `.env` if present)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_env: Literal["dev", "test", "prod"] = "dev"
    var_dir: Path = ROOT / "var"

    # Storage: SQLite under var/ when unset; mysql://user:pass@host:port/db in production.
    database_url: str = ""
    db_pool_max: int = 10
    # aiomysql has no read timeout: every database call is wrapped in this limit (seconds).
    db_timeout: float = 10.0
    redis_url: str = ""
    redis_timeout: float = 0.5

    jwt_secret: SecretStr = SecretStr("dev-secret-change-me")
    jwt_issuer: str = "gongzhi"
    jwt_audience: str = "gongzhi-api"
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    # A used refresh token presented again within this many seconds, before what it was
    # exchanged for was used, is a retry of a lost answer, not a leak (0 turns this off).
    refresh_grace_s: float = 30.0

    # WeChat mini-program. Unset app id = development mode (dev login allowed in dev/test).
    wechat_appid: str = ""
    wechat_secret: SecretStr = SecretStr("")
    # Subscribe-message templates by our name → WeChat template id, e.g.
    # WECHAT_TEMPLATES='{"ticket_progress": "<id>", "task_assigned": "<id>"}'. A name left out
    # means in-app messages only for the kinds that use it.
    wechat_templates: dict[str, str] = {}
    wechat_miniprogram_state: Literal["developer", "trial", "formal"] = "formal"
    wechat_message_page: str = "pages/ticket/ticket?id={ticket_id}"
    wechat_poll_page: str = "pages/poll/index?id={poll_id}"
    # Only tests point this elsewhere (a fake WeChat on 127.0.0.1).
    wechat_api_base: str = "https://api.weixin.qq.com/"

    # Qiniu object storage. Unset access key = local files under var/media.
    qiniu_access_key: str = ""
    qiniu_secret_key: SecretStr = SecretStr("")
    qiniu_bucket: str = ""
    qiniu_upload_url: str = "https://upload.qiniup.com"
    qiniu_domain: str = ""  # the bucket's download domain, e.g. https://img.example.gov.cn
    public_base_url: str = "http://127.0.0.1:8000"  # how Qiniu and clients reach this API
    # How many hosts run API processes behind the proxy. Local photo storage (no Qiniu) works
    # on one host only, unless VAR_DIR/media is one volume shared by all (MEDIA_SHARED_VOLUME):
    # `serve` warns at start otherwise (docs/deploy.md).
    api_hosts: int = 1
    media_shared_volume: bool = False

    media_max_bytes: int = 10 * 1024 * 1024
    media_url_ttl: int = 600
    upload_ttl: int = 900
    request_max_size: int = 12 * 1024 * 1024

    locate_tolerance_m: float = 30.0
    # How often a process asks whether configuration (catalog, rules, units, calendar, area
    # names) changed in another process; changes made in this process apply at once.
    config_check_s: float = 2.0
    # Residents may rate a closed ticket within this many days; later it counts as not rated.
    rating_window_days: int = 7
    rating_edit_hours: int = 24
    # "Please rate" (请评价) reminder: this long after closing, to who may rate and has not.
    rating_remind_after_hours: int = 24
    # Local content check (used when WeChat is not configured, and always before it):
    # comma-separated words that hold a text for staff review.
    content_blocklist: str = "法轮,赌博网站,代开发票"
    # Periodic jobs (overdue marking) inside the API process; turn off when a separate job
    # process runs them (production with several API processes).
    jobs_in_process: bool = True

    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # The browser console (指挥中心工作台): a session ends after this long without a request
    # (等保 2.0 idle timeout), and in any case this long after sign-in.
    console_idle_timeout_s: int = 30 * 60
    console_session_max_s: int = 12 * 3600
    rate_login_per_minute: int = 10
    rate_writes_per_minute: int = 60

    @property
    def media_dir(self) -> Path:
        return self.var_dir / "media"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'gongzhi.sqlite3'}"

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_appid)

    @property
    def qiniu_configured(self) -> bool:
        return bool(self.qiniu_access_key)

    @property
    def dev_login_allowed(self) -> bool:
        return self.app_env in ("dev", "test") and not self.wechat_configured

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.app_env != "prod":
            return self
        problems = []
        secret = self.jwt_secret.get_secret_value()
        if secret in PLACEHOLDER_SECRETS or len(secret) < 32:
            problems.append("JWT_SECRET must be a real secret of at least 32 characters")
        if not self.database_url:
            problems.append("DATABASE_URL must be set (MySQL) in prod")
        if not self.wechat_configured or self.wechat_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("WECHAT_APPID and WECHAT_SECRET must be set in prod")
        if "127.0.0.1" in self.public_base_url or "localhost" in self.public_base_url:
            problems.append("PUBLIC_BASE_URL must be the public https address of the API")
        if self.qiniu_configured and self.qiniu_secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("QINIU_SECRET_KEY must be a real secret")
        if problems:
            raise ValueError("refusing to start in prod: " + "; ".join(problems))
        return self


_settings: Settings | None = None


def current() -> Settings:
    """The settings in force for this process, read from the environment on first use."""
    global _settings
    if _settings is None:
        _settings = Settings()
    return _settings


def configure(**overrides: object) -> Settings:
    """Re-read the environment with overrides and make the result the process-wide settings."""
    global _settings
    _settings = Settings(**overrides)  # type: ignore[arg-type]
    return _settings
