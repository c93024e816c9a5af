"""Read an uploaded zip in memory, refusing what could hurt the server.

Nothing is extracted to disk, so no member can be written anywhere; still, a member named
`../x` or `/etc/x` says the archive was made to escape its folder, so the whole zip is refused.
Symbolic links are skipped (their target is never followed). Sizes are bounded twice: the sizes
the archive declares are checked before anything is unpacked, and the bytes actually unpacked
are counted while streaming, so an archive that lies about its sizes (a zip bomb) stops at the cap.
"""
from __future__ import annotations

import io
import stat
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from trainers.datasets.errors import DatasetError
from trainers.datasets.upload_limits import MB, UploadLimits

CHUNK = 64 * 1024
MAX_MEMBERS = 20_000  # entries of any kind, folders included: a listing must stay cheap
_SKIPPED_PARTS = ("__MACOSX",)  # macOS's resource forks, next to every real file


@dataclass(frozen=True)
class Member:
    path: tuple[str, ...]  # the member's path split into folders and file name
    data: bytes


def read_zip(data: bytes, limits: UploadLimits, *, wanted=lambda path: True
             ) -> tuple[list[Member], list[str], list[tuple[str, ...]]]:
    """(files whose path `wanted` accepts, notes on what was skipped, every folder path).

    Raises DatasetError naming the member for an unsafe path, a member over the size limits,
    or an archive that is not a readable zip.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise DatasetError(f"The file is not a readable zip archive ({error}).") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DatasetError(f"The zip holds {len(infos):,} entries; at most {MAX_MEMBERS:,} "
                               "are read.")
        entries, folders, skipped = [], set(), []
        for info in infos:
            path = _safe_path(info.filename)
            if not path or any(part in _SKIPPED_PARTS or part.startswith(".") for part in path):
                continue  # hidden files (.DS_Store) and macOS metadata
            if info.is_dir():
                folders.add(path)
            elif _is_link(info):
                skipped.append(f"Skipped {info.filename}: it is a link, not a file.")
            elif wanted(path):
                folders.update(path[:i] for i in range(1, len(path)))
                entries.append((info, path))
            else:
                skipped.append(f"Skipped {info.filename}: not a file this dataset reads.")
        _check_declared(entries, limits)
        members = _unpack(archive, entries, limits)
    return members, skipped, sorted(folders)


def _safe_path(name: str) -> tuple[str, ...]:
    """The member's path as parts; DatasetError for a path that leaves the archive."""
    normalised = name.replace("\\", "/")  # zips made on Windows may use backslashes
    path = PurePosixPath(normalised)
    if path.is_absolute() or (len(normalised) > 1 and normalised[1] == ":") or ".." in path.parts:
        raise DatasetError(f"The zip member '{name}' points outside the archive's folder; the "
                           "archive was refused. Zip the class folders themselves and upload "
                           "that.")
    return tuple(part for part in path.parts if part not in ("", "."))


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_declared(entries: list, limits: UploadLimits) -> None:
    """The sizes the archive declares, before a single byte is unpacked."""
    max_file, max_total = limits.max_file_mb * MB, limits.max_unpacked_mb * MB
    for info, _ in entries:
        if info.file_size > max_file:
            raise DatasetError(_too_big(info.filename, info.file_size, limits))
    total = sum(info.file_size for info, _ in entries)
    if total > max_total:
        raise DatasetError(_too_much(total, limits))


def _unpack(archive: zipfile.ZipFile, entries: list, limits: UploadLimits) -> list[Member]:
    """Each member's bytes, streamed with a running count: a member that unpacks to more than
    it declared (or than the limits) stops at the cap, whatever its header says."""
    max_file, budget = limits.max_file_mb * MB, limits.max_unpacked_mb * MB
    members = []
    for info, path in entries:
        chunks, size = [], 0
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_file:
                        raise DatasetError(_too_big(info.filename, size, limits, unpacked=True))
                    if size > budget:
                        raise DatasetError(_too_much(limits.max_unpacked_mb * MB + 1, limits))
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as error:
            raise DatasetError(f"The zip member '{info.filename}' could not be unpacked "
                               f"({error}).") from None
        budget -= size
        members.append(Member(path, b"".join(chunks)))
    return members


def _too_big(name: str, size: int, limits: UploadLimits, unpacked: bool = False) -> str:
    what = "unpacks to more than" if unpacked else "is"
    return (f"'{name}' {what} {size / MB:,.1f} MB; one file may be at most {limits.max_file_mb} MB "
            f"({UploadLimits.variable('max_file_mb')}).")


def _too_much(total: int, limits: UploadLimits) -> str:
    return (f"The zip unpacks to {total / MB:,.1f} MB; at most {limits.max_unpacked_mb} MB is read "
            f"({UploadLimits.variable('max_unpacked_mb')}). Upload fewer or smaller images.")
