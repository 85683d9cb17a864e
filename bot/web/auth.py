"""Sign-in for the operator console: credentials from configuration, sessions held server-side.

Credentials come from the environment (``OPERATOR_USERNAME`` with ``OPERATOR_PASSWORD`` or
``OPERATOR_PASSWORD_HASH``) or, failing that, from the git-ignored file ``var/secrets.env``
(same names, ``KEY=value`` lines). Nothing is hard coded: with none configured the console
answers 401. Passwords are compared as PBKDF2 hashes with ``hmac.compare_digest``, so the
time taken does not tell how much of a guess was right. A session is a random token in an
HttpOnly, SameSite=Strict cookie; every POST also needs the session's CSRF token.

The reviewers' console (``/review``, ``bot/web/review.py``) has its own account the same way:
``REVIEWER_USERNAME`` with ``REVIEWER_PASSWORD`` or ``REVIEWER_PASSWORD_HASH`` (``prefix="REVIEWER"``),
its own sessions and its own cookie, so neither login opens the other console.

``python -m bot.web.auth hash`` prints an ``OPERATOR_PASSWORD_HASH`` line for a password
(``python -m bot.web.auth hash reviewer``: a ``REVIEWER_PASSWORD_HASH`` line).
"""
from __future__ import annotations

import getpass
import hashlib
import hmac
import os
import secrets
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

from ..settings import ROOT

SECRETS_FILE = Path(os.environ.get("OPERATOR_SECRETS_FILE", ROOT / "var" / "secrets.env"))
COOKIE = "mutuals_op"
CSRF_HEADER = "X-CSRF-Token"
ITERATIONS = 200_000
SESSION_IDLE_SECONDS = 8 * 3600
MAX_FAILURES = 5  # per client within FAILURE_WINDOW seconds, then 429 until the window passes
FAILURE_WINDOW = 300


class ConfigError(RuntimeError):
    """The operator login is half configured (a name without a password, or a bad hash)."""


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def _parse_hash(value: str, name: str = "OPERATOR_PASSWORD_HASH") -> tuple[int, bytes, bytes]:
    try:
        scheme, iterations, salt, digest = value.strip().split("$")
        if scheme != "pbkdf2_sha256":
            raise ValueError(scheme)
        return int(iterations), bytes.fromhex(salt), bytes.fromhex(digest)
    except ValueError as exc:
        which = " reviewer" if name.startswith("REVIEWER") else ""
        raise ConfigError(f"{name} must look like pbkdf2_sha256$ITERATIONS$SALT$HASH "
                          f"(make one with: python -m bot.web.auth hash{which})") from exc


def read_secrets_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines; ``#`` comments, blank lines and surrounding quotes are ignored."""
    out: dict[str, str] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key] = value
    return out


@dataclass(frozen=True)
class Credentials:
    """One account (an operator's name is recorded with every verdict and "done", a
    reviewer's with every state, note and proposal)."""

    username: str
    iterations: int
    salt: bytes
    digest: bytes

    @classmethod
    def from_password(cls, username: str, password: str) -> "Credentials":
        return cls.from_hash(username, hash_password(password))

    @classmethod
    def from_hash(cls, username: str, value: str, prefix: str = "OPERATOR") -> "Credentials":
        iterations, salt, digest = _parse_hash(value, f"{prefix}_PASSWORD_HASH")
        return cls(username, iterations, salt, digest)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None, secrets_file: Path | None = None,
                         prefix: str = "OPERATOR") -> "Credentials | None":
        """The environment first, then var/secrets.env; None when neither names an account.

        ``prefix`` picks the account: ``OPERATOR`` (``OPERATOR_USERNAME``...) or ``REVIEWER``."""
        env = dict(os.environ if environ is None else environ)
        user_key, pw_key, hash_key = f"{prefix}_USERNAME", f"{prefix}_PASSWORD", f"{prefix}_PASSWORD_HASH"
        source = env if any(env.get(k) for k in (user_key, pw_key, hash_key)) else \
            read_secrets_file(secrets_file or SECRETS_FILE)
        username = (source.get(user_key) or "").strip()
        password = source.get(pw_key) or ""
        hashed = source.get(hash_key) or ""
        if not (username or password or hashed):
            return None
        if not username or not (password or hashed):
            raise ConfigError(f"set both {user_key} and {pw_key} (or {hash_key})")
        return cls.from_hash(username, hashed, prefix) if hashed else cls.from_password(username, password)

    def verify(self, username: str, password: str) -> bool:
        """Both compared in constant time; the hash is always computed, right name or not."""
        digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), self.salt, self.iterations)
        name_ok = hmac.compare_digest(hashlib.sha256(username.encode("utf-8")).digest(),
                                      hashlib.sha256(self.username.encode("utf-8")).digest())
        return hmac.compare_digest(digest, self.digest) & name_ok


@dataclass
class Session:
    username: str
    csrf: str
    last_seen: float = field(default_factory=time.monotonic)


class Sessions:
    """Signed-in people of one console, in memory: a restart of the web server signs everyone out."""

    def __init__(self, idle_seconds: float = SESSION_IDLE_SECONDS):
        self.idle = idle_seconds
        self._by_token: dict[str, Session] = {}
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def create(self, username: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(username, secrets.token_urlsafe(32))
        self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        session = self._by_token.get(token)
        now = time.monotonic()
        if session is None or now - session.last_seen > self.idle:
            self._by_token.pop(token, None)
            return None
        session.last_seen = now
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def too_many_failures(self, client: str) -> bool:
        window = self._failures[client]
        now = time.monotonic()
        while window and now - window[0] > FAILURE_WINDOW:
            window.popleft()
        return len(window) >= MAX_FAILURES

    def failed(self, client: str) -> None:
        self._failures[client].append(time.monotonic())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def same_origin(request: web.Request) -> bool:
    """A POST from another site is refused (browsers send Origin on every cross-site POST)."""
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


def csrf_ok(request: web.Request, session: Session, form_token: str | None = None) -> bool:
    token = form_token if form_token is not None else request.headers.get(CSRF_HEADER, "")
    return same_origin(request) and hmac.compare_digest(token.encode("utf-8"), session.csrf.encode("utf-8"))


def set_cookie(resp: web.StreamResponse, request: web.Request, token: str, name: str = COOKIE,
               path: str = "/operator") -> None:
    resp.set_cookie(name, token, httponly=True, samesite="Strict", path=path, secure=request.secure)


def safe_next(value: object, base: str = "/operator") -> str:
    """Where to go after signing in: only a page of the console itself (``base`` and below)."""
    if (isinstance(value, str) and (value == base or value.startswith((base + "/", base + "?")))
            and "//" not in value and "\\" not in value):
        return value
    return base


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["hash"], ["hash", "reviewer"], ["hash", "operator"]):
        print("usage: python -m bot.web.auth hash [reviewer]   (prints an OPERATOR_PASSWORD_HASH line,\n"
              "       or with `reviewer` a REVIEWER_PASSWORD_HASH line)")
        return 2
    who = "REVIEWER" if args[-1] == "reviewer" else "OPERATOR"
    password = getpass.getpass(f"{who.title()} password: ")
    if len(password) < 12:
        print("Use at least 12 characters.")
        return 1
    if getpass.getpass("Again: ") != password:
        print("The two passwords differ.")
        return 1
    print(f"{who}_PASSWORD_HASH={hash_password(password)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


@dataclass(frozen=True)
class LoginAttempt:
    """The outcome of a sign-in form: a session token, or the error to show and its status."""

    token: str | None = None
    error: str | None = None
    status: int = 200


async def attempt_login(request: web.Request, sessions: "Sessions", credentials: "Credentials",
                        username: str, password: str) -> LoginAttempt:
    """The checks every console's sign-in makes, in order: same origin, the rate limit, both
    fields given, then the password (hashed off the event loop, since PBKDF2 takes a while)."""
    import asyncio

    client = request.remote or "unknown"
    if not same_origin(request):
        return LoginAttempt(error="Sign in from this page", status=403)
    if sessions.too_many_failures(client):
        return LoginAttempt(error="Too many attempts. Wait 5 minutes, then try again", status=429)
    if not username or not password:
        return LoginAttempt(error="Enter your username and password", status=401)
    ok = await asyncio.get_running_loop().run_in_executor(None, credentials.verify, username, password)
    if not ok:
        sessions.failed(client)
        return LoginAttempt(error="The username or password is not right", status=401)
    sessions.succeeded(client)
    token, _ = sessions.create(credentials.username)
    return LoginAttempt(token=token)
