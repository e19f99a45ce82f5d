"""dlcourse: how deep networks are trained.

Reference implementations (numpy) of backpropagation, activations,
initialization, optimizers, learning-rate schedules, normalization and data
handling.  Each algorithm is a short pure function that reads like the slide it
comes from; every one is tested against PyTorch in float64.

Submodules are imported explicitly (``from dlcourse.optim import adam_step``),
so ``import dlcourse`` stays cheap and never imports torch.
"""

__version__ = "0.1.0"
