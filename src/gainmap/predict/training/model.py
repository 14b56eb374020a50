"""The GMNet architecture (Liao et al., ICLR 2025), written for clean ONNX export.

Two branches (see ``shared/notes/gmnet.md`` section 1):

* **global** ("GLE"): a fixed 256x256 thumbnail of the whole SDR image -> two stride-2 down blocks, residual
  blocks, then three squeeze heads: a per-channel 3x3 kernel ``w_ker`` (spatial modulation), a channel gate
  ``w_chn`` and the scalar ``q`` (the image's headroom as a fraction of ``log2 P``);
* **local** ("LCR"): the SDR at working resolution -> one stride-2 down block, three residual groups with the
  kernel-driven spatial mask after the first and the channel gate after the second, and a pixel-shuffle tail
  back to full resolution that paints the normalised gain map ``ngm``.

Export-minded choices, all exact rewrites of the reference: the per-sample depthwise 3x3 convolution is nine
shifted multiply-adds (no dynamic-weight Conv), and the adaptive 3x3 pooling of the 64x64 global feature map is
an average pool with kernel 22 and stride 21 (identical bins for a 256-px thumbnail).  Widths and depths are
configurable; :data:`CONFIGS` holds the reference ("full") and the reduced ones.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

THUMB = 256


@dataclass(frozen=True)
class GMNetConfig:
    """Widths and depths; ``full`` is the published network (1.92 M parameters)."""

    local_ch: int = 64
    global_ch: int = 64
    global_stem_ch: int = 16
    head_ch: int = 128
    n_global_res: int = 5
    n_local_res: tuple[int, int, int] = (5, 5, 5)

    def to_dict(self) -> dict:
        return asdict(self)


CONFIGS: dict[str, GMNetConfig] = {
    "full": GMNetConfig(),
    # Reduced for CPU training and a <= 2 s CPU prediction (see docs/model-card.md for the measurements).
    "cpu": GMNetConfig(local_ch=24, global_ch=32, global_stem_ch=16, head_ch=64, n_global_res=2,
                       n_local_res=(2, 2, 2)),
    "tiny": GMNetConfig(local_ch=8, global_ch=8, global_stem_ch=8, head_ch=16, n_global_res=1,
                        n_local_res=(1, 1, 1)),
}


def _conv(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=True)


class DownBlock(nn.Sequential):
    """Conv3 stride 2 + ReLU, then two Conv3 + ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(_conv(cin, cout, stride=2), nn.ReLU(), _conv(cout, cout), nn.ReLU(),
                         _conv(cout, cout), nn.ReLU())


class ResBlock(nn.Module):
    """x + Conv3(ReLU(Conv3(x))): no normalisation, no activation after the sum."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv1 = _conv(ch, ch)
        self.conv2 = _conv(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def _res_group(ch: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[ResBlock(ch) for _ in range(n)])


class SqueezeHead(nn.Module):
    """Pool, then 1x1 convs cin -> hidden -> cin -> cout with ReLUs between and no final activation."""

    def __init__(self, cin: int, hidden: int, cout: int, grid: int) -> None:
        super().__init__()
        self.grid = grid
        self.body = nn.Sequential(_conv(cin, hidden, 1), nn.ReLU(), _conv(hidden, cin, 1), nn.ReLU(),
                                  _conv(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.grid == 1:
            pooled = x.mean(dim=(2, 3), keepdim=True)
        else:  # adaptive 64 -> 3 bins [0,22), [21,43), [42,64) == avg pool k22 s21 on a 64x64 map
            pooled = F.avg_pool2d(x, kernel_size=22, stride=21)
        return self.body(pooled)


class GlobalBranch(nn.Module):
    def __init__(self, cfg: GMNetConfig) -> None:
        super().__init__()
        self.stem = nn.Sequential(DownBlock(3, cfg.global_stem_ch), DownBlock(cfg.global_stem_ch, cfg.global_ch))
        self.res = _res_group(cfg.global_ch, cfg.n_global_res)
        self.kernel_head = SqueezeHead(cfg.global_ch, cfg.head_ch, cfg.local_ch, grid=3)
        self.channel_head = SqueezeHead(cfg.global_ch, cfg.head_ch, cfg.local_ch, grid=1)
        self.q_head = SqueezeHead(cfg.global_ch, cfg.head_ch, 1, grid=1)

    def forward(self, thumb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        y = self.res(self.stem(thumb))
        return self.kernel_head(y), self.channel_head(y), self.q_head(y)


def depthwise3x3(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-channel 3x3 cross-correlation with zero padding, as nine shifted multiply-adds.

    ``x``: B x C x H x W; ``kernel``: B x C x 3 x 3.
    """
    h, w = x.shape[2], x.shape[3]
    xp = F.pad(x, (1, 1, 1, 1))
    out = xp[:, :, 0:h, 0:w] * kernel[:, :, 0:1, 0:1]
    for i in range(3):
        for j in range(3):
            if i == 0 and j == 0:
                continue
            out = out + xp[:, :, i:i + h, j:j + w] * kernel[:, :, i:i + 1, j:j + 1]
    return out


class LocalBranch(nn.Module):
    def __init__(self, cfg: GMNetConfig) -> None:
        super().__init__()
        c = cfg.local_ch
        self.stem = DownBlock(3, c)
        self.res1 = _res_group(c, cfg.n_local_res[0])
        self.mask = nn.Sequential(_conv(c, c), nn.ReLU(), _conv(c, 1))
        self.res2 = _res_group(c, cfg.n_local_res[1])
        self.res3 = _res_group(c, cfg.n_local_res[2])
        self.upconv = _conv(c, 4 * c)
        self.shuffle = nn.PixelShuffle(2)
        self.hr = _conv(c, c)
        self.last = _conv(c, 1)

    def forward(self, sdr: torch.Tensor, w_ker: torch.Tensor, w_chn: torch.Tensor) -> torch.Tensor:
        x = self.res1(self.stem(sdr))
        x = x * torch.sigmoid(self.mask(depthwise3x3(x, w_ker)))
        x = self.res2(x) * torch.sigmoid(w_chn)
        x = self.res3(x)
        x = F.relu(self.shuffle(self.upconv(x)))
        return self.last(F.relu(self.hr(x)))


class GMNet(nn.Module):
    """``forward(sdr, thumb) -> (ngm, q)``; inputs are sRGB-encoded values in [0, 1], RGB, NCHW.

    ``sdr`` must have even height and width (pad and crop outside); ``thumb`` is B x 3 x 256 x 256.
    ``ngm`` (B x 1 x H x W) is the gain map normalised by the image's own maximum; ``q`` (B x 1 x 1 x 1) is that
    maximum as a fraction of the dataset's ``log2 P``.  Neither is clamped: clamp in post-processing.
    """

    def __init__(self, cfg: GMNetConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or GMNetConfig()
        self.global_branch = GlobalBranch(self.cfg)
        self.local_branch = LocalBranch(self.cfg)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Kaiming-normal (fan_in) x 0.1, zero bias, on every conv (as the reference)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
                m.weight.data.mul_(0.1)
                nn.init.zeros_(m.bias)

    def forward(self, sdr: torch.Tensor, thumb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        w_ker, w_chn, q = self.global_branch(thumb)
        return self.local_branch(sdr, w_ker, w_chn), q


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
