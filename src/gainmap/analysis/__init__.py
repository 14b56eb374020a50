"""What is wrong with a file and what each viewer will do: checks, validator, classification, reports, inspect
(layer 3, above the model and the pixel code)."""
