"""``aj.optimizers`` (also ``aj.keras.optimizers``): optimizers that update Variables in
place, and learning-rate ``schedules``.

Usage::

    opt = aj.optimizers.AdamW(aj.optimizers.schedules.CosineDecay(1e-3, decay_steps=1000))
    opt.apply_gradients(zip(grads, model.trainable_variables))

The update formulas and defaults are Keras 3's (``keras.optimizers``), spelled out in each
class; the shared steps (learning rate, clipping, weight decay) are in
``autojit/optimizers/base.py`` (Note [Order of an update]).
"""

from autojit.optimizers import schedules
from autojit.optimizers.adaptive import Adagrad, Adam, AdamW, RMSprop
from autojit.optimizers.base import Optimizer
from autojit.optimizers.schedules import LearningRateSchedule
from autojit.optimizers.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LearningRateSchedule",
           "schedules"]
