"""A fake WeChat API on 127.0.0.1 that answers as WeChat documents, error codes included.

wechatpy (the real client) talks to it over HTTP, so the whole client path is exercised:
URL building, query parameters, JSON decoding, errcode handling.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# https://developers.weixin.qq.com/miniprogram/dev/server/API/user-login/api_code2session
ERRORS = {
    40029: "invalid code",
    40163: "code been used",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    40226: "invalid user, high risk user",
    -1: "system error",
    # https://developers.weixin.qq.com/miniprogram/dev/server/API/mp-message-management/subscribe-message/api_sendmessage
    43101: "user refuse to accept the msg",
    47003: "argument invalid!",
    40037: "invalid template_id",
}
SEND_PATH = "/cgi-bin/message/subscribe/send"
SEC_CHECK_PATH = "/wxa/msg_sec_check"
MEDIA_CHECK_PATH = "/wxa/media_check_async"
_HANZI = re.compile(r"^[\u3400-\u9fff]*$")


def field_problem(key: str, value: object) -> str | None:
    """What WeChat would refuse in one template field (its documented limits), or None."""
    kind = re.sub(r"\d+$", "", key)
    if not isinstance(value, str) or value == "":
        return "value must be a non-empty string"
    if kind == "thing" and len(value) > 20:
        return "thing longer than 20"
    if kind == "phrase" and (len(value) > 5 or not _HANZI.match(value)):
        return "phrase must be at most 5 hanzi"
    if kind == "name" and len(value) > (10 if _HANZI.match(value) else 20):
        return "name too long"
    if kind in ("character_string", "number", "letter") and (
            len(value) > 32 or not value.isascii()):
        return f"{kind} must be at most 32 ASCII characters"
    if kind == "number" and not value.replace(".", "").isdigit():
        return "number must be digits"
    return None


@dataclass
class FakeWeChat:
    appid: str = "wx-fake-appid"
    secret: str = "fake-secret-0123456789abcdef"
    codes: dict[str, str | int] = field(default_factory=dict)  # code → openid, or errcode
    used: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    url: str = ""
    # Subscribe messages WeChat accepted (the request bodies), in order.
    sent: list[dict] = field(default_factory=list)
    # errcodes to answer the next sends with, in order (0 = accept); then `send_default`.
    send_script: list[int] = field(default_factory=list)
    send_default: int = 0
    # Called with the body after a send is accepted, before the answer goes back: a test can
    # kill the sender here (WeChat delivered, the sender never learns it).
    on_send: Callable[[dict], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    # msg_sec_check v2: a text containing a marker (key) gets its suggest ("risky" /
    # "review"), label 20001 and a keyword hit in `detail`; any other text passes (label 100).
    sec_verdicts: dict[str, str] = field(default_factory=dict)
    # The msg_sec_check request bodies received, in order (to check they are v2).
    sec_checks: list[dict] = field(default_factory=list)

    def sec_check(self, query: dict[str, str], body: dict) -> dict:
        """POST /wxa/msg_sec_check (v2) as WeChat answers it.

        https://developers.weixin.qq.com/miniprogram/dev/server/API/sec-center/sec-check/api_msgseccheck
        """
        with self.lock:
            self.sec_checks.append(body)
        if query.get("access_token") != "fake-access-token":
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if body.get("version") != 2 or not body.get("openid") or not body.get("content") \
                or body.get("scene") not in (1, 2, 3, 4):
            return {"errcode": 47001, "errmsg": "data format error"}
        content = str(body["content"])
        marker, suggest = next(((k, v) for k, v in self.sec_verdicts.items() if k in content),
                               ("", "pass"))
        label = 100 if suggest == "pass" else 20001
        detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                   "label": label, "prob": 90 if marker else 0}]
        if marker:
            detail.append({"strategy": "keyword", "errcode": 0, "suggest": suggest,
                           "label": label, "level": 20, "keyword": marker})
        return {"errcode": 0, "errmsg": "ok", "result": {"suggest": suggest, "label": label},
                "detail": detail, "trace_id": f"trace-{len(self.sec_checks)}"}

    # media_check_async v2 request bodies received, in order; their trace ids are
    # "trace-media-<n>". `media_check_errcode` makes the next calls fail (0 = accept).
    media_checks: list[dict] = field(default_factory=list)
    media_check_errcode: int = 0

    def media_check(self, query: dict[str, str], body: dict) -> dict:
        """POST /wxa/media_check_async (v2) as WeChat answers it: a trace_id, the verdict later.

        https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
        """
        if query.get("access_token") != "fake-access-token":
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        if self.media_check_errcode:
            return {"errcode": self.media_check_errcode,
                    "errmsg": ERRORS.get(self.media_check_errcode, "error")}
        if body.get("version") != 2 or not body.get("openid") or body.get("media_type") != 2 \
                or body.get("scene") not in (1, 2, 3, 4) \
                or not str(body.get("media_url", "")).startswith(("http://", "https://")):
            return {"errcode": 47001, "errmsg": "data format error"}
        with self.lock:
            self.media_checks.append(body)
            trace_id = f"trace-media-{len(self.media_checks)}"
        return {"errcode": 0, "errmsg": "ok", "trace_id": trace_id}

    def sends_to(self, openid: str) -> list[dict]:
        return [body for body in self.sent if body.get("touser") == openid]

    def send(self, query: dict[str, str], body: dict) -> dict:
        """POST /cgi-bin/message/subscribe/send as WeChat answers it."""
        if query.get("access_token") != "fake-access-token":
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        with self.lock:
            scripted = self.send_script.pop(0) if self.send_script else self.send_default
        if scripted:
            return {"errcode": scripted, "errmsg": ERRORS.get(scripted, "error")}
        if not body.get("touser") or not body.get("template_id"):
            return {"errcode": 47003, "errmsg": "argument invalid! touser/template_id"}
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return {"errcode": 47003, "errmsg": "argument invalid! data"}
        for key, item in data.items():
            problem = field_problem(key, item.get("value") if isinstance(item, dict) else None)
            if problem:
                return {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value {problem}"}
        with self.lock:
            self.sent.append(body)
            msgid = 1_000_000 + len(self.sent)
        if self.on_send is not None:
            self.on_send(body)
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def code_for(self, openid: str) -> str:
        code = f"code-{len(self.codes)}-{openid}"
        self.codes[code] = openid
        return code

    def failing_code(self, errcode: int) -> str:
        code = f"fail-{errcode}-{len(self.codes)}"
        self.codes[code] = errcode
        return code

    def answer(self, path: str, query: dict[str, str]) -> dict:
        self.requests.append((path, query))
        if path == "/cgi-bin/token":
            if query.get("appid") != self.appid or query.get("secret") != self.secret:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            return {"access_token": "fake-access-token", "expires_in": 7200}
        if path == "/sns/jscode2session":
            if query.get("appid") != self.appid or query.get("secret") != self.secret:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            code = query.get("js_code", "")
            outcome = self.codes.get(code)
            if isinstance(outcome, int):
                return {"errcode": outcome, "errmsg": ERRORS.get(outcome, "error")}
            if outcome is None:
                return {"errcode": 40029, "errmsg": ERRORS[40029]}
            if code in self.used:  # a code is single-use
                return {"errcode": 40163, "errmsg": ERRORS[40163]}
            self.used.add(code)
            return {"openid": outcome, "session_key": f"sk-{outcome}-SECRET", "unionid": None}
        return {"errcode": 404, "errmsg": "unknown api"}


def media_check_event(*, appid: str, openid: str, trace_id: str, suggest: str) -> dict:
    """The wxa_media_check push event as WeChat sends it (JSON, plaintext mode).

    https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/sec-center/sec-check/mediaCheckAsync.html
    """
    label = 100 if suggest == "pass" else 20002
    return {"ToUserName": "gh_fake", "FromUserName": openid, "CreateTime": int(time.time()),
            "MsgType": "event", "Event": "wxa_media_check", "appid": appid,
            "trace_id": trace_id, "version": 2,
            "result": {"suggest": suggest, "label": label},
            "detail": [{"strategy": "content_model", "errcode": 0, "suggest": suggest,
                        "label": label, "prob": 90}]}


def push_query(token: str, *, timestamp: str | None = None, nonce: str = "1514711492") -> dict:
    """The query WeChat signs a message push with: sha1 of sorted token, timestamp, nonce."""
    timestamp = timestamp or str(int(time.time()))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def start(fake: FakeWeChat) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, answer: dict) -> None:
            body = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(200)  # WeChat answers errors with HTTP 200 and an errcode
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the caller died waiting (the killed-worker test does that on purpose)

        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            self._reply(fake.answer(parsed.path, query))

        def do_POST(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            fake.requests.append((parsed.path, query))
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                self._reply({"errcode": 47001, "errmsg": "data format error"})
                return
            if parsed.path == SEND_PATH:
                self._reply(fake.send(query, body))
            elif parsed.path == SEC_CHECK_PATH:
                self._reply(fake.sec_check(query, body))
            elif parsed.path == MEDIA_CHECK_PATH:
                self._reply(fake.media_check(query, body))
            else:
                self._reply({"errcode": 404, "errmsg": "unknown api"})

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
