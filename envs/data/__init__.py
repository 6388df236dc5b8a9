"""The data podgym ships (the openb trace, gzip-compressed) and how trace paths resolve.

Scenario files name trace files as ``${PODGYM_DATA}/openb/csv/NAME.csv``. ``$PODGYM_DATA`` is the
environment variable when set, else this package's folder, which holds the openb trace as
``openb/csv/NAME.csv.gz`` (see ``openb/README.md`` for its provenance, licence and citation). A path
``X.csv`` that does not exist is read from ``X.csv.gz`` when that exists, so the embedded data, an
uncompressed copy of the trace and a compressed one all work under the same names.
"""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path
from typing import TextIO

from podgym.envs.kube.errors import KubeObjectError

EMBEDDED_DATA_DIR = Path(__file__).resolve().parent
DATA_ENV = "PODGYM_DATA"


def data_dir() -> Path:
    """Where trace files are read from: ``$PODGYM_DATA`` when set, else the embedded data of this package."""
    return Path(os.environ.get(DATA_ENV) or EMBEDDED_DATA_DIR)


def expand_data_dir(path: str) -> str:
    """Replace ``${PODGYM_DATA}`` in a path with data_dir()."""
    return path.replace("${" + DATA_ENV + "}", str(data_dir()))


def resolve_data_file(path: str | Path) -> Path | None:
    """The file to read for `path`: itself, else ``path.gz`` when only that exists; None when neither does."""
    p = Path(path)
    if p.is_file():
        return p
    gz = p.with_name(p.name + ".gz")
    return gz if gz.is_file() else None


def data_file_exists(path: str | Path) -> bool:
    """Whether `path` (or its ``.gz`` form) can be read."""
    return resolve_data_file(path) is not None


def trace_name(path: str | Path) -> str:
    """A trace file's name without ``.csv`` or ``.csv.gz`` (``openb_pod_list_default``)."""
    name = Path(path).name.removesuffix(".gz")
    return Path(name).stem


def missing_file_error(path: str | Path, what: str = "data file") -> KubeObjectError:
    """An error naming the missing file, where podgym looked and how to point it elsewhere."""
    p = Path(path)
    env = os.environ.get(DATA_ENV)
    where = (
        f"${DATA_ENV} is set to {env}"
        if env
        else f"${DATA_ENV} is not set, so podgym reads its embedded data at {EMBEDDED_DATA_DIR}"
    )
    return KubeObjectError(
        f"{what} not found: looked for {p} and {p.name}.gz in {p.parent}; {where}. "
        f"Set {DATA_ENV} to a directory holding openb/csv/ (plain .csv or .csv.gz), or give the file's path",
        source=str(p),
    )


def open_data_file(path: str | Path, what: str = "data file") -> TextIO:
    """Open `path` (or ``path.gz``) as UTF-8 text for the csv module; a missing file raises missing_file_error()."""
    found = resolve_data_file(path)
    if found is None:
        raise missing_file_error(path, what)
    try:
        if found.suffix == ".gz":
            return io.TextIOWrapper(gzip.open(found, "rb"), encoding="utf-8-sig", newline="")
        return open(found, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise KubeObjectError(f"cannot read file: {exc.strerror}", source=str(found)) from None
