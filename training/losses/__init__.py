"""The SFT losses' weighting: MAE's masked erroneous steps and PKT's key-token weights."""
