"""dlcourse.agreement: the lectures' table of comparisons with torch."""

import numpy as np
import pytest
import torch

from dlcourse.agreement import agreement_table, compare


def test_a_float64_computation_agrees_with_torch_and_a_wrong_one_does_not():
    x = np.linspace(-3, 3, 41)
    ours_right, ours_wrong = 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(-x)) + 1e-9
    theirs = torch.sigmoid(torch.tensor(x)).numpy()
    assert compare("sigmoid", ours_right, theirs).agrees
    wrong = compare("sigmoid", ours_wrong, theirs)
    assert not wrong.agrees and wrong.max_abs == pytest.approx(1e-9, rel=1e-3)


def test_the_table_prints_one_row_per_pair(capsys):
    table = agreement_table({"a": (np.zeros(3), np.zeros(3)), "b": (np.ones((2, 2)), np.ones((2, 2)) * 2)})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].startswith("a ") and lines[2].endswith("NO")
    assert [row.agrees for row in table] == [True, False]
    assert table[1].max_rel == 0.5


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="ours has shape"):
        compare("x", np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="rows must be a non-empty mapping"):
        agreement_table([])
    with pytest.raises(ValueError, match="tolerance must be >= 0"):
        compare("x", 1.0, 1.0, tolerance=-1)
