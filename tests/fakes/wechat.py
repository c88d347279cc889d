"""A fake WeChat API on 127.0.0.1 that answers as WeChat documents, error codes included.

wechatpy (the real client) talks to it over HTTP, so the whole client path is exercised:
URL building, query parameters, JSON decoding, errcode handling.
"""

from __future__ import annotations

import json
import threading
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
}


@dataclass
class FakeWeChat:
    appid: str = "wx-fake-appid"
    secret: str = "fake-secret-0123456789abcdef"
    codes: dict[str, str | int] = field(default_factory=dict)  # code → openid, or errcode
    used: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    url: str = ""

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


def start(fake: FakeWeChat) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            body = json.dumps(fake.answer(parsed.path, query)).encode()
            self.send_response(200)  # WeChat answers errors with HTTP 200 and an errcode
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
