"""BN-VAE document vectors (``kexue_vae``): a text VAE whose KL does not vanish.

:mod:`.component` holds the pipeline component, :mod:`.model` the registered architecture,
:mod:`.posterior` the posterior variants (vanilla, BN as in the paper, BN as in kexue.fm),
:mod:`.nets` the PyTorch encoder/decoder and the LSTM language-model baseline, :mod:`.vocab` the
unit ids, :mod:`.metrics` the paper's measures (KL, active units, mutual information,
importance-weighted NLL) and :mod:`.evaluate` their evaluation on texts. Importing this package
never imports torch: the public names below load on first use.
"""

from ..lazy import lazy_exports

__all__ = ["KexueVAE", "evaluate_texts", "vae_similarity"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {"KexueVAE": ".component", "evaluate_texts": ".evaluate", "vae_similarity": ".component"},
)
