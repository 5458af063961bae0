"""Files the user asked leadcli to write (`export --output`, `score file --output`): whole or not at all."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any


@contextmanager
def private_output(path: str, *, force: bool = False) -> Iterator[Any]:
    """Write `path` as a whole or not at all: a 0600 temporary file beside it, renamed into place.

    An existing file is refused unless `force`; a symlink at `path` is replaced, never followed.
    If writing fails (a full disk), the temporary file is removed and `path` is left as it was.
    """
    import tempfile
    from pathlib import Path

    from leadcli.errors import LeadcliError

    target = Path(path).expanduser()
    if _is_stream(target):  # /dev/stdout, a named pipe, a terminal: written in place, nothing to replace
        with open(target, "w", newline="", encoding="utf-8") as direct:
            yield direct
        return
    if os.path.isdir(target):
        raise LeadcliError(f"{path} is a folder", hint="give a file name")
    if not force and os.path.lexists(target):
        raise LeadcliError(f"{path} already exists", hint="pass --force to replace it, or choose another name")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
    except OSError as exc:
        raise LeadcliError(f"cannot write {path} ({exc.strerror})",
                           hint="check the folder exists and is writable") from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _place(temp, target, force)
    except FileExistsError:
        os.unlink(temp)
        raise LeadcliError(f"{path} already exists", hint="pass --force to replace it") from None
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temp)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
            raise LeadcliError(f"cannot write {path}: {os.strerror(exc.errno).lower()}",
                               hint=f"free some space (or write elsewhere); {path} was left as it was") from None
        raise
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def _place(temp: str, target: Any, force: bool) -> None:
    """Rename the finished temporary file to `target` (never over an existing file unless `force`)."""
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # fails if the name was taken meanwhile: never clobbers
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if os.path.lexists(target):
            raise FileExistsError(target) from None
        os.replace(temp, target)
        return
    os.unlink(temp)


def _is_stream(target: Any) -> bool:
    import stat

    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
