"""dlcourse.augmentation: random_shifts against explicit padding and slicing, and the lecture's claims."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.augmentation import augmentation_experiment, random_shifts


def shifted(image, dy, dx):
    padded = np.pad(image, 1)
    return padded[1 - dy: 1 - dy + image.shape[0], 1 - dx: 1 - dx + image.shape[1]]


def test_every_image_is_one_of_its_nine_shifts_and_the_input_is_unchanged():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(200, 8, 8))
    before = images.copy()
    out = random_shifts(images, np.random.default_rng(1), probability=1.0)
    draws = np.random.default_rng(1).integers(-1, 2, size=(2, 200))  # the documented draw order
    for image, result, dy, dx in zip(images, out, *draws, strict=True):
        np.testing.assert_array_equal(result, shifted(image, dy, dx))
    np.testing.assert_array_equal(images, before)
    assert len({(dy, dx) for dy, dx in zip(*draws, strict=True)}) == 9


def test_probability_is_the_fraction_of_shifted_images():
    images = np.random.default_rng(0).uniform(size=(4000, 8, 8))
    np.testing.assert_array_equal(random_shifts(images, np.random.default_rng(2), probability=0.0), images)
    out = random_shifts(images, np.random.default_rng(3), probability=0.3)
    moved = np.mean([not np.array_equal(a, b) for a, b in zip(out, images, strict=True)])
    # a drawn shift of (0, 0) leaves the image as it is: 0.3 * 8/9 of the images change
    assert abs(moved - 0.3 * 8 / 9) < 5 * np.sqrt(0.27 * 0.73 / 4000)


def test_random_shifts_rejects_bad_input():
    with pytest.raises(ValueError, match="images"):
        random_shifts(np.zeros((8, 8)), np.random.default_rng(0))
    with pytest.raises(ValueError, match="probability"):
        random_shifts(np.zeros((1, 8, 8)), np.random.default_rng(0), probability=2.0)
    with pytest.raises(TypeError, match="images"):
        random_shifts(np.zeros((1, 8, 8), dtype=int), np.random.default_rng(0))


def test_augmentation_helps_on_shifted_digits_much_more_than_on_centred_ones():
    """The lecture's claim, at the lecture's settings."""
    result = augmentation_experiment()
    plain, augmented = result["plain"], result["augmented"]
    assert augmented["shifted"].mean() > plain["shifted"].mean() + 0.2
    assert abs(augmented["centred"].mean() - plain["centred"].mean()) < 0.05


def test_augmentation_experiment_rejects_bad_input():
    with pytest.raises(ValueError, match="n_train"):
        augmentation_experiment(5000)
    with pytest.raises(ValueError, match="lr"):
        augmentation_experiment(lr=0.0)
