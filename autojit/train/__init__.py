"""``aj.train``: checkpoints of Modules, optimizers and Variables, and progress bars.

Usage::

    ckpt = aj.train.Checkpoint(model=model, optimizer=opt)
    manager = aj.train.CheckpointManager(ckpt, "checkpoints", max_to_keep=3)
    manager.save()
    ckpt.restore(aj.train.latest_checkpoint("checkpoints"))
"""

from autojit.train.checkpoint import Checkpoint
from autojit.train.checkpoint_manager import CheckpointManager, latest_checkpoint
from autojit.train.progress import progress

__all__ = ["Checkpoint", "CheckpointManager", "latest_checkpoint", "progress"]
