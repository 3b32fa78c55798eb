"""Maximum-likelihood learning: gradient = E_data[stats] - E_model[stats]."""
