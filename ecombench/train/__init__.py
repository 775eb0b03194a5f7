"""LoRA training: config, data mixtures, contamination check, the trainer, sweeps and merging."""
