"""Trainers: one conditional generative model (a :class:`~trainers.base.FactorModel`) per plan task.

Backends are looked up by name with :func:`get_backend`: ``tabular`` (exact empirical sampler for discrete
data), ``mlp-diffusion`` (vectors and discrete targets) and ``unet-diffusion`` (images).
"""

from trainers.base import FactorModel, backend_names, get_backend, load_factor, register_backend

__all__ = ["FactorModel", "backend_names", "get_backend", "load_factor", "register_backend"]
