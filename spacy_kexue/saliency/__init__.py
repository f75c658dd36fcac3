"""Token saliency (``kexue_saliency``): which words moved the sentiment LSTM toward its decision.

:mod:`.scores` holds the formula, :mod:`.extensions` the ``Doc``/``Span``/``Token`` attributes,
:mod:`.component` the pipeline component and :mod:`.render` the HTML picture. Importing this
package never imports torch.
"""

from .render import render_saliency

__all__ = ["render_saliency"]
