"""Changes to files: repair, build, restore (layer 4, above analysis)."""
