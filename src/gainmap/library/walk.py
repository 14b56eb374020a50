"""Which files a library scan looks at, and what they are by their first bytes (never by their extension).

Skipped: hidden files and folders (a leading dot: ``.thumbnails``, ``.DS_Store``, AppleDouble ``._x.jpg``),
sidecars (``.xmp``, ``.aae``) and NAS metadata folders (Synology ``@eaDir``, ``#recycle``, ``#snapshot``).
A file named explicitly on the command line is always scanned; links to folders are not followed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Extensions of sidecar files that describe a photo but are not one.
SIDECARS: frozenset[str] = frozenset({".xmp", ".aae"})
#: Folder names that NAS systems fill with their own thumbnails and bins.
NAS_FOLDERS: frozenset[str] = frozenset({"@eadir", "#recycle", "#snapshot", ".thumbnails", "@recycle"})
#: Bytes read from the start of a file to tell its format.
SNIFF_BYTES = 32

_BMFF_BRANDS = {"avif": "avif", "avis": "avif", "heic": "heic", "heix": "heic", "hevc": "heic", "heim": "heic",
                "heis": "heic", "mif1": "heif", "msf1": "heif", "crx ": "cr3"}


def sniff(head: bytes) -> str:
    """The format of a file from its first :data:`SNIFF_BYTES` bytes: ``jpeg`` (JPEG and MPO), ``png``,
    ``heic``, ``heif``, ``avif``, ``webp``, ``gif``, ``tiff``, ``jxl``, ``bmp``, ``cr3``, ``mp4`` (any other
    ISO-BMFF file), ``pdf``, ``empty`` or ``unknown``."""
    if not head:
        return "empty"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"
    if head[4:8] == b"ftyp":
        return _BMFF_BRANDS.get(head[8:12].decode("latin-1"), "mp4")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, name in ((b"\x89PNG\r\n\x1a\n", "png"), (b"GIF8", "gif"), (b"II*\x00", "tiff"),
                        (b"MM\x00*", "tiff"), (b"\xff\x0a", "jxl"), (b"\x00\x00\x00\x0cJXL ", "jxl"),
                        (b"BM", "bmp"), (b"%PDF", "pdf")):
        if head.startswith(magic):
            return name
    return "unknown"


def skipped_name(name: str) -> bool:
    """True for a file name a folder walk passes over (hidden files and sidecars)."""
    return name.startswith(".") or os.path.splitext(name)[1].lower() in SIDECARS


def skipped_folder(name: str) -> bool:
    """True for a folder a recursive walk does not enter (hidden and NAS metadata folders)."""
    return name.startswith(".") or name.lower() in NAS_FOLDERS


def walk(paths: Iterable[str | os.PathLike[str]], recursive: bool = False) -> Iterator[Path]:
    """Every file to scan under ``paths``, folders in sorted order (so two runs list files alike).

    A path that is a file is yielded as given; a folder yields its files (and, with ``recursive``, those of its
    sub-folders).  A path that does not exist raises :class:`FileNotFoundError` before anything is yielded.
    """
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise FileNotFoundError(2, "no such file or folder", str(root))
    for root in roots:
        if root.is_dir():
            yield from _walk_folder(root, recursive)
        else:
            yield root


def _walk_folder(folder: Path, recursive: bool) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        yield folder  # an unreadable folder gets its row, with the error
        return
    subfolders = []
    for entry in entries:
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            linked_dir = not is_dir and entry.is_dir()
        except OSError:
            is_dir = linked_dir = False
        if linked_dir:
            continue  # a link to a folder: not followed (links can loop)
        if is_dir:
            if recursive and not skipped_folder(entry.name):
                subfolders.append(entry)
        elif not skipped_name(entry.name):
            yield folder / entry.name
    for entry in subfolders:
        yield from _walk_folder(folder / entry.name, recursive)
