"""The file model: a gain-map JPEG as images, segments and gaps with absolute offsets (layer 2, above formats)."""
