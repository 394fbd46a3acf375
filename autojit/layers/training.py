"""Keras's training loop for ``aj.keras.Model`` and ``Sequential``: ``compile``, ``fit``,
``evaluate``, ``predict``.

Note [Keras training]: ``compile(optimizer, loss, metrics)`` takes Keras's names ("adam",
"sparse_categorical_crossentropy", "accuracy", ...) or objects. ``fit`` runs one
``@aj.function`` train step per batch (forward under a ``GradientTape``, the compiled loss,
``optimizer.apply_gradients``, every metric's ``update_state``), traced once for the batch
shape and once more for a smaller last batch (``reduce_retracing``); ``run_eagerly=True``
runs it as plain Python. Batches are slices of ``x``/``y`` (NumPy arrays or tensors),
shuffled each epoch unless ``shuffle=False`` (repeatable under ``aj.random.set_seed``), or
the batches of an ``aj.data.Dataset`` of ``(x, y)`` or ``(x, y, sample_weight)``.
``validation_split`` holds out the last ``n - floor(n * (1 - split))`` examples before
shuffling, as Keras; ``validation_data`` is evaluated after each epoch (or each
``validation_freq``-th) into ``val_`` logs. ``fit`` returns a ``History``
(``history.history["loss"]``), prints one line per epoch unless ``verbose=0``, and calls the
callbacks' ``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end(epoch, logs)`` and
``on_train_end``; a callback setting ``model.stop_training = True`` ends training after that
epoch. The compiled state lives in one plain attribute, so metrics' Variables are not the
model's (as Keras's ``model.weights``).

The loss of a step, in training and in ``evaluate`` alike, is Keras 3's ``compute_loss``:
``loss_weights * loss(y, pred, sample_weight) + sum(model.losses)`` (the regularizers'
penalties). A loss reduces as ``"sum_over_batch_size"``, ``sum(w * l) / batch`` (not divided
by the sum of the weights; Note [Loss reduction] in autojit/losses.py), and the logged loss
is the mean over batches weighted by their sizes, so over the data it is ``sum(w * l) / n``.
``sample_weight`` (one weight per example, or per time step for a ``[batch, time]`` loss) is
sliced and shuffled with its examples and is an argument of the traced step, so weights
trace once per batch shape as the data does (no weights: ``None``, and the graph is the
unweighted one). ``class_weight`` (``fit`` only) turns the labels, integer or argmax of
one-hot, into per-example weights (a class left out weighs 1, as Keras 3), multiplied into
``sample_weight`` as tf.keras does (Keras 3 refuses both at once). As Keras, ``metrics`` are
never weighted; ``weighted_metrics`` get the weights. Arguments that would change results
and are not implemented (``steps_per_epoch``, ``validation_steps``, ``steps``, unknown names)
raise; TF-era tuning knobs that cannot change them are accepted and ignored.

Note [Multi-output training]: a functional model whose outputs are a list or a dict
(``Model(inputs, [a, b])``, ``Model(inputs, {"a": a, "b": b})``) trains as Keras 3's
``CompileLoss``/``CompileMetrics``. Its outputs are named as Keras's ``output_names``: the
name of the layer (or operator) that made each, made unique as tf.keras (``dense``,
``dense_1``), or for a dict of outputs its keys (``output_names`` in functional.py); their
order is ``nest.flatten``'s (a dict's keys sorted). ``loss``, ``loss_weights``, ``metrics``
and ``weighted_metrics`` take one value for every output, a list in output order, or a dict
by output name. An unknown name is an error; an output left out of a loss dict, or with a
``None`` loss, is not trained on; left out of ``loss_weights`` it weighs 1 (tf.keras 2;
Keras 3 wants every output in those dicts for a list of outputs). A flat ``metrics`` list
applies to every output (tf.keras 2; Keras 3 reads a list of as many entries as outputs as
one per output), a list of lists or a dict gives each output its own; a metric object cannot
serve two outputs (one running state), a name can. ``y`` is a list in output order or a dict
by output name (an output with no loss and no metrics may be left out or None);
``sample_weight`` is one array for every output, or a list or dict per output (an output
left out is unweighted); Datasets' ``(x, y, sample_weight)`` elements and
``validation_data`` take the same structures (tuples inside a Dataset, which reads a list as
one tensor). For a dict of outputs, lists are refused (``loss``, ``y``, ...): they would
follow the keys' sorted order, not the dict's. ``class_weight`` is refused, as Keras. The
steps get ``y`` and the weights as tuples in output order (None for an output without them),
so they trace once per batch shape too. The loss is ``sum(loss_weight_i * loss_i) +
sum(model.losses)``, each ``loss_i`` weighted and reduced as for one output. The logs follow
Keras 3 in names and order: ``loss`` (that total); the metrics as ``{output}_{metric}`` (one
output: the metric's own name; a repeat gets ``_1``; a weighted metric whose name is taken,
``{output}_weighted_{metric}``); then ``{output}_loss``, each output's loss before its loss
weight, when two or more outputs have a loss. ``evaluate``'s list is ``loss``, the
``{output}_loss`` values, then the rest sorted by name (Keras 3's
``_flatten_metrics_in_order``); ``predict`` returns a list (or dict) of arrays. Subclassed
and loaded models returning several tensors are not covered (their outputs have no names
here, and compile treats them as one output).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from autojit import nest
from autojit.errors import InvalidArgumentError
from autojit.layers import batching
from autojit.layers.batching import predict_in_batches
from autojit.layers.callbacks import History

# The attribute ``save`` writes the model called with training=True as (Note [Loaded Keras
# models] in loaded.py)
TRAINING_CALL = "keras_training_call"


class _Compiled:
    """What ``compile`` chose (kept out of the Module walk: a plain object)."""

    def __init__(self, optimizer: Any, loss: Callable, loss_name: str, loss_weight: float,
                 metrics: list, weighted: list, run_eagerly: bool):
        self.optimizer, self.loss, self.loss_name = optimizer, loss, loss_name
        self.loss_weight, self.run_eagerly = loss_weight, run_eagerly
        self.metrics = metrics  # never weighted, as Keras's compile(metrics=...)
        self.weighted = weighted  # (log name, metric) pairs that get the sample weights
        self.train_step: Any = None
        self.test_step: Any = None

    def all_metrics(self) -> list:
        return [*self.metrics, *(metric for _, metric in self.weighted)]

    def update(self, y: Any, pred: Any, sample_weight: Any) -> None:
        for metric in self.metrics:
            metric.update_state(y, pred)
        for _, metric in self.weighted:
            metric.update_state(y, pred, sample_weight=sample_weight)

    def results(self) -> dict:
        values = {metric.name: float(metric.result()) for metric in self.metrics}
        values.update({name: float(metric.result()) for name, metric in self.weighted})
        return values

    # One output: y and sample_weight are used as given, and a step returns the loss alone.
    logged: list = []  # the outputs whose own loss is logged: none

    def prepare(self, x: Any, y: Any, sample_weight: Any, caller: str) -> tuple:
        return y, sample_weight

    def batches(self, batches: Any, x: Any, caller: str) -> Any:
        return batches

    def tensors(self, y: Any, sample_weight: Any) -> tuple:
        weights = None if sample_weight is None else batching.as_tensor(sample_weight)
        return batching.as_tensor(y), weights

    def loss_logs(self, means: list) -> dict:
        return {}

    def listed(self, values: dict) -> list:
        return list(values.values())


class _Outputs:
    """What ``compile`` chose for a functional model with several outputs: each output's
    loss, loss weight and metrics (Note [Multi-output training]), behind ``_Compiled``'s
    interface. ``y`` and ``sample_weight`` reach the steps as tuples in output order."""

    def __init__(self, optimizer: Any, names: list, keyed: bool, losses: list,
                 loss_weights: list, metrics: list, weighted: list, run_eagerly: bool):
        self.optimizer, self.run_eagerly = optimizer, run_eagerly
        self.names, self.keyed = names, keyed  # in nest.flatten order; keyed: dict outputs
        self.losses, self.loss_weights = losses, loss_weights  # per output (a loss or None)
        self.metrics = metrics  # (log name, metric, output index): never weighted
        self.weighted = weighted  # (log name, metric, output index): get the sample weights
        self.trained = [i for i, loss in enumerate(losses) if loss is not None]
        # Keras 3 tracks each output's loss as "{name}_loss" when there are two or more
        self.logged = self.trained if len(self.trained) > 1 else []
        used = {*self.trained, *(i for _, _, i in metrics + weighted)}
        self.needed = [i in used for i in range(len(names))]
        self.train_step: Any = None
        self.test_step: Any = None

    def all_metrics(self) -> list:
        return [metric for _, metric, _ in self.metrics + self.weighted]

    def update(self, y: tuple, pred: Any, sample_weight: Any) -> None:
        flat = nest.flatten(pred)
        for _, metric, i in self.metrics:
            metric.update_state(y[i], flat[i])
        for _, metric, i in self.weighted:
            weights = None if sample_weight is None else sample_weight[i]
            metric.update_state(y[i], flat[i], sample_weight=weights)

    def results(self) -> dict:
        return {name: float(metric.result()) for name, metric, _ in self.metrics + self.weighted}

    def loss_logs(self, means: list) -> dict:
        return {f"{self.names[i]}_loss": value for i, value in zip(self.logged, means)}

    def listed(self, values: dict) -> list:
        """``evaluate``'s list, as Keras 3's ``_flatten_metrics_in_order``: the values named
        as in ``model.metrics_names`` (the loss, the metrics' own names, each output's
        loss) in that order, then the others sorted by name."""
        order = ["loss", *(metric.name for metric in self.all_metrics()),
                 *(f"{self.names[i]}_loss" for i in self.logged)]
        first = [name for name in dict.fromkeys(order) if name in values]
        return [values[name] for name in first + sorted(set(values) - set(first))]

    def prepare(self, x: Any, y: Any, sample_weight: Any, caller: str) -> tuple:
        """Arrays' ``y`` and ``sample_weight`` as tuples in output order (a Dataset's
        batches are prepared one by one, by ``batches``)."""
        if not batching.is_arrays(x):
            return y, sample_weight
        return self.targets(y, caller), self.sample_weights(sample_weight, caller)

    def batches(self, batches: Any, x: Any, caller: str) -> Any:
        if batching.is_arrays(x):
            return batches
        return ((xb, self.targets(yb, caller), self.sample_weights(wb, caller))
                for xb, yb, wb in batches)

    def tensors(self, y: tuple, sample_weight: Any) -> tuple:
        def convert(values: tuple) -> tuple:
            return tuple(None if v is None else batching.as_tensor(v) for v in values)

        return convert(y), None if sample_weight is None else convert(sample_weight)

    def targets(self, y: Any, caller: str) -> tuple:
        """``y`` (a list in output order, a dict by output name, or for one output its
        array) as a tuple in output order; an output with no loss and no metrics may be
        left out (None)."""
        count = len(self.names)
        if isinstance(y, dict):
            _known_keys(y, "y", self.names, caller)
            flat = [y.get(name) for name in self.names]
        elif isinstance(y, (list, tuple)) and not self.keyed and len(y) == count:
            flat = list(y)
        elif count == 1 and not isinstance(y, (list, tuple)):
            flat = [y]
        elif self.keyed:
            raise InvalidArgumentError(f"{caller}: the model's outputs are a dict "
                                       f"{self.names}, so y must be a dict keyed by output "
                                       f"name, got {_describe(y)}")
        else:
            outputs = "output" if count == 1 else "outputs"
            raise InvalidArgumentError(f"{caller}: the model has {count} {outputs} "
                                       f"{self.names}: expected y as a list of {count} targets "
                                       f"in that order or a dict keyed by output name, got "
                                       f"{_describe(y)}")
        for name, target, needed in zip(self.names, flat, self.needed):
            if needed and target is None:
                raise InvalidArgumentError(f"{caller}: y has no targets for output {name!r}, "
                                           f"which has a loss or metrics; pass its targets, or "
                                           f"compile it with a None loss and no metrics")
        return tuple(t if needed else None for t, needed in zip(flat, self.needed))

    def sample_weights(self, sample_weight: Any, caller: str) -> tuple | None:
        """``sample_weight`` (one array for every output, a list in output order or a dict
        by output name; None or left out: unweighted) as a tuple in output order, or None."""
        if sample_weight is None:
            return None
        count = len(self.names)
        if isinstance(sample_weight, dict):
            _known_keys(sample_weight, "sample_weight", self.names, caller)
            flat = [sample_weight.get(name) for name in self.names]
        elif isinstance(sample_weight, (list, tuple)):
            if self.keyed or len(sample_weight) != count:
                raise InvalidArgumentError(
                    f"{caller}: expected sample_weight as one array for every output, or a "
                    f"list of {count} (one per output {self.names}) or a dict keyed by output "
                    f"name, got {_describe(sample_weight)}"
                    + (" (the outputs are a dict: key the weights by name)" if self.keyed
                       else ""))
            flat = list(sample_weight)
        else:
            flat = [sample_weight] * count  # one array weighs every output, as Keras
        flat = [w if needed else None for w, needed in zip(flat, self.needed)]
        return None if all(w is None for w in flat) else tuple(flat)


# compile's, fit's and evaluate's Keras arguments that cannot change the results here: accepted
# and ignored (steps run one at a time, and the step is always traced unless run_eagerly)
_HARMLESS = {"compile": ("auto_scale_loss", "pss_evaluation_shards"),
             "fit": ("workers", "use_multiprocessing", "max_queue_size"),
             "evaluate": ("workers", "use_multiprocessing", "max_queue_size")}


class Training:
    """``compile``, ``fit``, ``evaluate`` and ``predict`` (Note [Keras training]) for a Module
    whose ``__call__(x, training=...)`` is the model.

    Usage: ``model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"]);
    model.fit(x, y, epochs=5, batch_size=32)``
    """

    stop_training = False
    _typed_inputs = False  # True where the Inputs give save its types (functional models)

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: Any = None, weighted_metrics: Any = None,
                run_eagerly: bool = False, steps_per_execution: int = 1,
                jit_compile: Any = "auto", **kwargs: Any) -> None:
        """Choose the optimizer, loss and metrics ``fit`` and ``evaluate`` use (tf.keras's
        argument order). ``loss_weights`` (a number, one output) scales the loss, not the
        regularizers' penalties; ``weighted_metrics`` get ``sample_weight``, ``metrics``
        never do (as Keras). For a functional model with a list or dict of outputs, each
        argument is one value for every output, a list in output order or a dict by output
        name (Note [Multi-output training]). ``steps_per_execution``, ``jit_compile``,
        ``auto_scale_loss`` and ``pss_evaluation_shards`` change no result here and are
        ignored.

        Usage: ``model.compile(optimizer="adam", loss="mse", metrics=["mae"])``;
        ``model.compile("adam", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
        loss_weights={"kind": 0.5})``
        """
        from autojit import losses as losses_module
        from autojit import optimizers

        _refuse_unknown("compile", kwargs)
        if isinstance(optimizer, str):
            table = {"sgd": optimizers.SGD, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
                     "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad}
            if optimizer.lower() not in table:
                raise InvalidArgumentError(f"compile: unknown optimizer {optimizer!r}; expected "
                                           f"one of {sorted(table)} or an optimizer object")
            optimizer = table[optimizer.lower()]()
        if loss is None:
            raise InvalidArgumentError("compile: a loss is required, e.g. loss='mse' or "
                                       "loss=aj.keras.losses.SparseCategoricalCrossentropy()")
        outputs = vars(self).get("_graph_outputs")  # a functional model's outputs
        if outputs is not None and _per_output(outputs, loss, loss_weights, metrics,
                                               weighted_metrics):
            object.__setattr__(self, "_compiled", _compile_outputs(
                optimizer, outputs, loss, loss_weights, metrics, weighted_metrics,
                bool(run_eagerly)))
            return
        loss_fn, loss_name = _loss(losses_module, loss)
        metric_list = [_metric(m, loss_name) for m in (metrics or [])]
        names = {m.name for m in metric_list}
        weighted = []
        for m in weighted_metrics or []:
            metric = _weighted_metric(_metric(m, loss_name))
            name = f"weighted_{metric.name}" if metric.name in names else metric.name
            names.add(name)  # Keras's names: "weighted_" only where a metric has the name
            weighted.append((name, metric))
        object.__setattr__(self, "_compiled", _Compiled(
            optimizer, loss_fn, loss_name, _loss_weight(loss_weights), metric_list, weighted,
            bool(run_eagerly)))

    @property
    def optimizer(self) -> Any:
        """The compiled optimizer (settable, as Keras's). Usage: ``model.optimizer.learning_rate``
        """
        return self._require("optimizer").optimizer

    @optimizer.setter
    def optimizer(self, value: Any) -> None:
        compiled = self._require("setting the optimizer")
        compiled.optimizer = value
        compiled.train_step = compiled.test_step = None  # traced for the old one: trace again

    @property
    def metrics(self) -> list:
        """The compiled metrics, then the weighted ones (not the model's Variables).

        Usage: ``model.metrics``
        """
        return self._require("metrics").all_metrics()

    def _require(self, what: str) -> _Compiled:
        compiled = vars(self).get("_compiled")
        if compiled is None:
            raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: call "
                                       f"model.compile(optimizer, loss, metrics) before {what}")
        return compiled

    # --- steps ---------------------------------------------------------------------------
    def _steps(self) -> _Compiled | _Outputs:
        from autojit.function import function

        compiled = self._require("fit/evaluate")
        if compiled.train_step is not None:
            return compiled
        if isinstance(compiled, _Outputs):
            train_step, test_step = self._output_steps(compiled)
        else:
            train_step, test_step = self._one_output_steps(compiled)
        if compiled.run_eagerly:
            compiled.train_step, compiled.test_step = train_step, test_step
        else:
            compiled.train_step = function(train_step, reduce_retracing=True)
            compiled.test_step = function(test_step, reduce_retracing=True)
        return compiled

    def _one_output_steps(self, compiled: _Compiled) -> tuple:
        from autojit.autodiff import GradientTape

        def train_step(x: Any, y: Any, sample_weight: Any) -> Any:
            with GradientTape() as tape:
                pred = self(x, training=True)
                loss = self._loss_of(compiled, y, pred, sample_weight)
            variables = self.trainable_variables
            compiled.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            compiled.update(y, pred, sample_weight)
            return loss

        def test_step(x: Any, y: Any, sample_weight: Any) -> Any:
            pred = self(x, training=False)
            compiled.update(y, pred, sample_weight)
            return self._loss_of(compiled, y, pred, sample_weight)

        return train_step, test_step

    def _output_steps(self, compiled: _Outputs) -> tuple:
        """The steps of a model with several outputs (Note [Multi-output training]): ``y``
        and ``sample_weight`` are tuples in output order, and a step returns the total loss,
        then the logged outputs' own losses."""
        from autojit.autodiff import GradientTape

        def train_step(x: Any, y: tuple, sample_weight: Any) -> tuple:
            with GradientTape() as tape:
                pred = self(x, training=True)
                losses = self._output_losses(compiled, y, pred, sample_weight)
            variables = self.trainable_variables
            grads = tape.gradient(losses[0], variables)
            compiled.optimizer.apply_gradients(zip(grads, variables))
            compiled.update(y, pred, sample_weight)
            return losses

        def test_step(x: Any, y: tuple, sample_weight: Any) -> tuple:
            pred = self(x, training=False)
            compiled.update(y, pred, sample_weight)
            return self._output_losses(compiled, y, pred, sample_weight)

        return train_step, test_step

    def _loss_of(self, compiled: _Compiled, y: Any, pred: Any, sample_weight: Any) -> Any:
        """Keras 3's ``compute_loss``, the same in training and in ``evaluate``: the weighted
        compiled loss, times ``loss_weights``, plus the regularizers' penalties."""
        from autojit.ops.array import add_n

        if isinstance(pred, (list, tuple, dict)) and len(nest.flatten(pred)) > 1:
            raise InvalidArgumentError(
                f"{type(self).__name__} {self.name!r} returned {len(nest.flatten(pred))} "
                f"outputs (a {type(pred).__name__}), but compile gave one loss, which would "
                f"compare y with all of them stacked; build it as a functional model "
                f"(aj.keras.Model(inputs, [out1, out2])) and give a loss per output "
                f"(Note [Multi-output training]), or return one tensor")
        loss = compiled.loss(y, pred, sample_weight=sample_weight)
        if compiled.loss_weight != 1.0:
            loss = loss * compiled.loss_weight
        penalties = self.losses  # the regularizers' (aj.keras.regularizers)
        if penalties:
            loss = loss + add_n(penalties)
        return loss

    def _output_losses(self, compiled: _Outputs, y: tuple, pred: Any,
                       sample_weight: Any) -> tuple:
        """Keras 3's ``CompileLoss`` and ``compute_loss`` for several outputs: the total
        ``sum(loss_weight_i * loss_i) + sum(model.losses)``, then each logged output's
        ``loss_i`` (weighted by its sample weights, not by its loss weight, as Keras 3)."""
        from autojit.ops.array import add_n

        flat = nest.flatten(pred)
        parts, terms = [], []
        for i in compiled.trained:
            weights = None if sample_weight is None else sample_weight[i]
            value = compiled.losses[i](y[i], flat[i], sample_weight=weights)
            parts.append(value)
            scale = compiled.loss_weights[i]
            terms.append(value if scale == 1.0 else value * scale)
        terms.extend(self.losses)  # the regularizers' penalties, once
        total = terms[0] if len(terms) == 1 else add_n(terms)
        return (total, *(parts if compiled.logged else ()))

    # --- fit, evaluate, predict ----------------------------------------------------------
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: list | None = None,
            validation_split: float = 0.0, validation_data: Any = None, shuffle: bool = True,
            class_weight: dict | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1, **kwargs: Any) -> History:
        """Train for ``epochs`` passes over the data (Note [Keras training]).

        ``sample_weight``: one weight per example of ``x`` (several outputs: for all, or a
        list or dict per output, as ``y``); ``class_weight``: ``{class: weight}`` for the
        labels ``y`` (one output only); ``validation_data``: ``(x, y)``, ``(x, y,
        sample_weight)`` or a Dataset, evaluated in batches of ``validation_batch_size``
        (``batch_size``) after every ``validation_freq``-th epoch (an int, or a list of
        1-based epochs). ``steps_per_epoch`` and ``validation_steps`` are not implemented and
        raise unless None; ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are
        accepted and ignored.

        Usage: ``history = model.fit(x_train, y_train, epochs=5, validation_split=0.1)``
        """
        _refuse_unknown("fit", kwargs)
        _refuse_steps("fit", "steps_per_epoch", steps_per_epoch,
                      "an epoch is one pass over all of x; pass x as a Dataset of the batches "
                      "of one epoch instead")
        _refuse_steps("fit", "validation_steps", validation_steps,
                      "validation runs over all of validation_data; pass it as a Dataset of "
                      "the batches to validate on instead")
        compiled = self._steps()
        if not 0 <= validation_split < 1:
            raise InvalidArgumentError(f"fit: validation_split must be in [0, 1), got "
                                       f"{validation_split!r}")
        _check_validation_freq(validation_freq)
        class_weight = batching.check_class_weight(class_weight)
        if class_weight is not None and isinstance(compiled, _Outputs):
            raise InvalidArgumentError(f"fit: class_weight is only supported for a model with "
                                       f"one output, not a list or dict of them (as Keras); "
                                       f"this one's outputs are {compiled.names}. Pass "
                                       f"per-output sample_weight instead")
        if validation_split and validation_data is None:
            x, y, sample_weight, validation_data = batching.split(x, y, sample_weight,
                                                                  validation_split)
        y, sample_weight = compiled.prepare(x, y, sample_weight, "fit")
        validation = None if validation_data is None else batching.unpack(validation_data)
        history = History()
        hooks = [history, *(callbacks or [])]
        for hook in hooks:
            hook.model = self
        object.__setattr__(self, "stop_training", False)
        for hook in hooks:
            hook.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for hook in hooks:
                hook.on_epoch_begin(epoch)
            for metric in compiled.all_metrics():
                metric.reset_state()
            batches = compiled.batches(batching.batches(x, y, batch_size, shuffle, epoch,
                                                        sample_weight, "fit"), x, "fit")
            means = self._mean_losses(compiled, compiled.train_step,
                                      batching.class_weighted(batches, class_weight))
            logs = {"loss": means[0]}
            logs.update(compiled.results())
            logs.update(compiled.loss_logs(means[1:]))  # Keras 3's order: after the metrics
            if validation is not None and _validates(epoch, validation_freq):
                vx, vy, vw = validation
                values = self.evaluate(vx, vy, sample_weight=vw, verbose=0, return_dict=True,
                                       batch_size=validation_batch_size or batch_size)
                logs.update({f"val_{k}": v for k, v in values.items()})
            if verbose not in (0, False):
                print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(
                    f"{k}: {v:.4f}" for k, v in logs.items()))
            for hook in hooks:
                hook.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for hook in hooks:
            hook.on_train_end()
        return history

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: list | None = None, return_dict: bool = False,
                 **kwargs: Any) -> Any:
        """The compiled loss (and metrics) over the data: a float, or ``[loss, *metrics]``
        when there are metrics, or a dict with ``return_dict=True``. ``sample_weight``
        weights the loss and the ``weighted_metrics`` as in ``fit``; ``steps`` and
        ``callbacks`` are not implemented and raise unless None.

        Usage: ``loss, accuracy = model.evaluate(x_test, y_test)``
        """
        _refuse_unknown("evaluate", kwargs)
        _refuse_steps("evaluate", "steps", steps, "evaluate runs over all of x; pass x as a "
                      "Dataset of the batches to evaluate instead")
        if callbacks:
            raise InvalidArgumentError(f"evaluate: callbacks are not implemented (a Callback "
                                       f"has no on_test_* hooks here); got {callbacks!r}. "
                                       f"Leave them out")
        compiled = self._steps()
        y, sample_weight = compiled.prepare(x, y, sample_weight, "evaluate")
        for metric in compiled.all_metrics():
            metric.reset_state()
        batches = compiled.batches(batching.batches(x, y, batch_size, False, 0, sample_weight,
                                                    "evaluate"), x, "evaluate")
        means = self._mean_losses(compiled, compiled.test_step, batches)
        values = {"loss": means[0]}
        values.update(compiled.results())
        values.update(compiled.loss_logs(means[1:]))
        if verbose not in (0, False, "auto"):
            print(" - ".join(f"{k}: {v:.4f}" for k, v in values.items()))
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else compiled.listed(values)

    def save(self, filepath: Any, overwrite: bool = True, **unused: Any) -> str:
        """Save as an ``aj.saved_model`` whose ``serving_default`` (also the loaded object's
        call) is ``self(x, training=False)`` traced for the input shape ``fit``, ``evaluate``
        or ``predict`` last saw, with the batch dim unknown; ``self(x, training=True)`` is
        saved too, so the loaded model can be fitted again (Note [Loaded Keras models]).

        Usage: ``model.save("exported"); aj.keras.models.load_model("exported").predict(x)``
        """
        from autojit import saved_model
        from autojit.function import function

        spec = vars(self).get("_input_spec")
        if spec is None:
            raise InvalidArgumentError(f"{type(self).__name__} {self.name!r}: save needs the "
                                       "input shape: call fit, evaluate or predict first")
        serve = function(lambda x: self(x, training=False), input_signature=[spec])
        train = function(lambda x: self(x, training=True), input_signature=[spec])
        object.__setattr__(self, TRAINING_CALL, train)  # Note [Loaded Keras models]
        try:
            return saved_model.save(self, filepath, signatures={"serving_default": serve})
        finally:
            vars(self).pop(TRAINING_CALL, None)

    def _seen(self, x: Any) -> Any:
        """``x`` as tensors, its type remembered for ``save`` (a functional model keeps its
        Inputs' types)."""
        from autojit.ops.core import TensorSpec

        x = nest.map_structure(batching.as_tensor, x)
        if not self._typed_inputs:
            object.__setattr__(self, "_input_spec", nest.map_structure(
                lambda t: TensorSpec([None, *t.shape[1:]], t.dtype), x))
        return x

    def _mean_losses(self, compiled: Any, step: Callable, batches: Any) -> list:
        """The means of ``step(x, y, sample_weight)``'s losses (the loss; with several outputs,
        the total and then each logged output's) over the batches, weighted by their sizes
        (as Keras's loss trackers); each batch's losses stay on the device and each mean is
        read once (not a host read per batch)."""
        from autojit.ops.array import add_n

        weighted, count = [], 0
        for xb, yb, wb in batches:
            n = batching.count(xb)
            losses = step(self._seen(xb), *compiled.tensors(yb, wb))
            losses = losses if isinstance(losses, (tuple, list)) else (losses,)
            weighted.append([loss * float(n) for loss in losses])
            count += n
        if not weighted:
            return [0.0] * (1 + len(compiled.logged))
        return [float(add_n(list(column))) / count for column in zip(*weighted)]

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                **unused: Any) -> np.ndarray:
        """``self(x, training=False)`` batch by batch, as one NumPy array (as Keras).

        Usage: ``probabilities = model.predict(x_test)``
        """
        return predict_in_batches(lambda xb: self(self._seen(xb), training=False), x,
                                  batch_size)


def _loss(losses_module: Any, loss: Any) -> tuple[Callable, str]:
    if isinstance(loss, str):
        table = {"sparse_categorical_crossentropy": losses_module.SparseCategoricalCrossentropy,
                 "categorical_crossentropy": losses_module.CategoricalCrossentropy,
                 "binary_crossentropy": losses_module.BinaryCrossentropy,
                 "mse": losses_module.MeanSquaredError,
                 "mean_squared_error": losses_module.MeanSquaredError,
                 "mae": losses_module.MeanAbsoluteError,
                 "mean_absolute_error": losses_module.MeanAbsoluteError,
                 "huber": losses_module.Huber}
        if loss not in table:
            raise InvalidArgumentError(f"compile: unknown loss {loss!r}; expected one of "
                                       f"{sorted(table)}, a Loss object or a function")
        return table[loss](), loss
    if isinstance(loss, losses_module.Loss):
        return loss, getattr(loss, "name", type(loss).__name__)
    if callable(loss):  # per-sample losses, weighted and reduced as a Loss (as Keras's)
        name = getattr(loss, "__name__", "loss")
        return losses_module.LossFunctionWrapper(loss, name=name), name
    raise InvalidArgumentError(f"compile: expected loss as a name, a Loss or a function, got "
                               f"{loss!r}")


def _metric(metric: Any, loss_name: str) -> Any:
    from autojit import metrics as metrics_module

    if not isinstance(metric, str):
        if not isinstance(metric, metrics_module.Metric):
            raise InvalidArgumentError(f"compile: expected metrics as names or aj.keras.metrics "
                                       f"objects, got {metric!r}")
        return metric
    if metric in ("accuracy", "acc"):  # Keras picks the accuracy that fits the loss
        kind = {"sparse_categorical_crossentropy": metrics_module.SparseCategoricalAccuracy,
                "categorical_crossentropy": metrics_module.CategoricalAccuracy,
                "binary_crossentropy": metrics_module.BinaryAccuracy}.get(
                    _snake(loss_name), metrics_module.Accuracy)
        return kind(name="accuracy")
    if metric.lower() == "auc":
        return metrics_module.AUC(name="auc")
    table = {"mae": ("mean_absolute_error", "mae"), "mse": ("mean_squared_error", "mse"),
             "mean_absolute_error": ("mean_absolute_error", "mean_absolute_error"),
             "mean_squared_error": ("mean_squared_error", "mean_squared_error")}
    if metric in table:
        from autojit import losses as losses_module

        fn, name = table[metric]
        return metrics_module.MeanMetricWrapper(getattr(losses_module, fn), name=name)
    raise InvalidArgumentError(f"compile: unknown metric {metric!r}; expected 'accuracy', "
                               f"'auc', 'mae', 'mse' or an aj.keras.metrics object")


def _weighted_metric(metric: Any) -> Any:
    """``metric`` for ``weighted_metrics``: its ``update_state`` must take ``sample_weight``."""
    params = inspect.signature(metric.update_state).parameters.values()
    if not any(p.name == "sample_weight" or p.kind is p.VAR_KEYWORD for p in params):
        raise InvalidArgumentError(f"compile: weighted_metrics need metrics whose update_state "
                                   f"takes sample_weight; {type(metric).__name__} "
                                   f"{metric.name!r}'s does not. Pass it in metrics instead")
    return metric


def _loss_weight(loss_weights: Any) -> float:
    """compile's ``loss_weights`` for the one output the compiled loss has, as a float."""
    value = loss_weights
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InvalidArgumentError(f"compile: expected loss_weights as a number or a list of "
                                   f"one number (one output), got {loss_weights!r}")
    return float(value)


def _per_output(outputs: Any, loss: Any, loss_weights: Any, metrics: Any,
                weighted_metrics: Any) -> bool:
    """True where a functional model trains as Note [Multi-output training]: its outputs are
    a list or dict, or compile's arguments are given per output (by name)."""
    return (isinstance(outputs, (list, tuple, dict)) or isinstance(loss, (list, tuple, dict))
            or any(isinstance(v, dict) for v in (loss_weights, metrics, weighted_metrics)))


def _compile_outputs(optimizer: Any, outputs: Any, loss: Any, loss_weights: Any,
                     metrics: Any, weighted_metrics: Any, run_eagerly: bool) -> _Outputs:
    """compile's choices for each output of a functional model (Note [Multi-output
    training])."""
    from autojit import losses as losses_module
    from autojit.layers import functional

    items = outputs.values() if isinstance(outputs, dict) else \
        outputs if isinstance(outputs, (list, tuple)) else []
    if any(isinstance(item, (list, tuple, dict)) for item in items):
        raise InvalidArgumentError("compile: training a model with several outputs needs them "
                                   "as a list or a dict of tensors, not nested ones; flatten "
                                   "the model's outputs")
    names = functional.output_names(outputs)
    keyed = isinstance(outputs, dict)
    chosen = [None if spec is None else _loss(losses_module, spec)
              for spec in _spread("loss", loss, names, keyed)]
    if all(c is None for c in chosen):
        raise InvalidArgumentError(f"compile: every output's loss is None; give at least one "
                                   f"of the outputs {names} a loss")
    loss_names = ["" if c is None else c[1] for c in chosen]
    plain = [[_metric(m, loss_names[i]) for m in specs]
             for i, specs in enumerate(_output_metrics("metrics", metrics, names, keyed))]
    weighted = [[_weighted_metric(_metric(m, loss_names[i])) for m in specs]
                for i, specs in enumerate(_output_metrics("weighted_metrics",
                                                          weighted_metrics, names, keyed))]
    seen: set = set()
    for metric in (m for specs in plain + weighted for m in specs):
        if id(metric) in seen:
            raise InvalidArgumentError(
                f"compile: the metric {metric.name!r} ({type(metric).__name__}) is given more "
                f"than once (a flat metrics list applies to every output); a metric object "
                f"keeps one running state, so give each output its own, or pass a name such "
                f"as 'mae', which makes one per output")
        seen.add(id(metric))
    named, named_weighted = _output_metric_names(plain, weighted, names)
    return _Outputs(optimizer, names, keyed, [None if c is None else c[0] for c in chosen],
                    _output_loss_weights(loss_weights, names, keyed), named, named_weighted,
                    run_eagerly)


def _spread(arg: str, value: Any, names: list, keyed: bool) -> list:
    """compile's ``arg`` as one value per output: from a dict by output name (an output left
    out: None), a list in output order, or one value for every output."""
    if isinstance(value, dict):
        _known_keys(value, arg, names, "compile")
        return [value.get(name) for name in names]
    if not isinstance(value, (list, tuple)):
        return [value] * len(names)
    if keyed:  # a list would silently follow the keys' sorted order, not the dict's
        raise InvalidArgumentError(f"compile: the model's outputs are a dict {names}, so {arg} "
                                   f"must be a dict keyed by output name or one value for "
                                   f"every output, not a list")
    if len(value) != len(names):
        raise InvalidArgumentError(f"compile: expected {arg} as one value for every output, a "
                                   f"list of {len(names)} (one per output {names}) or a dict "
                                   f"keyed by output name, got {_describe(value)}")
    return list(value)


def _known_keys(mapping: dict, arg: str, names: list, caller: str) -> None:
    for key in mapping:
        if key not in names:
            raise InvalidArgumentError(f"{caller}: {arg} has key {key!r}, which is not one of "
                                       f"the model's outputs {names} (the names of the layers "
                                       f"that make them, or the keys of a dict of outputs)")


def _output_loss_weights(loss_weights: Any, names: list, keyed: bool) -> list:
    """``loss_weights`` per output: a number for all, a list or a dict (an output left out
    weighs 1, as tf.keras)."""
    spread = [None] * len(names) if loss_weights is None else \
        _spread("loss_weights", loss_weights, names, keyed)
    weights = []
    for name, value in zip(names, spread):
        value = 1.0 if value is None else value
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidArgumentError(f"compile: expected loss_weights' entries to be numbers, "
                                       f"got {value!r} for output {name!r}")
        weights.append(float(value))
    return weights


def _output_metrics(arg: str, metrics: Any, names: list, keyed: bool) -> list:
    """``metrics`` (or ``weighted_metrics``) as a list of metric specs per output: a flat
    list applies to every output (tf.keras), a list of lists or a dict gives each its own."""
    if not metrics:
        return [[] for _ in names]
    if isinstance(metrics, (list, tuple)) and not any(isinstance(m, (list, tuple))
                                                      for m in metrics):
        per_output = [list(metrics)] * len(names)
    else:
        per_output = _spread(arg, metrics, names, keyed)
    return [[m for m in (specs if isinstance(specs, (list, tuple)) else [specs])
             if m is not None] for specs in per_output]


def _output_metric_names(plain: list, weighted: list, names: list) -> tuple:
    """Keras 3's ``CompileMetrics.result`` names: ``{output}_{metric}`` (the metric's own name
    for one output), ``_1``, ``_2`` for repeats, and a weighted metric whose name is taken
    ``{output}_weighted_{metric}``. Two lists of (log name, metric, output index)."""
    def full(i: int, name: str) -> str:
        return f"{names[i]}_{name}" if len(names) > 1 else name

    counters: dict = {}

    def numbered(name: str) -> str:
        if name not in counters:
            counters[name] = 1
            return name
        counters[name] += 1
        return f"{name}_{counters[name] - 1}"

    named = [(numbered(full(i, m.name)), m, i) for i, specs in enumerate(plain) for m in specs]
    named_weighted = []
    for i, specs in enumerate(weighted):
        for metric in specs:
            name = full(i, metric.name)
            if name in counters:
                name = numbered(full(i, f"weighted_{metric.name}"))
            else:
                counters[name] = 1
            named_weighted.append((name, metric, i))
    return named, named_weighted


def _describe(value: Any) -> str:
    """What an error says was given: ``a list of 3``, ``an array of shape (10, 1)``, ..."""
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if hasattr(value, "shape"):
        return f"a tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r:.40}"


def _refuse_unknown(caller: str, kwargs: dict) -> None:
    """Raise for keyword arguments that are neither ``caller``'s nor harmless (_HARMLESS):
    ignored, they would silently change what the user asked for."""
    unknown = sorted(set(kwargs) - set(_HARMLESS[caller]))
    if unknown:
        taken = [name for name in inspect.signature(getattr(Training, caller)).parameters
                 if name not in ("self", "kwargs")]
        raise InvalidArgumentError(f"{caller}: unexpected argument {unknown[0]!r}; expected "
                                   f"one of {', '.join(taken + list(_HARMLESS[caller]))} (the "
                                   f"last {len(_HARMLESS[caller])} accepted and ignored)")


def _refuse_steps(caller: str, name: str, value: Any, why: str) -> None:
    if value is not None:
        raise InvalidArgumentError(f"{caller}: {name} is not implemented ({why}); got "
                                   f"{name}={value!r}")


def _check_validation_freq(freq: Any) -> None:
    ok_int = isinstance(freq, int) and not isinstance(freq, bool) and freq >= 1
    if not ok_int and not isinstance(freq, (list, tuple)):
        raise InvalidArgumentError(f"fit: expected validation_freq as an int >= 1 or a list of "
                                   f"epochs, got {freq!r}")


def _validates(epoch: int, freq: Any) -> bool:
    """Keras's ``_should_eval``: every ``freq``-th epoch, or the listed 1-based epochs."""
    return epoch + 1 in freq if isinstance(freq, (list, tuple)) else (epoch + 1) % freq == 0


def _snake(name: str) -> str:
    from autojit.module import camel_to_snake

    return camel_to_snake(name) if name[:1].isupper() else name


__all__ = ["TRAINING_CALL", "Training"]
