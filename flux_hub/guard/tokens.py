"""Who a request is from (flux-restful's own access token) and whether that token still holds.

flux-restful signs its access tokens with FLUX_TOKEN_SIGNING_KEY (HS256, ``{"sub", "iat",
"exp"}``, flux_restful/auth/tokens.py); the guard decodes them the same way. A token that does
not verify is none of the guard's business: flux-restful answers it with its own 401.

Rotating a person's password does not change the signing key, so the tokens they got with the
old password would stay valid until they expire (10 h). flux-hub's provisioning script
(flux_hub/provision/dbscript.py) records, in the table NOT_BEFORE_TABLE of flux-restful's own
database, a time before which a person's tokens no longer count; the guard reads it, cached by
the database file's modification time (one ``stat`` per request).
"""

import os
import sqlite3
import threading

from jose import jwt

# Written by flux_hub/provision/dbscript.py (which must not import flux_hub: same names there)
NOT_BEFORE_TABLE = "flux_hub_token_not_before"


def token_claims(token, signing_key):
    """The verified claims of a flux-restful access token, or None."""
    if not token or not signing_key:
        return None
    try:
        claims = jwt.decode(token, signing_key, algorithms=["HS256"])
    except Exception:  # jose's JWTError, and anything a malformed token makes it raise
        return None
    return claims if isinstance(claims.get("sub"), str) else None


class NotBefore:
    """{person: the first second their tokens may have been issued in}, from the database."""

    def __init__(self, db_path):
        self.db_path = os.fspath(db_path)
        self._stamp = None
        self._table = {}
        self._lock = threading.Lock()

    def _file_stamp(self):
        stamps = []
        for path in (self.db_path, self.db_path + "-wal"):
            try:
                info = os.stat(path)
            except FileNotFoundError:
                stamps.append(None)
                continue
            stamps.append((info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(stamps)

    def table(self):
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return self._table
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._table = self._read()
                except sqlite3.Error:
                    return self._table  # busy for a moment: the last table, read again next time
                self._stamp = stamp
        return self._table

    def _read(self):
        if not os.path.exists(self.db_path):
            return {}
        try:
            with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as db:
                rows = db.execute(f"SELECT user_name, not_before FROM {NOT_BEFORE_TABLE}")
                return {name: int(when) for name, when in rows}
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return {}  # no credentials changed yet
            raise

    def revoked(self, claims):
        """Whether a token with these (verified) claims was issued before its holder's
        credentials last changed."""
        when = self.table().get(claims["sub"])
        if when is None:
            return False
        issued = claims.get("iat")
        return not isinstance(issued, int | float) or issued < when
