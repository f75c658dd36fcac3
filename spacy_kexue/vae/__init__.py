"""BN-VAE document vectors (``kexue_vae``): a text VAE whose KL does not vanish.

:mod:`.posterior` holds the posterior variants (vanilla, BN as in the paper, BN as in kexue.fm),
:mod:`.nets` the PyTorch encoder/decoder and the LSTM language-model baseline, :mod:`.metrics`
the paper's measures (KL, active units, mutual information, importance-weighted NLL). Importing
this package never imports torch.
"""
