"""After Effects export: AE-friendly sequences (`relayer`), camera conversion (`camera`) and the
generated `shot.jsx` (`script`) that drives the ExtendScript library in `ae_scripts/`."""
