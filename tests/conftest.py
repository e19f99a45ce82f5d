"""Shared by the whole suite: this folder on sys.path, so every test module, in any subfolder, can import
the torch reference helpers kept here (``torch_paths``, ``torch_mlp``)."""
