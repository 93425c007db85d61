"""Read a CSV or Parquet file into a raw DataFrame, turning every way a file can be unusable into
a `DataError` that names the file and says what would be valid.

CSV goes through `pyarrow.csv` (multi-threaded, about 2 s for 1M rows x 50 numeric columns): the
first line is always the header, column types are inferred over the whole file, and the column
names are checked for duplicates before pandas would silently rename them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from hpo_common.errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".csv.bz2", ".csv.zst")
PARQUET_SUFFIXES = (".parquet", ".pq")
_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_BYTES = 64 * 1024


def file_suffix(path: Path) -> str:
    """The file type suffix, keeping a compression suffix with its format (".csv.gz")."""
    name = path.name.lower()
    for suffix in CSV_SUFFIXES + PARQUET_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def read_frame(path: Path) -> pd.DataFrame:
    """Read `path` (CSV or Parquet, chosen by suffix) into a DataFrame with a RangeIndex.

    Raises:
        DataError: the file is missing, empty, of an unsupported type, not parsable, has
            duplicate column names, or has fewer than two columns or no data rows.
    """
    if not path.exists():
        raise DataError(f"data file not found: '{path}'")
    if not path.is_file():
        raise DataError(f"'{path}' is not a file; pass a .csv or .parquet file")
    suffix = file_suffix(path)
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        valid = ", ".join(CSV_SUFFIXES + PARQUET_SUFFIXES)
        kind = suffix or path.name
        raise DataError(f"unsupported file type '{kind}' for '{path}'; use one of {valid}")
    if path.stat().st_size == 0:
        raise DataError(f"'{path}' is empty (0 bytes); a data file needs a header and data rows")
    arrow = _read_parquet(path) if suffix in PARQUET_SUFFIXES else _read_csv(path, suffix)
    _check_columns(path, arrow.column_names)
    if arrow.num_rows == 0:
        raise DataError(f"'{path}' has a header but no data rows")
    frame = arrow.to_pandas()
    # A blank header cell (a saved pandas index) gets pandas' usual name, so ID detection sees it.
    frame.columns = [name or f"Unnamed: {i}" for i, name in enumerate(frame.columns)]
    return frame


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq  # with pyarrow's file systems: about 0.03 s a CSV does not need

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"'{path}' is not a readable Parquet file: {exc}") from exc


def _read_csv(path: Path, suffix: str) -> pa.Table:
    delimiter = "\t" if suffix.startswith(".tsv") else ","
    if not suffix.endswith((".gz", ".bz2", ".zst")):
        sniffed = _sniff_text(path)
        delimiter = delimiter if suffix.startswith(".tsv") else sniffed
    parse = pa_csv.ParseOptions(delimiter=delimiter)
    # Empty fields and "NA"/"null"/... are missing in text columns too, as pandas reads them.
    convert = pa_csv.ConvertOptions(strings_can_be_null=True)
    table = _parse_csv(path, pa_csv.ReadOptions(), parse, convert)
    if any(pa.types.is_binary(field.type) for field in table.schema):
        # Text that is not UTF-8 comes back as bytes; latin-1 decodes any byte and is the usual
        # encoding of such files.
        table = _parse_csv(path, pa_csv.ReadOptions(encoding="latin-1"), parse, convert)
    return table


def _parse_csv(
    path: Path,
    read: pa_csv.ReadOptions,
    parse: pa_csv.ParseOptions,
    convert: pa_csv.ConvertOptions,
) -> pa.Table:
    try:
        return pa_csv.read_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, exc) from exc


def _csv_error(path: Path, exc: Exception) -> DataError:
    message = str(exc).splitlines()[0][:200]
    if "Empty CSV" in message:
        return DataError(f"'{path}' is empty; a data file needs a header and data rows")
    return DataError(
        f"'{path}' is not a valid CSV file ({message}); every line needs the same number "
        "of comma-separated fields as the header"
    )


def _sniff_text(path: Path) -> str:
    """Reject binary and JSON files early, and pick the delimiter from the header line."""
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise DataError(f"'{path}' is not a CSV file: it contains binary data (NUL bytes)")
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text[:1] in ("{", "["):
        raise DataError(
            f"'{path}' looks like JSON, not CSV; convert it to a CSV with a header line "
            "(e.g. pandas.read_json(...).to_csv(...))"
        )
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in _DELIMITERS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 and counts[","] == 0 else ","


def _check_columns(path: Path, names: list[str]) -> None:
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise DataError(
            f"'{path}' has duplicate column names: {', '.join(map(repr, duplicates))}; "
            "every column needs a unique name"
        )
    if len(names) < 2:
        shown = repr(names[0][:60]) if names else "none"
        raise DataError(
            f"'{path}' is not a usable table: found 1 column ({shown}); a data file needs a "
            "target and at least one feature column, separated by ',' (or ';' or tab)"
        )
