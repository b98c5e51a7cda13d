"""Datasets for the experiments: Napkin-MNIST (synthetic, exact ground truth) and CelebA (loader).

Import the modules directly; this package imports nothing so that ``import idgen`` stays light::

    from idgen.datasets import napkin_mnist, celeba
"""
