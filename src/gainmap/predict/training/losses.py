"""The GMNet loss (reference ``Generation_base_model.py``): L1 on the normalised map plus 3x L1 on q * map."""

from __future__ import annotations

import torch
from torch.nn import functional as F

QGM_WEIGHT = 3.0


def gmnet_loss(ngm_pred: torch.Tensor, q_pred: torch.Tensor, ngm_gt: torch.Tensor, qgm_gt: torch.Tensor,
               qgm_weight: float = QGM_WEIGHT) -> tuple[torch.Tensor, dict[str, float]]:
    """``L1(ngm, ngm_gt) + 3 * L1(q * ngm, ngm_gt * Qmax / log2 P)``; q gets no loss of its own ("indirect Qmax").

    Returns the total and its parts (floats, for logging).
    """
    l_ngm = F.l1_loss(ngm_pred, ngm_gt)
    l_qgm = F.l1_loss(q_pred * ngm_pred, qgm_gt)
    total = l_ngm + qgm_weight * l_qgm
    return total, {"loss": float(total.detach()), "l_ngm": float(l_ngm.detach()), "l_qgm": float(l_qgm.detach())}


def gain_stops(ngm: torch.Tensor, q: torch.Tensor, log2_p: float) -> torch.Tensor:
    """Predicted log2 gain in stops, as inference computes it: clip(q, 0, 1) * clip(ngm, 0, 1) * log2 P."""
    return q.clamp(0, 1) * ngm.clamp(0, 1) * log2_p
