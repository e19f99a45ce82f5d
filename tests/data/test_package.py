"""dlcourse.data: importing it stays cheap, and every public name is importable from the package."""

import subprocess
import sys

import dlcourse.data
from dlcourse.data import batches, datasets, mnist, splits


def test_module_imports_neither_torch_nor_sklearn():
    code = (
        "import sys, dlcourse.data; "
        "assert 'torch' not in sys.modules and 'sklearn' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_come_from_their_concept_module():
    homes = {
        datasets: ["load_digits", "spirals", "moons", "circles"],
        splits: ["Split", "train_val_test_split", "standardize"],
        batches: ["minibatches"],
        mnist: ["read_idx", "load_mnist", "load_fashion_mnist"],
    }
    assert sorted(dlcourse.data.__all__) == sorted(name for names in homes.values() for name in names)
    for module, names in homes.items():
        assert sorted(module.__all__) == sorted(names)
        for name in names:
            assert getattr(dlcourse.data, name) is getattr(module, name)
