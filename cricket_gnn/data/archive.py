"""Read a Cricsheet archive (zip as published, or a folder of JSON) into a cached table."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from cricket_gnn.data.cricsheet import MalformedMatch, ParsedMatch, parse_match
from cricket_gnn.data.schema import SCHEMA_VERSION
from cricket_gnn.data.table import DeliveryTable, build_table

ProgressFn = Callable[[int, int], None]


class ArchiveNotFound(FileNotFoundError):
    """The archive path does not exist or is neither a zip nor a folder."""


def default_cache_dir() -> Path:
    """$CRICKET_GNN_CACHE, else $XDG_CACHE_HOME/cricket-gnn, else ~/.cache/cricket-gnn."""
    if os.environ.get("CRICKET_GNN_CACHE"):
        return Path(os.environ["CRICKET_GNN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cricket-gnn"


def default_archive_path() -> Path:
    """$CRICKET_GNN_DATA, else ../shared/data/t20s_male_json.zip beside this checkout."""
    if os.environ.get("CRICKET_GNN_DATA"):
        return Path(os.environ["CRICKET_GNN_DATA"])
    relative = Path("..") / "shared" / "data" / "t20s_male_json.zip"
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / relative).exists():
            return (root / relative).resolve()
    return relative


def _is_match_member(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.lower().endswith(".json") and not base.startswith(".")


def data_version(path: Path) -> str:
    """Content hash of the archive's match files plus SCHEMA_VERSION (16 hex digits).

    A zip is hashed from its directory (name, CRC-32, size of every member), which
    identifies the content without decompressing it; a folder from its files' bytes.
    """
    digest = hashlib.sha256(f"schema={SCHEMA_VERSION}\n".encode())
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if _is_match_member(p.name)):
            crc = zlib.crc32(file.read_bytes())
            digest.update(f"{file.name}\t{crc:08x}\t{file.stat().st_size}\n".encode())
    else:
        try:
            with zipfile.ZipFile(path) as archive:
                members = sorted(archive.infolist(), key=lambda m: m.filename)
        except (zipfile.BadZipFile, OSError):
            # Unreadable directory: fall back to the raw bytes so the import still reports.
            digest.update(path.read_bytes())
            return digest.hexdigest()[:16]
        for member in members:
            if _is_match_member(member.filename):
                digest.update(f"{member.filename}\t{member.CRC:08x}\t{member.file_size}\n".encode())
    return digest.hexdigest()[:16]


def iter_match_files(path: Path) -> Iterator[tuple[str, bytes | Exception]]:
    """Yield (file name, raw bytes) per match file; a read failure yields the exception."""
    if path.is_dir():
        for file in sorted(p for p in path.iterdir() if _is_match_member(p.name)):
            try:
                yield file.name, file.read_bytes()
            except OSError as exc:
                yield file.name, exc
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        # Most often an interrupted download: the directory at the end is gone but the
        # matches stored before the cut are intact, so report the archive and read those.
        yield path.name, OSError(f"truncated or damaged zip ({exc}); reading what is intact")
        try:
            yield from _salvage_zip(path.read_bytes())
        except OSError as read_error:
            yield path.name, read_error
        return
    with archive:
        for member in archive.infolist():
            if not _is_match_member(member.filename):
                continue
            try:
                yield member.filename, archive.read(member)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
                yield member.filename, exc


_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # zip local file header, 30 bytes
_LOCAL_SIGNATURE = b"PK\x03\x04"


def _salvage_zip(data: bytes) -> Iterator[tuple[str, bytes | Exception]]:
    """Match files of a zip without a central directory, read from their local headers."""
    pos = data.find(_LOCAL_SIGNATURE)
    while pos >= 0 and pos + _LOCAL_HEADER.size <= len(data):
        header = _LOCAL_HEADER.unpack_from(data, pos)
        flags, name_len, extra_len = header[2], header[9], header[10]
        name_start = pos + _LOCAL_HEADER.size
        start = name_start + name_len + extra_len
        name = data[name_start : name_start + name_len].decode(
            "utf-8" if flags & 0x800 else "cp437", errors="replace"
        )
        payload, end = _read_member(data, start, header)
        if _is_match_member(name) and start <= len(data):
            yield name, payload
        pos = data.find(_LOCAL_SIGNATURE, max(end, pos + 4))


def _read_member(data: bytes, start: int, header: tuple[int, ...]) -> tuple[bytes | Exception, int]:
    """(content or the reason it is unreadable, offset after its data) of one member."""
    _, _, flags, method, _, _, crc, size, _, _, _ = header
    # Flag bit 3: size and CRC follow the data; a deflate stream still marks its own end.
    size_known = not flags & 0x08
    end = start + size
    if method == 0 and size_known:
        raw = data[start:end]
        if end > len(data):
            return EOFError("truncated zip: the archive ends inside this file"), len(data)
    elif method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            raw = inflater.decompress(data[start:end] if size_known else data[start:])
        except zlib.error as exc:
            return exc, start
        if not inflater.eof:
            return EOFError("truncated zip: the archive ends inside this file"), len(data)
        if not size_known:
            end = len(data) - len(inflater.unused_data)
            has_signature = data[end : end + 4] == b"PK\x07\x08"
            if len(data) < end + 4 + 4 * has_signature:
                return EOFError("truncated zip: the archive ends inside this file"), len(data)
            (crc,) = struct.unpack_from("<I", data, end + 4 * has_signature)
    else:
        return zipfile.BadZipFile(f"unsupported zip compression method {method}"), start
    if zlib.crc32(raw) != crc:
        return zipfile.BadZipFile("bad CRC-32"), end
    return raw, end


def count_match_files(path: Path) -> int:
    """Number of match files (for the progress bar)."""
    if path.is_dir():
        return sum(1 for p in path.iterdir() if _is_match_member(p.name))
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(1 for n in archive.namelist() if _is_match_member(n))
    except (zipfile.BadZipFile, OSError):
        return 0


def parse_archive(
    path: Path, progress: ProgressFn | None = None
) -> tuple[list[ParsedMatch], list[tuple[str, str]]]:
    """Parse every match file; malformed ones go to the skipped list with their reason."""
    total = count_match_files(path)
    matches: list[ParsedMatch] = []
    skipped: list[tuple[str, str]] = []
    for done, (name, payload) in enumerate(iter_match_files(path), start=1):
        parsed = _parse_file(name, payload)
        if isinstance(parsed, str):
            skipped.append((name, parsed))
        else:
            matches.append(parsed)
        # Skipped files count too, or the progress bar stops short of its total.
        if progress is not None:
            progress(done, total)
    return matches, skipped


def _parse_file(name: str, payload: bytes | Exception) -> ParsedMatch | str:
    """The parsed match, or the reason the file is skipped."""
    if isinstance(payload, Exception):
        return f"unreadable: {payload}"
    try:
        doc = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"not valid JSON: {exc}"
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    try:
        return parse_match(stem, doc)
    except MalformedMatch as exc:
        return str(exc)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        # A field of the wrong JSON type that no explicit check names (e.g. extras as a
        # list): still one bad file, never the end of the import.
        return f"unexpected structure ({type(exc).__name__}: {exc})"


def load_archive(
    path: str | Path,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    use_cache: bool = True,
) -> DeliveryTable:
    """The deliveries table for an archive, from the cache when its data version matches."""
    path = Path(path)
    if not path.exists():
        raise ArchiveNotFound(f"no such archive or folder: {path}")
    version = data_version(path)
    cache_dir = cache_dir or default_cache_dir()
    cache_file = cache_dir / f"deliveries-{version}.npz"
    if use_cache and cache_file.exists():
        return DeliveryTable.load(cache_file)
    matches, skipped = parse_archive(path, progress)
    if not matches:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:5])
        raise ValueError(f"no usable matches in {path}" + (f" ({reasons})" if reasons else ""))
    table = build_table(matches, skipped)
    table.data_version = version
    if use_cache:
        cache_dir.mkdir(parents=True, exist_ok=True)
        table.save(cache_file)
    return table
