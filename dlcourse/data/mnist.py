"""MNIST and Fashion-MNIST from the IDX files that torchvision stores.

The files are parsed with numpy (:func:`read_idx`); torchvision is imported
only to download them, when asked for with ``download=True``.

Source: Y. LeCun, C. Cortes and C. Burges, "The MNIST database of handwritten
digits" (the IDX format); H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST"
(2017); torchvision.datasets.MNIST's folder layout.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_fashion_mnist", "load_mnist", "read_idx"]

# IDX type byte -> numpy dtype (big-endian); see http://yann.lecun.com/exdb/mnist/
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IMAGE_SIZE = 28
_NUM_CLASSES = 10


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped if the name ends in ``.gz``.

    Layout: two zero bytes, a type byte (0x08 = unsigned byte, ...), a byte with
    the number of dimensions d, d big-endian uint32 sizes, then the values in C
    order.  MNIST images have magic number 2051 (0x00000803: ubyte, 3-D), labels
    2049 (0x00000801: ubyte, 1-D).

    Returns:
        A new array in native byte order, with the type the type byte names
        (uint8 for MNIST).

    Raises:
        ValueError: bad magic number, or a file shorter/longer than its header says.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "labels-idx1-ubyte"
        ...     # 0, 0, type 0x08 (ubyte), 1 dimension of size 3, then the values 7, 2, 1
        ...     _ = path.write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1]))
        ...     labels = read_idx(path)
        >>> labels
        array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        raw = file.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path} is not an IDX file: its magic number {raw[:4].hex()} should be 0000 "
            f"followed by a type byte in {sorted(_IDX_DTYPES)} and the number of dimensions; "
            f"delete it and download it again"
        )
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path} is truncated inside its header; delete it and download it again")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path} has {len(raw)} bytes but its header (shape {shape}, dtype {dtype}) "
            f"implies {expected}; the file is truncated or corrupted, delete it and download it again"
        )
    # astype: native byte order, and a writable array (frombuffer's view of bytes is read-only)
    return np.frombuffer(raw, dtype=dtype, offset=header).astype(dtype.newbyteorder("=")).reshape(shape)


def _find_idx(raw_dir: Path, name: str) -> Path | None:
    return next((p for p in (raw_dir / name, raw_dir / f"{name}.gz") if p.is_file()), None)


def _download_with_torchvision(dataset: str, root: Path, train: bool) -> None:
    try:
        from torchvision import datasets as torchvision_datasets
    except (ImportError, OSError, RuntimeError) as exc:  # also a torchvision built for another torch
        raise ImportError(
            f"download=True fetches {dataset} with torchvision, which could not be imported "
            f"({exc}); run `pip install torchvision`, or place the IDX files in {root / dataset / 'raw'} "
            f"by hand"
        ) from exc
    getattr(torchvision_datasets, dataset)(root=str(root), train=train, download=True)


def _load_idx_dataset(
    dataset: str, root: str | os.PathLike, train: bool, download: bool, dtype: Any
) -> tuple[np.ndarray, np.ndarray]:
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise TypeError(f"dtype must be a floating dtype such as np.float64 or np.float32, got {dtype!r}")
    root = Path(root)
    raw_dir = root / dataset / "raw"
    split = "train" if train else "t10k"
    names = (f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte")
    paths = [_find_idx(raw_dir, name) for name in names]
    if download and None in paths:
        _download_with_torchvision(dataset, root, train)
        paths = [_find_idx(raw_dir, name) for name in names]
    for name, path in zip(names, paths, strict=True):
        if path is None:
            raise FileNotFoundError(
                f"expected {raw_dir / name} (or {name}.gz next to it); call with download=True "
                f"(needs internet and torchvision) to fetch it through torchvision.datasets."
                f"{dataset}(root={str(root)!r}, train={train}, download=True), or copy the "
                f"files there by hand"
            )
    images_path, labels_path = paths
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.shape[1:] != (_IMAGE_SIZE, _IMAGE_SIZE):
        raise ValueError(
            f"{images_path} should hold uint8 images of shape (n, 28, 28) (magic number 2051), "
            f"got dtype {images.dtype} and shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
        raise ValueError(
            f"{labels_path} should hold {len(images)} uint8 labels (magic number 2049, one per "
            f"image in {images_path.name}), got dtype {labels.dtype} and shape {labels.shape}"
        )
    if labels.size and labels.max() >= _NUM_CLASSES:
        raise ValueError(f"{labels_path} has a label {labels.max()}; MNIST labels are 0..9")
    X = images.reshape(len(images), -1).astype(dtype)
    # pixel / 255 as torchvision's ToTensor; in place because X is 376 MB in float64
    # and a second copy would double the peak memory of loading MNIST
    X /= 255
    return X, labels.astype(np.int64)


def load_mnist(
    root: str | os.PathLike, train: bool = True, download: bool = False, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits from torchvision's folder layout, pixels scaled to [0, 1].

    Reads ``root/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or the
    same names with ``.gz``), which is where ``torchvision.datasets.MNIST(root,
    download=True)`` puts them, and parses them with numpy (see ``read_idx``).

    Args:
        root: the directory given to torchvision as ``root``.
        train: the 60000 training images if True, else the 10000 test images.
        download: if the files are missing, fetch them with torchvision (needs
            internet and ``pip install torchvision``; imported only then).
        dtype: floating dtype of X; float32 halves the memory (188 MB vs 376 MB).

    Returns:
        (X, y): X of shape (n, 784) with values pixel / 255 in [0, 1]; y int64 labels 0..9.

    Raises:
        FileNotFoundError: a file is missing (the message names the path).
        ImportError: ``download=True`` but torchvision cannot be imported.
        ValueError: a file is not a valid MNIST IDX file.

    Example (two tiny images written in torchvision's layout):
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as root:
        ...     raw = Path(root) / "MNIST" / "raw"
        ...     raw.mkdir(parents=True)
        ...     images = bytes([0, 0, 0x08, 3]) + (2).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
        ...     _ = (raw / "train-images-idx3-ubyte").write_bytes(images + bytes(784) + bytes([255]) * 784)
        ...     _ = (raw / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 0x08, 1, 0, 0, 0, 2, 5, 0]))
        ...     X, y = load_mnist(root)
        >>> X.shape, X[:, 0], y
        ((2, 784), array([0., 1.]), array([5, 0]))
    """
    return _load_idx_dataset("MNIST", root, train, download, dtype)


def load_fashion_mnist(
    root: str | os.PathLike, train: bool = True, download: bool = False, *, dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST (Zalando clothing images) from ``root/FashionMNIST/raw``.

    Same files, format and arguments as ``load_mnist``; labels 0..9 are T-shirt/top,
    trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot.
    ``download=True`` uses ``torchvision.datasets.FashionMNIST``.

    Example (without the files, the error names where they belong):
        >>> load_fashion_mnist("no-such-folder")
        Traceback (most recent call last):
            ...
        FileNotFoundError: expected no-such-folder/FashionMNIST/raw/train-images-idx3-ubyte (or ...
    """
    return _load_idx_dataset("FashionMNIST", root, train, download, dtype)
