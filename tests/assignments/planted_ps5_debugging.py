"""Planted wrong submissions for ps5_debugging.ipynb.

Each must lose exactly the points of its part, with a diagnosis.
"""

from assignments import likely_cause

PLANTED = [
    {
        "name": "epoch_loss_item_at_the_end",
        "notebook": "ps5_debugging.ipynb",
        "cell": "debug_memory",
        "source": '''def epoch_loss(model, batches, loss_fn):
    # keep the batch losses, average them, and only then turn the result into a float
    losses = []
    for x, y in batches:
        losses.append(loss_fn(model(x), y))
    return torch.stack(losses).mean().item()
''',
        "zero": ["debug_memory_tests"],
        "feedback": likely_cause("debugging.epoch_loss", "epoch_loss_item_at_end"),
    },
    {
        "name": "train_step_without_zero_grad",
        "notebook": "ps5_debugging.ipynb",
        "cell": "debug_zero_grad",
        "source": '''def train_step(model, optimizer, x, y, loss_fn):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''',
        "zero": ["debug_zero_grad_tests"],
        "feedback": likely_cause("debugging.train_step", "train_step_no_zero_grad"),
    },
]
