"""dlcourse: how deep networks are trained.

Reference implementations (numpy) of backpropagation, activations,
initialization, optimizers, learning-rate schedules, normalization and data
handling.  Each algorithm is a short pure function that reads like the slide it
comes from; every one is tested against PyTorch in float64.

Submodules are imported explicitly (``from dlcourse.optim import adam_step``),
so ``import dlcourse`` stays cheap and never imports torch.
"""

__version__ = "0.1.0"

# Every module of the reference library, by name: the answer key and the lectures' experiments,
# whose docstring examples tests/test_docstring_examples.py runs (it fails on a module of the
# library missing from this list).  A new library module is added here.
REFERENCE_MODULES = (
    "dlcourse",
    "dlcourse._blas",
    "dlcourse._checks",
    "dlcourse.activation_layers",
    "dlcourse.activations",
    "dlcourse.activations._common",
    "dlcourse.activations.exponential",
    "dlcourse.activations.rectifiers",
    "dlcourse.activations.saturating",
    "dlcourse.activations.smooth",
    "dlcourse.autograd",
    "dlcourse.autograd.ops",
    "dlcourse.autograd.shapes",
    "dlcourse.autograd.tensor",
    "dlcourse.backprop",
    "dlcourse.backprop.gates",
    "dlcourse.backprop.worked_examples",
    "dlcourse.batchnorm_mlp",
    "dlcourse.data",
    "dlcourse.data.batches",
    "dlcourse.data.datasets",
    "dlcourse.data.mnist",
    "dlcourse.data.splits",
    "dlcourse.experiments",
    "dlcourse.gradcheck",
    "dlcourse.gradient_noise",
    "dlcourse.init",
    "dlcourse.landscape",
    "dlcourse.layers",
    "dlcourse.losses",
    "dlcourse.lottery",
    "dlcourse.memorization",
    "dlcourse.newton",
    "dlcourse.norm",
    "dlcourse.norm._common",
    "dlcourse.norm.batchnorm",
    "dlcourse.norm.groupnorm",
    "dlcourse.norm.layernorm",
    "dlcourse.optim",
    "dlcourse.optim._common",
    "dlcourse.optim.adam",
    "dlcourse.optim.adaptive",
    "dlcourse.optim.lion",
    "dlcourse.optim.momentum_forms",
    "dlcourse.optim.sgd",
    "dlcourse.optim.torch_adapter",
    "dlcourse.optim.wrappers",
    "dlcourse.regression",
    "dlcourse.regularization",
    "dlcourse.schedules",
    "dlcourse.schedules.clipping",
    "dlcourse.schedules.learning_rate",
    "dlcourse.stacked",
    "dlcourse.surfaces",
    "dlcourse.training",
)
