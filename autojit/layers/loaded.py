"""The model ``aj.keras.models.load_model`` returns (Note [Loaded Keras models]).

Note [Loaded Keras models]: ``model.save`` writes, next to the ``serving_default`` signature
(``self(x, training=False)``), the model called with ``training=True`` for the same input
type, as the function attribute ``TRAINING_CALL``. ``load_model`` builds the saved root as a
``LoadedModel``: a ``Restored`` object (its Variables, functions and signatures, callable,
``predict``) that is also a Keras ``Training`` model, so it can be compiled, fitted and
evaluated again (Keras's ``compile``, then ``fit``: the optimizer starts fresh, as after
Keras's ``load_model(compile=False)``). ``model(x, training=True)`` runs the saved training
graph: Dropout draws, BatchNormalization uses and updates its batch statistics. Not saved,
so not part of a loaded model's loss: the regularizers' penalties (``model.losses`` is
empty). Saving a loaded model writes its loaded functions and signatures again.
"""

from __future__ import annotations

from typing import Any

from autojit.errors import InvalidArgumentError
from autojit.layers.training import TRAINING_CALL, Training
from autojit.saved_model import Restored


class LoadedModel(Restored, Training):
    """A saved Keras model as loaded: call it, ``predict``, or ``compile`` and ``fit`` it again
    (Note [Loaded Keras models]).

    Usage: ``model = aj.keras.models.load_model("exported"); model.compile("adam", "mse");
    model.fit(x, y)``
    """

    _typed_inputs = True  # its input types are the saved functions': save keeps them

    def __call__(self, x: Any, training: bool | None = None, **kwargs: Any) -> Any:
        """The saved model on ``x``: its training graph when ``training`` is True, else its
        serving signature. Usage: ``logits = model(x)``"""
        if not training:
            return Restored.__call__(self, x, **kwargs)
        call = vars(self).get(TRAINING_CALL)
        if call is None:
            raise InvalidArgumentError(
                f"{self.name}: this saved model has no training graph (it was saved by an "
                f"older autojit, or not by model.save), so it cannot run with training=True "
                f"or be fitted; call it with training=False, or save the model again with "
                f"model.save")
        return call(x)

    def save(self, filepath: Any, overwrite: bool = True, **unused: Any) -> str:
        """Save it again, with its loaded functions and signatures.

        Usage: ``model.save("exported_again")``
        """
        from autojit import saved_model

        return saved_model.save(self, filepath)
