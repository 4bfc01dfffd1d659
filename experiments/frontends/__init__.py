"""Front ends that translate other tools' inputs into uesim scenarios (htsim)."""
