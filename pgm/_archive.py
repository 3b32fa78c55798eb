"""Checked ``.npz`` archives shared by the estimators' ``save``/``load`` (never pickle).

An archive holds ``format_version`` (int64 scalar), ``class_name`` (str
scalar), ``params_json`` (the hyper-parameters as JSON) and validated arrays.
The helpers here read one entry each and raise :class:`ArchiveError` (a
``ValueError``) whose message names the file and the entry.
"""

from __future__ import annotations

import json
import numbers
import os
import warnings
import zipfile

import numpy as np

from pgm._params import float_dtype
from pgm.learning.schedules import Schedule, get_schedule

__all__ = [
    "ArchiveError",
    "json_array",
    "archive_scalar",
    "archive_array",
    "encode_generator",
    "decode_generator",
    "encode_params",
    "decode_params",
    "read_archive",
]


class ArchiveError(ValueError):
    """A refused archive; the message already names the file."""


def json_array(value):
    """``json.dumps`` fallback: arrays in a generator state (MT19937's key) as lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def archive_scalar(archive, key: str, kind, where: str):
    """A 0-d entry of ``archive`` of numpy kind ``kind`` (``np.integer``, ``np.str_``)."""
    value = archive[key]
    if value.shape != () or not np.issubdtype(value.dtype, kind):
        what = "an integer" if kind is np.integer else "a string"
        raise ArchiveError(
            f"{where}: {key} must be {what} scalar, got dtype {value.dtype} and shape {value.shape}"
        )
    return int(value) if kind is np.integer else str(value)


def archive_array(archive, key, shape, dtype, where, *, what) -> np.ndarray:
    """A float array entry of exactly ``shape`` and ``dtype``, finite (a fresh copy)."""
    value = archive[key]
    if value.dtype != dtype:
        raise ArchiveError(
            f"{where}: {key} must have dtype {np.dtype(dtype).name} (the model's dtype), got "
            f"{value.dtype}"
        )
    if value.shape != shape:
        raise ArchiveError(f"{where}: {key} must have shape {what} = {shape}, got {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ArchiveError(f"{where}: {key} must be finite")
    return value.copy()


def encode_generator(rng: np.random.Generator) -> np.ndarray:
    """``rng``'s ``bit_generator.state`` as a JSON string scalar (see :func:`decode_generator`)."""
    return np.array(json.dumps(rng.bit_generator.state, default=json_array))


def decode_generator(archive, where: str, key: str = "rng_state_json") -> np.random.Generator:
    """The training generator from its stored ``bit_generator.state``."""
    try:
        state = json.loads(archive_scalar(archive, key, np.str_, where))
    except json.JSONDecodeError as exc:
        raise ArchiveError(f"{where}: {key} is not valid JSON: {exc}") from None
    name = state.get("bit_generator") if isinstance(state, dict) else None
    allowed = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
    if name not in allowed:
        raise ArchiveError(f"{where}: {key} must name a bit generator in {list(allowed)}")
    bit_generator = getattr(np.random, name)()
    if name == "MT19937" and isinstance(state.get("state"), dict):
        state["state"]["key"] = np.asarray(state["state"].get("key"), dtype=np.uint32)
    try:
        bit_generator.state = state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise ArchiveError(f"{where}: {key} is not a valid {name} state: {exc}") from None
    return np.random.Generator(bit_generator)


def encode_params(params: dict, *, stacklevel: int = 3) -> tuple[str, str]:
    """JSON texts ``(params_json, param_forms_json)`` of plain hyper-parameters.

    Handles values that are None, bool, int, float, str, tuples/lists of
    those, numpy scalars, ``dtype`` (a numpy type, ``np.dtype`` or str) and
    ``random_state`` (an int, or None; a Generator/SeedSequence cannot be
    written and is stored as None with a warning). ``forms`` records what
    :func:`decode_params` needs to give back values of the same types.
    Parameters holding arrays must be removed by the caller first.

    Raises
    ------
    ValueError
        If a value cannot be written as JSON.
    """
    params = dict(params)
    forms = {}
    for name, value in params.items():
        if isinstance(value, np.generic):
            forms[name] = value.dtype.name
            params[name] = value.item()
        elif isinstance(value, tuple):
            forms[name] = "tuple"
            params[name] = [v.item() if isinstance(v, np.generic) else v for v in value]
        elif isinstance(value, Schedule):
            forms[name] = "schedule"
            params[name] = value.to_dict()
    if "dtype" in params:
        dtype = params["dtype"]
        if isinstance(dtype, str):
            forms["dtype"] = "str"
        else:
            forms["dtype"] = "dtype" if isinstance(dtype, np.dtype) else "type"
            params["dtype"] = float_dtype(dtype, "dtype").name
    seed = params.get("random_state")
    if seed is not None and not isinstance(seed, numbers.Integral):
        warnings.warn(
            f"random_state of type {type(seed).__name__} cannot be saved; stored as None "
            "(the training generator's state is saved, so partial_fit still resumes exactly)",
            stacklevel=stacklevel,
        )
        params["random_state"] = None
        forms.pop("random_state", None)
    try:
        return json.dumps(params, allow_nan=False), json.dumps(forms)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"hyper-parameters cannot be saved as JSON: {exc}") from None


def decode_params(archive, names, where: str, *, class_name: str) -> dict:
    """The stored hyper-parameters (exactly ``names``) in the forms :func:`encode_params` noted."""
    try:
        params = json.loads(archive_scalar(archive, "params_json", np.str_, where))
        forms = {}
        if "param_forms_json" in archive.files:
            forms = json.loads(archive_scalar(archive, "param_forms_json", np.str_, where))
    except json.JSONDecodeError as exc:
        raise ArchiveError(f"{where}: params_json or param_forms_json is not JSON: {exc}") from None
    if not isinstance(params, dict) or not isinstance(forms, dict):
        raise ArchiveError(f"{where}: params_json and param_forms_json must hold JSON objects")
    if set(params) != set(names):
        raise ArchiveError(
            f"{where}: stored hyper-parameters {sorted(params)} differ from {class_name}'s "
            f"{sorted(names)}"
        )
    for name, form in forms.items():
        if name not in params or not isinstance(form, str):
            raise ArchiveError(f"{where}: bad param_forms_json entry {name!r}: {form!r}")
        value = params[name]
        if name == "dtype" and form in ("str", "dtype", "type"):
            if form != "str":
                try:
                    dtype = float_dtype(value, "stored dtype")
                except (TypeError, ValueError) as exc:
                    raise ArchiveError(f"{where}: {exc}") from None
                params[name] = dtype if form == "dtype" else dtype.type
            continue
        if form == "schedule":
            try:
                params[name] = get_schedule(value, name)
            except (TypeError, ValueError) as exc:
                raise ArchiveError(
                    f"{where}: cannot restore hyper-parameter {name}: {exc}"
                ) from None
            continue
        if form == "tuple":
            if not isinstance(value, list):
                raise ArchiveError(f"{where}: hyper-parameter {name}={value!r} is not a list")
            params[name] = tuple(value)
            continue
        try:
            kind = np.dtype(form)
            if kind.kind not in "biuf" or isinstance(value, (str, list, dict)) or value is None:
                raise TypeError(form)
            params[name] = kind.type(value)
        except (TypeError, ValueError, OverflowError):
            raise ArchiveError(
                f"{where}: cannot restore hyper-parameter {name}={value!r} as {form!r}"
            ) from None
    return params


def read_archive(path: str | os.PathLike, reader, what: str):
    """Open ``path`` with ``allow_pickle=False`` and return ``reader(archive, where)``.

    Errors that ``reader`` does not word itself (a missing key, a damaged
    member) become a ``ValueError`` naming the file and ``what`` it should be.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ``.npz`` archive or ``reader`` refuses it.
    """
    where = repr(os.fspath(path))
    try:
        archive = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{where} is not an .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{where} holds a single .npy array, not a saved pgm model")
    with archive:
        try:
            return reader(archive, where)
        except ArchiveError:
            raise
        except (ValueError, TypeError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{where} is a damaged {what} archive: {exc}") from None
