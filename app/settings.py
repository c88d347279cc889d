"""The one place that reads the environment: every setting, its default, and what prod refuses."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent

# Secrets that ship in this repository and must never protect a real deployment.
PLACEHOLDER_SECRETS = {"", "change-me", "dev-secret-change-me", "placeholder", "secret"}

# JWT_SECRET in prod (docs/deploy.md "What prod refuses"): at least this long, this many
# different characters, and this many bits by a character-frequency (Shannon) estimate.
# `secrets.token_urlsafe(32)` gives 43 characters and about 200 bits by this estimate;
# `openssl rand -hex 32` 64 characters and about 240. A 128-bit `secrets.token_hex(16)` (32 hex
# digits) falls under 10 different characters or 96 bits about once in 5,000 draws, which is why
# the bars are 8 and 80: a random secret of 32 hex digits misses them less than once in 10^7.
SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 8
SECRET_MIN_BITS = 80


def estimated_bits(secret: str) -> float:
    """Length × the Shannon entropy of the secret's own character frequencies: a generous
    upper bound for a human-chosen string, close to the truth for a random one."""
    counts = Counter(secret)
    return -sum(n * math.log2(n / len(secret)) for n in counts.values())


def _repeats(secret: str) -> bool:
    """True when the secret is one shorter piece over and over ("change-me" × 4, "abab…")."""
    return any(len(secret) % p == 0 and secret == secret[:p] * (len(secret) // p)
               for p in range(1, len(secret) // 2 + 1))


def weak_secret(secret: str) -> str | None:
    """Why `secret` cannot sign tokens in prod, or None if it can."""
    if secret.strip().lower() in PLACEHOLDER_SECRETS:
        return "is a placeholder"
    if len(secret) < SECRET_MIN_LENGTH:
        return f"is shorter than {SECRET_MIN_LENGTH} characters"
    if _repeats(secret):
        return "is one short piece repeated"
    if any(word in secret.lower() for word in PLACEHOLDER_SECRETS if word):
        return "contains a placeholder word (change-me, secret, placeholder)"
    if len(set(secret)) < SECRET_MIN_DISTINCT:
        return f"has fewer than {SECRET_MIN_DISTINCT} different characters"
    if estimated_bits(secret) < SECRET_MIN_BITS:
        return f"has less than {SECRET_MIN_BITS} bits of entropy"
    return None


class ProdRefusal(ValueError):
    """Prod settings that must not start a server, one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start in prod: " + "; ".join(problems))


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
    # A MySQL/MariaDB read replica for heavy reads (statistics); unset: everything on the
    # primary. Used while replication runs and lags at most replica_max_lag_s (checked every
    # replica_check_s); causal reads wait for the replica to catch up with the primary first.
    database_replica_url: str = ""
    replica_max_lag_s: float = 30.0
    replica_check_s: float = 5.0
    replica_causal_reads: bool = False
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
    # Photo decoding (app/media/workers.py, docs/deploy.md "Memory"): at most IMAGE_WORKERS
    # decodes at once per API process, whatever the core count, each in a child process capped
    # at IMAGE_WORKER_MEMORY_MB and replaced after IMAGE_WORKER_MAX_TASKS photos or a decode
    # over IMAGE_TIMEOUT_S. Header limit and decode budget (after JPEG draft scaling) in pixels.
    # IMAGE_QUEUE_WAIT_S + IMAGE_TIMEOUT_S stays within Sanic's 30 s RESPONSE_TIMEOUT.
    image_workers: int = 2
    image_worker_max_tasks: int = 25
    image_worker_memory_mb: int = 512
    image_timeout_s: float = 15.0
    image_queue_max: int = 16  # uploads decoding or waiting to, per API process; more: 503
    image_queue_wait_s: float = 15.0  # waited longer for a worker: 503 instead of decoding
    image_max_pixels: int = 50_000_000
    image_max_decoded_pixels: int = 24_000_000

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
    # WeChat message push (小程序后台 → 开发管理 → 消息推送, plaintext or compatible mode,
    # JSON): the Token there. With WeChat configured and this set, photos go through
    # media_check_async and are held until its wxa_media_check verdict is pushed to
    # /api/v1/wechat/push; without it, photos pass at once (docs/operations.md).
    wechat_push_token: SecretStr = SecretStr("")
    # A photo whose verdict has not come back after this long is sent to WeChat again.
    media_check_resend_s: int = 3600
    # Monthly evaluation (考核, docs/metrics.md): the staff's own time limits in natural
    # minutes. 按时立案 counts from the report, 按时派遣 from when the ticket reached the
    # dispatch queue, 按时核查 from the 核查 request (30 min: eGova's 核实/核查 limit).
    evaluation_accept_minutes: int = 30
    evaluation_dispatch_minutes: int = 30
    evaluation_verify_minutes: int = 30
    # Separation of duties (issue 15): whoever handled a ticket may not verify or close it;
    # the 核查 falls to another grid worker of the cell, the collector or a dispatcher.
    separate_verification: bool = True
    # Talking to the reporter (issue 15): while a case waits for the reporter's answer to
    # 请求补充信息 its clock is paused, i.e. the answer moves the deadline on by the wait.
    pause_clock_for_info: bool = False
    # 上报/升级 (issue 15 item 3, docs/supervision.md): each level's time limit in working
    # hours, counted from when that level accepts the case (the ticket's deadline is reset).
    escalation_limit_community_hours: int = 24
    escalation_limit_street_hours: int = 40
    escalation_limit_district_hours: int = 80
    # Periodic jobs (overdue marking) inside the API process; turn off when a separate job
    # process runs them (production with several API processes).
    jobs_in_process: bool = True

    # The Swagger UI page at /docs. It loads its scripts from a public CDN (jsdelivr), which
    # government networks often cannot reach, so it is off in prod unless asked for; the
    # document itself, /docs/openapi.json, is always served from the app.
    api_docs_ui: bool | None = None  # None: on in dev/test, off in prod

    login_max_failures: int = 5
    login_lockout_seconds: int = 900
    # The browser console (指挥中心工作台): a session ends after this long without a request
    # (等保 2.0 idle timeout), and in any case this long after sign-in.
    console_idle_timeout_s: int = 30 * 60
    console_session_max_s: int = 12 * 3600
    # A map tile URL for the console's maps (`https://tiles.example.gov.cn/{z}/{x}/{y}.png`,
    # or a same-host path `/tiles/{z}/{x}/{y}.png`); empty: no tiles, the grid polygons only.
    console_tile_url: str = ""
    # The big screen (/screen): its figures are computed at most once per scope in this many
    # seconds (shared through Redis when configured), and pushed to screens this often; an
    # event stream ends after SCREEN_SSE_MAX_S and the browser reconnects (proxies, restarts).
    screen_cache_s: float = 5.0
    screen_refresh_s: float = 5.0
    screen_sse_max_s: float = 600.0
    rate_login_per_minute: int = 10
    rate_writes_per_minute: int = 60
    # The case-event feed (docs/integrations.md) serves events at least this old, so that a
    # transaction still writing a lower event id commits before a reader passes that id.
    feed_settle_s: float = 10.0
    # Open311 GeoReport v2 (/open311/v2/, docs/open311.md): discovery's contact and key
    # service, and the jurisdiction_id a client may send (any other one is 404).
    open311_jurisdiction_id: str = ""
    open311_contact: str = "请联系平台管理员"
    open311_key_service: str = "向平台管理员申请 API key（/api/v1/admin/open311/clients）"
    open311_max_requests: int = 1000  # GET requests answers at most this many
    # Contact details a client app sent are blanked this long after the case ended.
    open311_contact_retention_days: int = 180
    # Cameras and sensors (docs/integrations.md): events of one device and type this close
    # together join one case; a device unheard this long is reported to the admins once.
    device_event_window_s: int = 1800
    device_silent_after_s: int = 86400

    @property
    def media_dir(self) -> Path:
        return self.var_dir / "media"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'gongzhi.sqlite3'}"

    @property
    def effective_replica_url(self) -> str:
        """The read replica in use: none when the primary is SQLite (which has no replicas)."""
        mysql_primary = self.database_url.startswith(("mysql://", "mariadb://"))
        return self.database_replica_url if mysql_primary else ""

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_appid)

    @property
    def qiniu_configured(self) -> bool:
        return bool(self.qiniu_access_key)

    @property
    def docs_ui_enabled(self) -> bool:
        return self.api_docs_ui if self.api_docs_ui is not None else self.app_env != "prod"

    @property
    def dev_login_allowed(self) -> bool:
        return self.app_env in ("dev", "test") and not self.wechat_configured

    @model_validator(mode="after")
    def _tile_url_is_a_template(self) -> Settings:
        url = self.console_tile_url
        if url and not (url.startswith(("https://", "http://", "/")) and "{z}" in url
                        and "{x}" in url and "{y}" in url and not url.startswith("//")):
            raise ValueError("CONSOLE_TILE_URL must be an http(s):// URL or a /path with "
                             "{z}, {x} and {y}, or empty")
        return self

    @model_validator(mode="after")
    def _replica_is_mysql(self) -> Settings:
        if self.effective_replica_url and not self.database_replica_url.startswith(
                ("mysql://", "mariadb://")):
            raise ValueError("DATABASE_REPLICA_URL must be a mysql:// URL (a read replica of "
                             "the MySQL/MariaDB primary)")
        return self

    @model_validator(mode="after")
    def _refuse_placeholders_in_prod(self) -> Settings:
        if self.app_env != "prod":
            return self
        problems = []
        if (why := weak_secret(self.jwt_secret.get_secret_value())) is not None:
            problems.append(f"JWT_SECRET {why}: generate one with "
                            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        if not self.database_url:
            problems.append("DATABASE_URL must be set (MySQL) in prod")
        if not self.wechat_configured or self.wechat_secret.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("WECHAT_APPID and WECHAT_SECRET must be set in prod")
        if ("127.0.0.1" in self.public_base_url or "localhost" in self.public_base_url
                or not self.public_base_url.lower().startswith("https://")):
            problems.append("PUBLIC_BASE_URL must be the public https:// address of the API")
        if self.qiniu_configured and self.qiniu_secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            problems.append("QINIU_SECRET_KEY must be a real secret")
        if problems:
            raise ProdRefusal(problems)
        return self

    def deployment_warnings(self) -> list[str]:
        """What prod allows but should not run on: said loudly at start, not refused."""
        warnings = []
        if self.app_env == "prod" and self.effective_database_url.startswith("sqlite"):
            warnings.append("DATABASE_URL is SQLite in prod: one process, no row locks, no "
                            "second host; use MySQL/MariaDB (docs/deploy.md)")
        if self.database_replica_url and not self.effective_replica_url:
            warnings.append("DATABASE_REPLICA_URL is ignored: the primary is SQLite")
        if (self.app_env == "prod" and self.wechat_configured
                and not self.wechat_push_token.get_secret_value()):
            warnings.append("WECHAT_PUSH_TOKEN is empty: photos are not checked by WeChat "
                            "(media_check_async needs the message push; docs/operations.md)")
        return warnings


def refusal_lines(exc: ValidationError) -> list[str]:
    """A settings failure as one line per problem, for the command line (no traceback)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, ProdRefusal):
            lines += [f"refusing to start in prod: {p}" for p in cause.problems]
        else:
            name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
            lines.append(f"invalid setting {name}: {error['msg']}")
    return lines


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
