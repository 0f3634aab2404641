"""The rule engine's pure core: rules as data (model), compiled to arrays (table), state
(state), numpy kernels for batches (kernels) and timers (timers), their per-reading
reference (reference), and the domain presets with the quantities they derive."""
