"""Where a job submitted without a working directory starts: the person's own folder.

Without one, flux-restful leaves the jobspec's cwd unset and Flux starts the job in the
instance's working directory: flux-restful's own folder (next to its database, the same for
everyone) in single-user mode, ``/`` in multi-user mode, where the person cannot write. The
guard fills one in (API query parameter ``workdir``, or the web form's field), before
flux-restful sees the submit:

- ``FLUX_HUB_HOME_TEMPLATE`` (e.g. ``/shared/home/{user}``; ``{user}`` is the authenticated
  flux-restful user) when set;
- else, when jobs run as their owners' Unix accounts (multi-user), the account's home (passwd);
- else nothing (a single-user server with no template: flux-restful's own behaviour).

A folder that does not exist: when jobs run as one account (single-user), the guard makes it
(0700) if it is below the template's own folder (the part before ``{user}``); when they run as
their owners, the guard (root) never makes one, and the submit is refused in one line.
"""

import os
import pwd

TEMPLATE_ENV = "FLUX_HUB_HOME_TEMPLATE"
FIELD = "{user}"


class TemplateError(ValueError):
    """FLUX_HUB_HOME_TEMPLATE is not a template the guard can use (said at start)."""


class HomeError(ValueError):
    """The person's folder cannot be the job's working directory (a one-line reason)."""


def check_template(text):
    """The template, or None for none (unset or blank); TemplateError when it is unusable."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    problem = None
    if not text.startswith("/"):
        problem = "is not an absolute path"
    elif FIELD not in text:
        problem = f"has no {FIELD}, so everyone would share one folder"
    elif "{" in text.replace(FIELD, "") or "}" in text.replace(FIELD, ""):
        problem = f"has a {{...}} other than {FIELD}"
    elif _base(text) in ("", "/"):
        problem = f"needs a folder of its own before {FIELD} (e.g. /shared/home/{FIELD})"
    if problem:
        raise TemplateError(f"{TEMPLATE_ENV}={text!r} {problem}")
    return text


def _base(template):
    """The template's own folder: the path before the first part that holds {user}."""
    parts = template.split("/")
    index = next(i for i, part in enumerate(parts) if FIELD in part)
    return os.path.normpath("/".join(parts[:index]) or "/")


class Homes:
    """``Homes(template, as_accounts=...)``: ``folder(person)`` is the working directory a
    job of ``person`` submitted without one gets (None: leave it to flux-restful)."""

    def __init__(self, template=None, *, as_accounts):
        self.template = check_template(template)
        self.as_accounts = bool(as_accounts)
        self.base = _base(self.template) if self.template else None

    @classmethod
    def from_environ(cls, environ=None, *, as_accounts):
        environ = os.environ if environ is None else environ
        return cls(environ.get(TEMPLATE_ENV), as_accounts=as_accounts)

    @property
    def active(self):
        """Whether a job without a working directory gets one here."""
        return bool(self.template) or self.as_accounts

    def folder(self, person):
        """The person's folder (made if allowed), None when nothing is filled in; HomeError."""
        if not self.active:
            return None
        if not person or "/" in person or "\0" in person or person in (".", ".."):
            raise HomeError(f"{person!r} cannot name a folder, so the job has none to start in")
        if self.template:
            path = os.path.normpath(self.template.replace(FIELD, person))
            if not path.startswith(self.base.rstrip("/") + "/"):
                raise HomeError(f"{path} is not inside {self.base}")
        else:
            try:
                path = pwd.getpwnam(person).pw_dir
            except KeyError:
                raise HomeError(
                    f"{person} has no Unix account on this cluster, so their job has no "
                    "folder to start in"
                ) from None
            if not path or os.path.normpath(path) == "/":
                raise HomeError(
                    f"{person}'s account has no home folder ({path or 'none'}): give the job "
                    "a working directory (workdir)"
                )
        if os.path.isdir(path):
            return path
        if os.path.lexists(path):
            raise HomeError(f"your folder {path} is not a folder: give the job a workdir")
        if self.as_accounts:
            raise HomeError(
                f"your folder {path} does not exist on this cluster, and the server does not "
                "make folders for its users (it runs as root): ask your admin, or give the job "
                "a working directory (workdir)"
            )
        try:
            os.makedirs(path, mode=0o700)
            os.chmod(path, 0o700)
        except FileExistsError:
            if not os.path.isdir(path):
                raise HomeError(
                    f"your folder {path} is not a folder: give the job a workdir"
                ) from None
        except OSError as error:
            raise HomeError(f"cannot make your folder {path}: {error.strerror}") from None
        return path
