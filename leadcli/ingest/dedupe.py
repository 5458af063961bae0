"""Records -> same person? First among the file's own rows, then against the leads in the database.

The rule itself (which keys, which vetoes) is `leadcli.duplicates`; this module applies it to a
staged file: in-file duplicates are found with one numpy sort per key over 64-bit hashes, and only
the few candidate rows are compared exactly; matches against the database are set-based
statements of the store's bulk writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadcli import duplicates
from leadcli.ingest.options import MATCH_KEYS, ImportOptions

if TYPE_CHECKING:
    from leadcli.ingest.bulk import BulkWriter

_NONE_HASH = hash(None)


def in_file_keys(options: ImportOptions, leadcli_export: bool) -> list[str]:
    """The keys rows of one file are matched on among themselves (none for `create`).

    Rows of leadcli's own export are distinct leads (they had distinct ids): they are matched
    against the database only, never against each other, so export -> import round-trips.
    """
    if options.on_duplicate == "create" or leadcli_export:
        return []
    return [MATCH_KEYS[k] for k in options.match] + ["name_key"]


def hash_column(values: list | None, n: int) -> Any:
    """64-bit hashes of a key column's values, 0 where a row has none; just `n` when no row has one
    (a column the file lacks costs no memory per row)."""
    import numpy as np

    if values is None or values.count(None) == n:
        return n
    hashed = np.fromiter(map(hash, values), dtype=np.int64, count=n)
    # A key hashing like None is only a candidate pair more: candidates are compared exactly.
    hashed[hashed == _NONE_HASH] = 0
    return hashed


def find_roots(writer: BulkWriter, keys: list[str], hashes: list[list[Any]]) -> None:
    """Mark each staged row that is the same person as an earlier row: `root` = the first such row.

    Rows chained through different keys (A shares an e-mail with B, B a phone with C) all point
    at the first one. Staged rows have seq = position + 1.
    """
    if not keys or not hashes or not hashes[0]:
        return
    # Hashes are kept per chunk: an array, or the chunk's row count when no row has that key.
    candidates = _candidates(hashes)
    if not candidates:
        return
    rows = writer.staged_rows(sorted(candidates), keys)
    parent = _group(rows, keys)

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    writer.set_roots([(find(seq), seq) for seq in sorted(candidates) if find(seq) != seq])


def _candidates(hashes: list[list[Any]]) -> set[int]:
    """The seqs of rows whose hash of some key equals another row's."""
    import numpy as np

    candidates: set[int] = set()
    for parts in hashes:
        if all(isinstance(p, int) for p in parts):
            parts.clear()
            continue  # no row has this key
        values = np.concatenate([np.zeros(p, dtype=np.int64) if isinstance(p, int) else p for p in parts])
        parts.clear()  # each key's chunks are freed as soon as they are joined
        order = np.argsort(values, kind="stable")
        ordered = values[order]
        del values
        same = np.nonzero((ordered[1:] == ordered[:-1]) & (ordered[1:] != 0))[0]
        if len(same):
            candidates.update((order[same] + 1).tolist())
            candidates.update((order[same + 1] + 1).tolist())
    return candidates


def _group(rows: list[tuple], keys: list[str]) -> dict[int, int]:
    """Union-find over the candidate rows (seq, email_key, external_id, lower(name), *keys): seq -> parent.

    Each group of rows keeps the identity of its first row (plus what later rows add), so a row
    sharing only a phone with a group whose e-mail differs from its own starts a group of its own.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    identity: dict[int, dict[str, Any]] = {}
    first_with: dict[tuple[int, str], list[int]] = {}
    for seq, email_key, external_id, name, *values in rows:
        identity[seq] = {"email_key": email_key, "external_id": external_id, "name": name}
        for i, value in enumerate(values):
            if value is None:
                continue
            groups = first_with.setdefault((i, value), [])
            mine = find(seq)
            for other in groups:
                theirs = find(other)
                if theirs == mine:
                    break
                if not duplicates.conflict(keys[i], identity[theirs], identity[mine]):
                    keep, gone = min(theirs, mine), max(theirs, mine)
                    parent[gone] = keep
                    merged = identity[keep]
                    for k, v in identity.pop(gone).items():
                        if merged.get(k) is None:
                            merged[k] = v
                    break
            else:
                groups.append(seq)
    return parent


def match_existing(writer: BulkWriter, options: ImportOptions) -> None:
    """`target` = the existing lead each first-of-its-keys row is the same person as (by --match, in order)."""
    keys = [MATCH_KEYS[k] for k in options.match]
    if options.on_duplicate == "create" or not keys:
        return
    if not writer.match_existing(keys, duplicates.veto_sql):
        return
    # A row with no e-mail, phone or external id matches a lead that has none either, by name and
    # company; without this, re-importing such a file would duplicate every row.
    writer.match_keyless(duplicates.name_key)
