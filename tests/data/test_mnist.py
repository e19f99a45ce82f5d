"""dlcourse.data.mnist: the IDX format and torchvision's folder layout.

Nothing here touches the network: MNIST files are small fakes written in
torchvision's folder layout, and the download path runs a fake ``torchvision``.
"""

import gzip
import struct
import sys
import types

import numpy as np
import pytest
import torch

from dlcourse.data import load_fashion_mnist, load_mnist, read_idx

IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C, np.dtype(np.float64): 0x0E}


def write_idx(path, array, compress=False):
    """Write an IDX file following the format description on yann.lecun.com/exdb/mnist."""
    array = np.asarray(array)
    header = bytes([0, 0, IDX_TYPES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path


def fake_mnist(root, folder="MNIST", train_n=5, test_n=3, compress=False, seed=0):
    """Small random MNIST-like files in torchvision's layout: root/<folder>/raw/..."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, n in [("train", train_n), ("t10k", test_n)]:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        write_idx(raw / f"{split}-images-idx3-ubyte", images, compress)
        write_idx(raw / f"{split}-labels-idx1-ubyte", labels, compress)
        data[split] = (images, labels)
    return data


@pytest.mark.parametrize("array", [
    np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 7,
    np.linspace(-1, 1, 5),
    np.zeros((0, 28, 28), dtype=np.uint8),
], ids=["int32-3d", "float64-1d", "empty-uint8"])
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, array, compress):
    path = write_idx(tmp_path / "file-idx", array, compress)
    result = read_idx(path)
    assert result.shape == array.shape and result.dtype == array.dtype
    np.testing.assert_array_equal(result, array)


def test_read_idx_magic_number_of_mnist_images(tmp_path):
    path = write_idx(tmp_path / "images", np.zeros((2, 28, 28), dtype=np.uint8))
    assert int.from_bytes(path.read_bytes()[:4], "big") == 2051  # documented MNIST magic number


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x05", "is not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "is not an IDX file"),
        (b"\x00\x00", "is not an IDX file"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x03\x05\x06", "has 10 bytes but its header"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x01\x05\x06", "has 10 bytes but its header"),
    ],
)
def test_read_idx_rejects_bad_files(tmp_path, payload, match):
    path = tmp_path / "bad-idx"
    path.write_bytes(payload)
    with pytest.raises(ValueError, match=match):
        read_idx(path)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize(("loader", "folder"), [(load_mnist, "MNIST"), (load_fashion_mnist, "FashionMNIST")])
def test_load_mnist_from_torchvision_layout(tmp_path, loader, folder, train, compress):
    data = fake_mnist(tmp_path, folder, compress=compress)
    images, labels = data["train" if train else "t10k"]
    X, y = loader(tmp_path, train=train)
    assert X.shape == (len(images), 784) and X.dtype == np.float64
    assert y.dtype == np.int64
    # torchvision's ToTensor: uint8 -> float, divided by 255
    expected = torch.from_numpy(images).to(torch.float64).div(255).reshape(len(images), -1).numpy()
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, labels)
    assert X.min() >= 0.0 and X.max() <= 1.0


def test_load_mnist_float32(tmp_path):
    data = fake_mnist(tmp_path)
    X, _ = load_mnist(str(tmp_path), dtype=np.float32)
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X, data["train"][0].reshape(5, 784).astype(np.float32) / np.float32(255))
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        load_mnist(tmp_path, dtype=np.int64)


def test_load_mnist_missing_files_names_the_path(tmp_path):
    expected = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    with pytest.raises(FileNotFoundError, match="download=True") as info:
        load_mnist(tmp_path)
    assert str(expected) in str(info.value) and "torchvision" in str(info.value)
    fake_mnist(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(tmp_path, train=False)
    with pytest.raises(FileNotFoundError, match="FashionMNIST"):
        load_fashion_mnist(tmp_path)


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (np.zeros((3, 27, 28), np.uint8), np.zeros(3, np.uint8), r"shape \(n, 28, 28\)"),
        (np.zeros((3, 28, 28), np.int32), np.zeros(3, np.uint8), "uint8 images"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "should hold 3 uint8 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), "should hold 3 uint8 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.array([1, 10, 2], np.uint8), "MNIST labels are 0..9"),
    ],
)
def test_load_mnist_validates_contents(tmp_path, images, labels, match):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", images)
    write_idx(raw / "train-labels-idx1-ubyte", labels)
    with pytest.raises(ValueError, match=match):
        load_mnist(tmp_path)


def _fake_torchvision(monkeypatch, calls, fail=False):
    """Install a fake ``torchvision`` whose dataset classes write fake files, as the real ones download."""

    def dataset_class(folder):
        class FakeDataset:
            def __init__(self, root, train=True, download=False):
                if fail:
                    raise AssertionError("torchvision must not be called when the files exist")
                calls.append((folder, root, train, download))
                from pathlib import Path

                fake_mnist(Path(root), folder, compress=True, seed=42)  # torchvision keeps the .gz

        return FakeDataset

    datasets_module = types.ModuleType("torchvision.datasets")
    datasets_module.MNIST = dataset_class("MNIST")
    datasets_module.FashionMNIST = dataset_class("FashionMNIST")
    torchvision = types.ModuleType("torchvision")
    torchvision.datasets = datasets_module
    monkeypatch.setitem(sys.modules, "torchvision", torchvision)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets_module)


@pytest.mark.parametrize(("loader", "folder"), [(load_mnist, "MNIST"), (load_fashion_mnist, "FashionMNIST")])
def test_download_goes_through_torchvision(tmp_path, monkeypatch, loader, folder):
    calls = []
    _fake_torchvision(monkeypatch, calls)
    X, y = loader(tmp_path, train=False, download=True)
    assert calls == [(folder, str(tmp_path), False, True)]
    images, labels = fake_mnist(tmp_path / "expected", folder, compress=True, seed=42)["t10k"]
    np.testing.assert_array_equal(X, images.reshape(len(images), -1) / 255)
    np.testing.assert_array_equal(y, labels)


def test_download_skipped_when_files_exist(tmp_path, monkeypatch):
    fake_mnist(tmp_path)
    _fake_torchvision(monkeypatch, [], fail=True)
    X, _ = load_mnist(tmp_path, download=True)
    assert X.shape == (5, 784)


def test_download_without_torchvision(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` raise ImportError
    with pytest.raises(ImportError, match="pip install torchvision") as info:
        load_mnist(tmp_path, download=True)
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)
