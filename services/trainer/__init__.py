"""The trainer service: style models: training jobs, checkpoints, versions, export."""
