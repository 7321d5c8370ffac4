"""Fixed-capacity training-sample memory of the online learners (ATOM/DiMP/LWL style).

Why it looks the way it does:

- **Bounded.** Storage for ``capacity`` samples is allocated once, at :meth:`initialize`,
  and samples are written into slots in place. A 10,000-frame sequence therefore uses
  exactly the memory of the first ``capacity`` frames, on CPU and GPU alike.
- **Initial samples kept.** The first frame is the only one whose label is certain, so
  its samples (possibly several augmented views) occupy the first slots and are never
  replaced.
- **Recency weighting.** Each insertion scales the existing weights by ``1 - lr`` and gives
  the new sample weight ``lr``; weights are then normalised to sum to one. This is an
  exponential forgetting factor, and the learners weight their loss by these weights.
- **Replacement.** When full, the non-initial sample with the lowest weight is overwritten
  (``"lowest_weight"``, pytracking's rule; it differs from the oldest one when some samples
  were inserted with a different learning rate, e.g. hard negatives), or the oldest one
  (``"oldest"``).
- **No host synchronisation.** The slot to overwrite is found with ``argmin`` on the
  device and used as a tensor index; nothing is read back to Python per insertion.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

_REPLACE_RULES = ("lowest_weight", "oldest")


def _as_named(samples, what: str) -> dict[str, torch.Tensor]:
    if isinstance(samples, torch.Tensor):
        return {"x": samples}
    if isinstance(samples, Mapping) and samples and all(isinstance(v, torch.Tensor) for v in samples.values()):
        return dict(samples)
    raise ValueError(f"{what} must be a tensor or a non-empty mapping of name -> tensor, got {type(samples)}")


class SampleMemory:
    """Weighted ring of training samples; each sample is one tensor or a dict of named tensors.

    Usage::

        memory = SampleMemory(capacity=250, learning_rate=0.01)
        memory.initialize({"x": feats0, "y": labels0})      # leading dim = initial samples
        memory.insert({"x": feat, "y": label})              # one sample, no leading dim
        x, y, w = memory["x"], memory["y"], memory.weights  # views of the stored part
    """

    def __init__(
        self,
        capacity: int,
        learning_rate: float,
        *,
        replace: str = "lowest_weight",
        min_initial_weight: float | None = None,
    ):
        if int(capacity) != capacity or capacity < 2:
            raise ValueError(f"capacity must be an integer >= 2, got {capacity!r}")
        if not 0.0 < learning_rate <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate!r}")
        if replace not in _REPLACE_RULES:
            raise ValueError(f"replace must be one of {_REPLACE_RULES}, got {replace!r}")
        if min_initial_weight is not None and not 0.0 <= min_initial_weight < 1.0:
            raise ValueError(f"min_initial_weight must be in [0, 1), got {min_initial_weight!r}")
        self.capacity = int(capacity)
        self.learning_rate = float(learning_rate)
        self.replace = replace
        self.min_initial_weight = min_initial_weight
        self._storage: dict[str, torch.Tensor] = {}
        self._weights: torch.Tensor | None = None
        self._insert_time: torch.Tensor | None = None
        self.num_stored = 0
        self.num_initial = 0
        self._clock = 0

    # ------------------------------------------------------------------ setup
    def initialize(self, samples, weights: torch.Tensor | None = None) -> None:
        """Allocate storage and store the initial samples (leading dimension = number of samples).

        ``weights`` default to equal shares; they are normalised to sum to one.
        """
        named = _as_named(samples, "initial samples")
        counts = {name: t.shape[0] if t.dim() else 0 for name, t in named.items()}
        num_init = next(iter(counts.values()))
        if num_init < 1 or any(c != num_init for c in counts.values()):
            raise ValueError(f"initial samples need one equal, non-zero leading size, got {counts}")
        if num_init >= self.capacity:
            raise ValueError(f"{num_init} initial samples leave no room in a memory of capacity {self.capacity}")
        first = next(iter(named.values()))
        self._storage = {name: t.new_zeros((self.capacity, *t.shape[1:])) for name, t in named.items()}
        for name, tensor in named.items():
            self._storage[name][:num_init] = tensor
        dtype = first.dtype if first.is_floating_point() else torch.float32
        self._weights = torch.zeros(self.capacity, dtype=dtype, device=first.device)
        if weights is None:
            self._weights[:num_init] = 1.0 / num_init
        else:
            weights = torch.as_tensor(weights, dtype=dtype, device=first.device)
            if weights.shape != (num_init,) or not bool(torch.all(weights >= 0)) or not bool(weights.sum() > 0):
                raise ValueError(f"initial weights must be {num_init} non-negative values, not all zero: {weights}")
            self._weights[:num_init] = weights / weights.sum()
        self._insert_time = torch.zeros(self.capacity, dtype=torch.long, device=first.device)
        self._insert_time[:num_init] = torch.arange(num_init, device=first.device)
        self.num_initial = num_init
        self.num_stored = num_init
        self._clock = num_init

    # ---------------------------------------------------------------- updates
    def _slot_to_fill(self) -> int | torch.Tensor:
        if self.num_stored < self.capacity:
            return self.num_stored
        key = self._weights if self.replace == "lowest_weight" else self._insert_time
        return torch.argmin(key[self.num_initial :]) + self.num_initial

    def insert(self, sample, learning_rate: float | None = None) -> int | torch.Tensor:
        """Store one sample (no leading dimension) and re-weight; returns the slot written."""
        if self._weights is None:
            raise ValueError("memory is not initialised: call initialize() with the first-frame samples first")
        named = _as_named(sample, "sample")
        if named.keys() != self._storage.keys():
            raise ValueError(f"sample names {sorted(named)} differ from the stored {sorted(self._storage)}")
        for name, tensor in named.items():
            if tensor.shape != self._storage[name].shape[1:]:
                raise ValueError(
                    f"sample {name!r} has shape {tuple(tensor.shape)}, "
                    f"memory holds {tuple(self._storage[name].shape[1:])}"
                )
        lr = self.learning_rate if learning_rate is None else float(learning_rate)
        if not 0.0 < lr <= 1.0:
            raise ValueError(f"learning_rate must be in (0, 1], got {learning_rate!r}")

        slot = self._slot_to_fill()
        if isinstance(slot, int):
            self.num_stored += 1
        for name, tensor in named.items():
            self._storage[name][slot] = tensor
        self._insert_time[slot] = self._clock
        self._clock += 1

        weights = self._weights[: self.num_stored]
        weights.mul_(1.0 - lr)
        weights[slot] = lr
        weights.div_(weights.sum())
        if self.min_initial_weight is not None:
            self._enforce_initial_share(weights)
        return slot

    def _enforce_initial_share(self, weights: torch.Tensor) -> None:
        """Keep the initial samples' total weight at least ``min_initial_weight`` (without syncing)."""
        initial = weights[: self.num_initial]
        rest = weights[self.num_initial :]
        initial_sum = initial.sum()
        rest_sum = rest.sum()
        too_low = initial_sum < self.min_initial_weight
        tiny = torch.finfo(weights.dtype).tiny
        initial_scale = torch.where(too_low, self.min_initial_weight / initial_sum.clamp(min=tiny), 1.0)
        rest_scale = torch.where(too_low, (1.0 - self.min_initial_weight) / rest_sum.clamp(min=tiny), 1.0)
        initial.mul_(initial_scale)
        rest.mul_(rest_scale)

    # ----------------------------------------------------------------- access
    def __getitem__(self, name: str) -> torch.Tensor:
        """View [num_stored, ...] of the stored tensors called ``name`` (``"x"`` for plain tensors)."""
        if name not in self._storage:
            raise KeyError(f"no samples called {name!r}; stored: {sorted(self._storage)}")
        return self._storage[name][: self.num_stored]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._storage)

    @property
    def weights(self) -> torch.Tensor:
        """View [num_stored] of the sample weights (sum to one)."""
        if self._weights is None:
            raise ValueError("memory is not initialised")
        return self._weights[: self.num_stored]

    def nbytes(self) -> int:
        """Total bytes of every tensor the memory owns (storage, weights, bookkeeping)."""
        owned = [*self._storage.values(), self._weights, self._insert_time]
        return sum(t.numel() * t.element_size() for t in owned if t is not None)
