"""Makes assets/tiny_cnn.pt: a small TorchScript CNN (seeded weights) for the tch integration's
example bench and tests, and assets/tiny_cnn_expected.json: its output for a fixed input, which
the Rust tests compare libtorch's forward against.

Needs a full PyTorch 2.13.0 install (`pip install torch==2.13.0`); run from the repository root:
    python scripts/make_torch_model.py
"""

import json

import torch
from torch import nn


class TinyCnn(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def fixed_input(batch: int) -> torch.Tensor:
    """The input the Rust test rebuilds: evenly spaced values in [-1, 1]."""
    count = batch * 3 * 32 * 32
    return torch.linspace(-1.0, 1.0, count).reshape(batch, 3, 32, 32)


def main() -> None:
    torch.manual_seed(1234)
    model = TinyCnn().eval()
    scripted = torch.jit.script(model)
    scripted.save("assets/tiny_cnn.pt")
    with torch.no_grad():
        output = scripted(fixed_input(2))
    with open("assets/tiny_cnn_expected.json", "w") as f:
        json.dump(
            {
                "input": "linspace(-1, 1, 2*3*32*32) reshaped to [2, 3, 32, 32]",
                "shape": list(output.shape),
                "output": [round(v, 6) for v in output.flatten().tolist()],
                "torch": torch.__version__,
            },
            f,
            indent=1,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
