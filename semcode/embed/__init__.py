"""The model: which one, where its files are, how it counts tokens, and text into vectors.

Owns the model tiers (the packaged all-MiniLM-L6-v2, ``static`` and ``code``, made from it once
per machine), the token counter the chunker budgets with, the encoder backends (PyTorch, ONNX
Runtime, OpenVINO) and the embedder with its batching. Knows nothing of repositories, stores or
searches: it is handed text and gives vectors.

May import: the root modules only (config, errors, imports, progress, identifiers…).
The layers contract in pyproject.toml keeps this true (`make lint`).
"""
