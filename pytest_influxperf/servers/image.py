"""``influxperf image build-local``: an InfluxDB image from the ``influxd`` on this machine.

For machines that reach no registry. The image is a root filesystem holding the binary,
the shared libraries ``ldd`` says it loads, ``du`` (the provider measures the data folder
with it), the time zone files (for InfluxQL's ``tz()``), a config and a data folder, turned into an image with the engine's import
(``docker import`` with ``--change`` lines for ENTRYPOINT, CMD, ENV, EXPOSE, VOLUME, LABEL).
The tag is the binary's version (``influxd version``), e.g.
``pytest-influxperf/influxdb-local:1.6.7``. Building again with the same binary is a no-op
unless ``--force``.

>>> influxperf image build-local                    # doctest: +SKIP
built pytest-influxperf/influxdb-local:1.6.7 from /usr/bin/influxd (InfluxDB v1.6.7~rc0) ...
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from ..errors import InfluxPerfError, ServerUnavailable
from .docker import DATA_DIR, INFLUX_PORT, LABEL_PREFIX, LOCAL_IMAGE_REPO, docker_client

CONFIG_PATH = "/etc/influxdb/influxdb.conf"
SHA_LABEL = f"{LABEL_PREFIX}.influxd-sha256"
VERSION_LABEL = f"{LABEL_PREFIX}.influxd-version"
SOURCE_LABEL = f"{LABEL_PREFIX}.influxd-source"
RECIPE_LABEL = f"{LABEL_PREFIX}.recipe"
# Bump when what goes into the image changes, so `build-local` rebuilds older images.
RECIPE_VERSION = "2"
# Time zones for InfluxQL's tz(): Go reads them from here (``right/`` is leap-second
# variants nobody queries).
ZONEINFO = "/usr/share/zoneinfo"
# Tools the provider runs inside the container (docker exec), copied from this machine.
EXTRA_TOOLS = ("du",)
SUBPROCESS_TIMEOUT_S = 30


class ImageBuildError(InfluxPerfError):
    """The local image could not be made; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class BuildResult:
    """What ``build_local_image`` did: the tag, the image id and whether it built anew."""

    tag: str
    image_id: str
    influxd: str
    version: str
    built: bool
    size_bytes: int


# -- looking at the binary -----------------------------------------------------------
def influxd_version(binary: str) -> tuple[str, str]:
    """``(full, tag)`` for an influxd: ``("InfluxDB v1.6.7~rc0 (git: ...)", "1.6.7")``."""
    try:
        out = subprocess.run([binary, "version"], capture_output=True, text=True,
                             timeout=SUBPROCESS_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ImageBuildError(f"could not run `{binary} version`: {exc}") from None
    full = (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else ""
    match = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", full)
    if out.returncode != 0 or not match:
        raise ImageBuildError(f"`{binary} version` did not print a version "
                              f"(exit {out.returncode}: {full or out.stderr.strip()!r}); "
                              "pass --binary with an InfluxDB 1.x influxd")
    return full, match.group(1)


def shared_libraries(binary: str) -> list[str]:
    """Absolute paths of the libraries (and the loader) ``ldd`` lists for ``binary``.

    A static binary gives ``[]``. A library ``ldd`` cannot find is an error: the image
    would not start.
    """
    try:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                             timeout=SUBPROCESS_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ImageBuildError("`ldd` is not installed (Debian: apt-get install libc-bin)") from None
    text = out.stdout + out.stderr
    if "not a dynamic executable" in text or "statically linked" in text:
        return []
    if out.returncode != 0:
        raise ImageBuildError(f"`ldd {binary}` failed: {text.strip()}")
    return parse_ldd(text, binary)


def parse_ldd(text: str, binary: str = "the binary") -> list[str]:
    """Library paths from ``ldd`` output (pure: tested without a binary)."""
    libs: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if "=> not found" in line:
            raise ImageBuildError(f"{binary} needs {line.split()[0]}, which ldd cannot find")
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux... (0x...)"
        path = line.split("=>", 1)[1].strip() if "=>" in line else line
        path = path.split(" (", 1)[0].strip()
        if path.startswith("/") and path not in libs:
            libs.append(path)
    return libs


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def image_config() -> str:
    """influxd's config inside the image: the process provider's, with container paths.

    HTTP listens on all the container's interfaces (the engine publishes it on the host's
    127.0.0.1 only); the RPC port stays on the container's loopback.
    """
    from .process import render_config

    return render_config(PurePosixPath(DATA_DIR), INFLUX_PORT, 8088,  # type: ignore[arg-type]
                         {"": {"reporting-disabled": True},  # upstream's key; Debian's is set
                          "http": {"bind-address": f":{INFLUX_PORT}"}})


def import_changes(version_full: str, sha256: str, source: str) -> list[str]:
    """The ``--change`` lines: how the imported filesystem runs as an image."""
    labels = {SHA_LABEL: sha256, VERSION_LABEL: version_full, SOURCE_LABEL: source,
              RECIPE_LABEL: RECIPE_VERSION}
    return [
        'ENTRYPOINT ["/usr/bin/influxd"]',
        'CMD ["run"]',
        "ENV PATH=/usr/bin:/bin",
        f"ENV INFLUXDB_CONFIG_PATH={CONFIG_PATH}",
        f"EXPOSE {INFLUX_PORT}/tcp",
        f"VOLUME {DATA_DIR}",
        "WORKDIR /",
        "LABEL " + " ".join(f"{key}={json.dumps(value)}" for key, value in labels.items()),
    ]


# -- the root filesystem -------------------------------------------------------------
def write_rootfs(dest: io.BufferedIOBase, binary: str, tools: dict[str, str],
                 config: str) -> None:
    """Write the image's root filesystem as a tar stream to ``dest``.

    ``tools`` maps a path inside the image to a file on this machine. Libraries go where
    ``ldd`` found them (the loader path is baked into the binaries); symlinks are followed
    so each file is a real copy. Owners are root and times fixed, so the same inputs give
    the same tar.
    """
    files = {"/usr/bin/influxd": binary, **tools}
    for source in list(files.values()):
        for lib in shared_libraries(source):
            files.setdefault(lib, lib)
    with tarfile.open(fileobj=dest, mode="w|") as tar:
        made: set[str] = set()
        for directory in ("/tmp", "/etc/influxdb", DATA_DIR, f"{DATA_DIR}/meta",
                          f"{DATA_DIR}/data", f"{DATA_DIR}/wal"):
            _add_dir(tar, directory, made, mode=0o1777 if directory == "/tmp" else 0o755)
        for inside, outside in sorted(files.items()):
            _add_dir(tar, str(PurePosixPath(inside).parent), made)
            _add_bytes(tar, inside, Path(outside).read_bytes(),
                       mode=os.stat(outside).st_mode & 0o777)
        _add_tree(tar, ZONEINFO, made, skip=("right",))
        _add_bytes(tar, CONFIG_PATH, config.encode(), mode=0o644)
        _add_bytes(tar, "/etc/passwd", b"root:x:0:0:root:/root:/bin/false\n", mode=0o644)
        _add_bytes(tar, "/etc/group", b"root:x:0:\n", mode=0o644)


def _add_dir(tar: tarfile.TarFile, path: str, made: set[str], mode: int = 0o755) -> None:
    parts = PurePosixPath(path).parts[1:]
    for depth in range(1, len(parts) + 1):
        name = "/".join(parts[:depth])
        if name in made:
            continue
        made.add(name)
        info = tarfile.TarInfo(name)
        info.type = tarfile.DIRTYPE
        info.mode = mode if depth == len(parts) else 0o755
        tar.addfile(info)


def _add_tree(tar: tarfile.TarFile, root: str, made: set[str], skip: tuple[str, ...] = ()) -> None:
    """Copy a folder as it is (symlinks stay links); nothing if it does not exist here."""
    if not os.path.isdir(root):
        return
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root:
            dirnames[:] = [d for d in dirnames if d not in skip]
        dirnames.sort()
        _add_dir(tar, dirpath, made)
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                info = tarfile.TarInfo(path.lstrip("/"))
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(path)
                tar.addfile(info)
            elif os.path.isfile(path):
                _add_bytes(tar, path, Path(path).read_bytes(), mode=0o644)


def _add_bytes(tar: tarfile.TarFile, path: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(path.lstrip("/"))
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


# -- building ------------------------------------------------------------------------
def build_local_image(binary: str | None = None, *, tag: str | None = None,
                      force: bool = False) -> BuildResult:
    """Make (or find up to date) the local image for ``binary`` (default: influxd on PATH).

    Raises :class:`ImageBuildError` for a missing or unusable binary and
    :class:`ServerUnavailable` when no Docker engine answers.
    """
    path = _resolve_binary(binary)
    version_full, version_tag = influxd_version(path)
    if not version_tag.startswith("1."):
        # The config, the command line and the data layout below are InfluxDB 1.x's.
        raise ImageBuildError(
            f"{path} is InfluxDB {version_tag}; build-local packages InfluxDB 1.x only. For "
            "2.x or 3.x use the upstream image (docker pull where a registry answers) or "
            "point --influx-url at a running server")
    sha = file_sha256(path)
    tag = tag or f"{LOCAL_IMAGE_REPO}:{version_tag}"
    client = docker_client(timeout=120)
    try:
        existing = _existing_image(client, tag)
        if existing is not None and not force and _up_to_date(existing.labels, sha):
            return BuildResult(tag, existing.id, path, version_full, False,
                               int(existing.attrs.get("Size") or 0))
        tools = {f"/usr/bin/{name}": _which_tool(name) for name in EXTRA_TOOLS}
        repository, _, tag_part = tag.rpartition(":")
        if not repository or "/" in tag_part:
            repository, tag_part = tag, "latest"
        with tempfile.TemporaryFile(prefix="influxperf-rootfs-") as rootfs:
            write_rootfs(rootfs, path, tools, image_config())  # type: ignore[arg-type]
            rootfs.seek(0)
            answer = client.api.import_image(
                src=rootfs, repository=repository, tag=tag_part,
                changes=import_changes(version_full, sha, path))
        image = _existing_image(client, tag)
        if image is None:
            raise ImageBuildError(f"the engine did not create {tag}: {answer!r}")
        if existing is not None and existing.id != image.id:
            _remove_quietly(client, existing.id)
        return BuildResult(tag, image.id, path, version_full, True,
                           int(image.attrs.get("Size") or 0))
    finally:
        client.close()


def _up_to_date(labels: dict[str, str] | None, sha: str) -> bool:
    labels = labels or {}
    return labels.get(SHA_LABEL) == sha and labels.get(RECIPE_LABEL) == RECIPE_VERSION


def _remove_quietly(client: object, image_id: str) -> None:
    """Drop the image a rebuild replaced, unless a container still uses it."""
    import docker

    try:
        client.images.remove(image_id)  # type: ignore[attr-defined]
    except docker.errors.APIError:
        pass  # in use (a running server) or already gone: leave it to `docker image prune`


def _resolve_binary(binary: str | None) -> str:
    name = binary or "influxd"
    path = name if os.sep in name else shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        raise ImageBuildError(f"influxd not found ({name}): install it (Debian/Ubuntu: "
                              "apt-get install influxdb) or pass --binary PATH")
    return os.path.realpath(path)


def _which_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ImageBuildError(f"`{name}` is not on PATH; the image needs a copy (coreutils)")
    return os.path.realpath(path)


def _existing_image(client: object, tag: str) -> object | None:
    import docker

    try:
        return client.images.get(tag)  # type: ignore[attr-defined]
    except docker.errors.ImageNotFound:
        return None


# -- console script ------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``image build-local`` to the ``influxperf`` console script's subcommands."""
    image = subparsers.add_parser("image", help="Docker images for the docker provider")
    image.set_defaults(func=run, image_command=None)
    commands = image.add_subparsers(dest="image_command", metavar="COMMAND")
    build = commands.add_parser(
        "build-local", help="make an InfluxDB image from the influxd installed here",
        description="Make an InfluxDB image from the influxd installed on this machine "
                    "(for machines that reach no registry) and tag it "
                    f"{LOCAL_IMAGE_REPO}:<version>. The docker provider uses it when it is "
                    "the InfluxDB image present, or when named with --influx-image.")
    build.add_argument("--binary", metavar="PATH", default=None,
                       help="the influxd to package (default: influxd on PATH)")
    build.add_argument("--tag", metavar="IMAGE:TAG", default=None,
                       help=f"image tag (default: {LOCAL_IMAGE_REPO}:<influxd version>)")
    build.add_argument("--force", action="store_true",
                       help="build even if an image from the same binary exists (default: off)")


def run(args: argparse.Namespace) -> int:
    """Run an ``image`` subcommand; returns the exit code (0 ok, 1 failed, 2 usage)."""
    if getattr(args, "image_command", None) != "build-local":
        print("usage: influxperf image build-local [--binary PATH] [--tag IMAGE:TAG] [--force]",
              file=sys.stderr)
        return 2
    try:
        result = build_local_image(args.binary, tag=args.tag, force=args.force)
    except (ImageBuildError, ServerUnavailable) as exc:
        print(f"influxperf image build-local: {exc}", file=sys.stderr)
        return 1
    what = "built" if result.built else "up to date:"
    print(f"{what} {result.tag} from {result.influxd} ({result.version}), "
          f"{result.size_bytes / 2**20:.1f} MiB, id {result.image_id[:19]}")
    print(f"use it with: pytest --influx-bench --influx-provider docker "
          f"--influx-image {result.tag}")
    return 0
