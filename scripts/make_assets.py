#!/usr/bin/env python3
"""Generate the committed example assets for model-bench's image-classification pipeline.

Produces, under assets/ (relative to the repository root):

  mobilenet_v1_050.onnx   MobileNetV1-style network, width multiplier 0.5, seeded random weights
  images/*.jpg, *.png     four procedural test images (no downloads)
  expected_top5.json      onnxruntime top-5 class ids and first 5 logits per image (batch 1)
  README.md               description, regeneration command, pinned versions, results

Everything is deterministic: running the script twice gives byte-identical files.

Usage (from the repository root):

  python3 -m venv .venv-assets
  .venv-assets/bin/pip install onnx==1.23.2 numpy==2.4.6 pillow==13.0.0 onnxruntime==1.31.1
  .venv-assets/bin/python scripts/make_assets.py            # generate + verify + write README/JSON
  .venv-assets/bin/python scripts/make_assets.py --verify   # only verify the existing files
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

SEED = 20261125
OPSET = 13
# IR version 7 is the one that goes with opset 13 (onnx.helper.VERSION_TABLE); every
# consumer we care about (onnxruntime 1.31, tract-onnx 0.23) reads it.
IR_VERSION = 7

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
IMAGES = ASSETS / "images"
MODEL_PATH = ASSETS / "mobilenet_v1_050.onnx"
JSON_PATH = ASSETS / "expected_top5.json"
README_PATH = ASSETS / "README.md"

MAX_MODEL_BYTES = 5_000_000
MAX_IMAGE_BYTES = 150_000
NOISE_TRIALS = 20

NUM_CLASSES = 1000
INPUT_SIZE = 224
RESIZE_SHORTER = 256
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

ALPHA = 0.5
STEM_CHANNELS = 32
# Standard MobileNetV1 depthwise-separable blocks at full width: (pointwise out channels, dw stride).
# The full network has five stride-1 512-channel blocks in the middle; we keep three of them
# (11 blocks instead of 13) so the float32 model stays under 5 MB (13 blocks at alpha 0.5 is
# ~5.3 MB, most of it in the two dropped 256x256 pointwise convs and the 512x1000 classifier).
FULL_WIDTH_BLOCKS = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    # (512, 1), (512, 1)  -- trimmed, see above
    (1024, 2),
    (1024, 1),
]


def scaled(c: int) -> int:
    return int(c * ALPHA)


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class GraphBuilder:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def he_normal(self, shape: tuple[int, ...], fan_in: int, gain: float = 2.0) -> np.ndarray:
        # Drawn in float64 from PCG64 (platform independent), scaled, then rounded to float32.
        w = self.rng.standard_normal(shape) * np.sqrt(gain / fan_in)
        return w.astype(np.float32)

    def bias(self, n: int, std: float) -> np.ndarray:
        return (self.rng.standard_normal(n) * std).astype(np.float32)

    def init(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def conv_relu(self, name: str, x: str, cin: int, cout: int, k: int, stride: int, group: int) -> str:
        fan_in = (cin // group) * k * k
        w = self.he_normal((cout, cin // group, k, k), fan_in)
        # "BatchNorm folded": a conv bias stands in for the folded BN shift; small, so the
        # ReLUs stay roughly half open.
        b = self.bias(cout, 0.05)
        wn = self.init(f"{name}.weight", w)
        bn = self.init(f"{name}.bias", b)
        pad = k // 2
        y = f"{name}.out"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, wn, bn],
                [y],
                name=name,
                kernel_shape=[k, k],
                strides=[stride, stride],
                pads=[pad, pad, pad, pad],
                dilations=[1, 1],
                group=group,
            )
        )
        r = f"{name}.relu"
        self.nodes.append(helper.make_node("Relu", [y], [r], name=f"{name}_relu"))
        return r


def build_model() -> onnx.ModelProto:
    rng = np.random.default_rng(seed=SEED)
    g = GraphBuilder(rng)

    c = scaled(STEM_CHANNELS)
    x = g.conv_relu("stem", "input", 3, c, 3, 2, 1)
    for i, (cout_full, stride) in enumerate(FULL_WIDTH_BLOCKS, start=1):
        cout = scaled(cout_full)
        x = g.conv_relu(f"block{i}.dw", x, c, c, 3, stride, c)
        x = g.conv_relu(f"block{i}.pw", x, c, cout, 1, 1, 1)
        c = cout

    g.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"], name="pool"))
    g.nodes.append(helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1))
    # Classifier: gain 1 (no ReLU after it). The features after global pooling are all
    # non-negative with a large common mean; a zero-mean weight matrix keeps that common part
    # from dominating every logit the same way.
    fc_w = g.he_normal((NUM_CLASSES, c), c, gain=1.0)
    fc_b = g.bias(NUM_CLASSES, 0.05)
    g.init("fc.weight", fc_w)
    g.init("fc.bias", fc_b)
    g.nodes.append(
        helper.make_node(
            "Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", alpha=1.0, beta=1.0, transA=0, transB=1
        )
    )

    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", NUM_CLASSES])
    graph = helper.make_graph(g.nodes, "mobilenet_v1_050", [inp], [out], initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="model-bench scripts/make_assets.py",
        producer_version="1",
        ir_version=IR_VERSION,
        doc_string=(
            f"MobileNetV1-style, alpha={ALPHA}, {len(FULL_WIDTH_BLOCKS)} depthwise-separable blocks, "
            f"random weights (numpy default_rng seed {SEED}). Not trained: class ids are meaningless."
        ),
    )
    onnx.checker.check_model(model, full_check=True)
    return model


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def _grid(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    return xx, yy


def _to_u8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _disc(xx, yy, cx, cy, r, soft=1.5):
    """Anti-aliased disc coverage in [0,1]."""
    d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    return np.clip((r - d) / soft + 0.5, 0.0, 1.0)


def _blend(img, color, cov):
    return img * (1.0 - cov[..., None]) + np.asarray(color, dtype=np.float64) * cov[..., None]


def image_landscape(rng: np.random.Generator) -> Image.Image:
    """640x480: sky gradient, sun, two ranges of hills, a lake, mild grain."""
    w, h = 640, 480
    xx, yy = _grid(w, h)
    t = yy / (h - 1)
    sky_top = np.array([40, 90, 180.0])
    sky_bot = np.array([200, 220, 240.0])
    img = sky_top * (1 - t[..., None]) + sky_bot * t[..., None]
    # sun with a glow
    d = np.sqrt((xx - 470) ** 2 + (yy - 110) ** 2)
    glow = np.exp(-((d / 120.0) ** 2)) * 0.5
    img = _blend(img, [255, 240, 200], glow)
    img = _blend(img, [255, 225, 120], _disc(xx, yy, 470, 110, 45))
    # far hills
    ridge1 = 250 + 30 * np.sin(xx / 70.0) + 15 * np.sin(xx / 23.0 + 1.3)
    cov1 = np.clip(yy - ridge1 + 0.5, 0, 1)
    img = _blend(img, [90, 120, 150], cov1)
    # near hills
    ridge2 = 310 + 40 * np.sin(xx / 110.0 + 2.0) + 10 * np.sin(xx / 17.0)
    cov2 = np.clip(yy - ridge2 + 0.5, 0, 1)
    shade = 0.75 + 0.25 * np.sin(xx / 40.0) * np.cos(yy / 30.0)
    green = np.stack([50 * shade, 130 * shade, 60 * shade], axis=-1)
    img = img * (1 - cov2[..., None]) + green * cov2[..., None]
    # lake: an ellipse with horizontal ripples
    e = ((xx - 200) / 170.0) ** 2 + ((yy - 420) / 40.0) ** 2
    lake = np.clip((1.0 - e) * 20.0, 0, 1)
    ripple = 0.85 + 0.15 * np.sin(yy * 1.3 + np.sin(xx / 15.0))
    water = np.stack([60 * ripple, 110 * ripple, 190 * ripple], axis=-1)
    img = img * (1 - lake[..., None]) + water * lake[..., None]
    img = img + rng.normal(0.0, 3.0, size=img.shape)
    return Image.fromarray(_to_u8(img), "RGB")


def image_shapes(rng: np.random.Generator) -> Image.Image:
    """500x375: diagonal stripes with random coloured discs and rectangles."""
    w, h = 500, 375
    xx, yy = _grid(w, h)
    stripes = 0.5 + 0.5 * np.sin((xx + yy) / 9.0)
    img = np.stack([230 - 60 * stripes, 200 - 20 * stripes, 150 + 60 * stripes], axis=-1)
    for _ in range(7):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = rng.uniform(20, 80)
        color = rng.integers(0, 256, size=3)
        img = _blend(img, color, _disc(xx, yy, cx, cy, r))
    for _ in range(4):
        x0, y0 = rng.uniform(0, w - 60), rng.uniform(0, h - 60)
        rw, rh = rng.uniform(30, 150), rng.uniform(30, 120)
        cov = (
            np.clip(np.minimum(xx - x0, x0 + rw - xx) + 0.5, 0, 1)
            * np.clip(np.minimum(yy - y0, y0 + rh - yy) + 0.5, 0, 1)
        )
        color = rng.integers(0, 256, size=3)
        img = _blend(img, color, cov * 0.85)
    img = img + rng.normal(0.0, 2.0, size=img.shape)
    return Image.fromarray(_to_u8(img), "RGB")


def image_checker(rng: np.random.Generator) -> Image.Image:
    """320x240 RGB: checkerboard under a radial colour gradient, three rings. No noise (PNG)."""
    w, h = 320, 240
    xx, yy = _grid(w, h)
    checker = ((xx // 20 + yy // 20) % 2).astype(np.float64)
    r = np.sqrt((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / np.hypot(w / 2, h / 2)
    base = np.stack([255 * (1 - r), 128 + 100 * np.cos(r * 6), 255 * r], axis=-1)
    img = base * (0.6 + 0.4 * checker[..., None])
    for _ in range(3):
        cx, cy = rng.uniform(40, w - 40), rng.uniform(40, h - 40)
        rad = rng.uniform(20, 50)
        ring = _disc(xx, yy, cx, cy, rad) - _disc(xx, yy, cx, cy, rad - 6)
        img = _blend(img, rng.integers(0, 256, size=3), ring)
    return Image.fromarray(_to_u8(img), "RGB")


def image_sprite_rgba(rng: np.random.Generator) -> Image.Image:
    """256x256 RGBA: concentric coloured rings with a radial alpha falloff (transparent corners).

    The colour channels are defined everywhere (also where alpha is 0), so dropping alpha
    (PIL convert('RGB'), Rust image's to_rgb8) gives a well-defined RGB picture.
    """
    w = h = 256
    xx, yy = _grid(w, h)
    d = np.sqrt((xx - 127.5) ** 2 + (yy - 127.5) ** 2)
    ang = np.arctan2(yy - 127.5, xx - 127.5)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    img = np.stack([127.5 + 127.5 * np.sin(d / 8.0 + ang * k + p) for k, p in zip((1, 2, 3), phase)], axis=-1)
    alpha = 255.0 * np.clip((128.0 - d) / 24.0, 0, 1)
    rgba = np.concatenate([img, alpha[..., None]], axis=-1)
    return Image.fromarray(_to_u8(rgba), "RGBA")


IMAGE_SPECS = [
    # (file name, generator, save kwargs)
    ("landscape_640x480.jpg", image_landscape,
     dict(format="JPEG", quality=90, subsampling=0, optimize=False, progressive=False)),
    ("shapes_500x375.jpg", image_shapes,
     dict(format="JPEG", quality=90, subsampling=0, optimize=False, progressive=False)),
    ("checker_320x240.png", image_checker, dict(format="PNG", optimize=False, compress_level=9)),
    ("sprite_256x256_rgba.png", image_sprite_rgba, dict(format="PNG", optimize=False, compress_level=9)),
]


def make_images() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    for k, (name, fn, save_kw) in enumerate(IMAGE_SPECS):
        # One independent stream per image, derived from the same seed.
        rng = np.random.default_rng([SEED, 1000 + k])
        img = fn(rng)
        img.save(IMAGES / name, **save_kw)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------


def preprocess(path: Path) -> np.ndarray:
    """Standard ImageNet eval preprocessing -> float32 [3, 224, 224].

    RGB conversion (alpha dropped, no compositing), resize so the shorter side is 256 with
    PIL bilinear (antialiased; the longer side is int(256 * long / short)), center crop 224 at
    offset ((W - 224) // 2, (H - 224) // 2), scale to [0, 1], normalize, HWC -> CHW.
    """
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = RESIZE_SHORTER, int(RESIZE_SHORTER * h / w)
    else:
        nw, nh = int(RESIZE_SHORTER * w / h), RESIZE_SHORTER
    img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - INPUT_SIZE) // 2, (nh - INPUT_SIZE) // 2
    img = img.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = (a - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def top5(row: np.ndarray) -> list[int]:
    # Stable sort on -logits: ties (none expected) resolve to the lower class id.
    return [int(i) for i in np.argsort(-row, kind="stable")[:5]]


def softmax(row: np.ndarray) -> np.ndarray:
    e = np.exp(row.astype(np.float64) - row.max())
    return e / e.sum()


def verify() -> dict:
    import onnxruntime as ort

    size = MODEL_PATH.stat().st_size
    print(f"model: {MODEL_PATH.relative_to(ROOT)}  {size} bytes ({size / 1e6:.3f} MB)")
    assert size < MAX_MODEL_BYTES, f"model too large: {size}"
    model = onnx.load(str(MODEL_PATH))
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"  ir_version={model.ir_version} opset={model.opset_import[0].version} ops={ops}")
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"  parameters={n_params}")

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL_PATH), opts, providers=["CPUExecutionProvider"])
    i0, o0 = sess.get_inputs()[0], sess.get_outputs()[0]
    print(f"  ort input  {i0.name} {i0.shape} {i0.type}")
    print(f"  ort output {o0.name} {o0.shape} {o0.type}")

    # Random normalized input: logits must be neither exploded nor vanished.
    x = np.random.default_rng([SEED, 7]).standard_normal((2, 3, INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    (y,) = sess.run(["logits"], {"input": x})
    print(f"random N(0,1) input: shape={list(y.shape)} logits std={y.std():.4f} "
          f"max softmax={max(softmax(r).max() for r in y):.4f}")
    assert 0.1 < y.std() < 10.0, y.std()

    names = [n for n, _, _ in IMAGE_SPECS]
    batch = np.stack([preprocess(IMAGES / n) for n in names])
    singles = []
    results = {}
    for i, n in enumerate(names):
        p = IMAGES / n
        with Image.open(p) as im:
            desc = f"{im.format} {im.size[0]}x{im.size[1]} {im.mode}"
        (y1,) = sess.run(["logits"], {"input": batch[i : i + 1]})
        assert y1.shape == (1, NUM_CLASSES), y1.shape
        row = y1[0]
        singles.append(row)
        sm = softmax(row)
        t5 = top5(row)
        srt = np.sort(row)[::-1]
        print(f"{n} ({desc}, {p.stat().st_size} bytes)")
        print(f"  batch1 output shape={list(y1.shape)} logits std={row.std():.4f} "
              f"max softmax={sm.max():.4f}")
        print(f"  top5={t5}  logits={[round(float(row[j]), 4) for j in t5]}")
        print(f"  gaps between ranks 1..6: {[round(float(a - b), 4) for a, b in zip(srt[:5], srt[1:6])]}")
        print(f"  logits_first5={[float(v) for v in row[:5]]}")
        assert 0.1 < row.std() < 10.0
        assert sm.max() < 0.9, "softmax close to one-hot"
        # How robust is this reference to a slightly different decoder/resizer? Add +-1 LSB
        # (of the 0..255 pixel scale) noise to every pixel, NOISE_TRIALS times.
        nrng = np.random.default_rng([SEED, 2000 + i])
        top1_same = list_same = set_same = 0
        max_dlogit = 0.0
        for _ in range(NOISE_TRIALS):
            noise = nrng.integers(-1, 2, size=batch[i].shape) / 255.0 / STD[:, None, None]
            (yn,) = sess.run(["logits"], {"input": (batch[i : i + 1] + noise).astype(np.float32)})
            tn = top5(yn[0])
            top1_same += tn[0] == t5[0]
            list_same += tn == t5
            set_same += set(tn) == set(t5)
            max_dlogit = max(max_dlogit, float(np.abs(yn[0] - row).max()))
        stab = f"{top1_same}/{list_same}/{set_same} of {NOISE_TRIALS}"
        print(f"  +-1 LSB pixel noise: max |dlogit|={max_dlogit:.4f}; top1 / top5 list / top5 set "
              f"unchanged in {stab}")
        results[n] = dict(top5=t5, logits_first5=[float(v) for v in row[:5]], desc=desc,
                          top5_logits=[float(row[j]) for j in t5],
                          std=float(row.std()), gaps=[float(a - b) for a, b in zip(srt[:5], srt[1:6])],
                          stab=stab, max_dlogit=max_dlogit)

    (y4,) = sess.run(["logits"], {"input": batch})
    diff = float(np.abs(y4 - np.stack(singles)).max())
    print(f"batch4 output shape={list(y4.shape)}  max |batch4[i] - batch1(image i)| = {diff:.3e}")
    assert y4.shape == (len(names), NUM_CLASSES)
    assert diff < 1e-4, diff
    tops = [tuple(results[n]["top5"]) for n in names]
    print(f"distinct top-5 lists across images: {len(set(tops))} of {len(tops)}")
    return dict(results=results, batch_diff=diff, model_size=size, n_params=n_params)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def write_json(v: dict) -> None:
    out: dict = {}
    for n, r in v["results"].items():
        out[n] = r["top5"]
    out["logits_first5"] = {n: r["logits_first5"] for n, r in v["results"].items()}
    # Not asked for by the consumer format, but lets a test tell a real mismatch from a
    # near-tie swapping ranks: the onnxruntime logits of the five ids above, same order.
    out["top5_logits"] = {n: r["top5_logits"] for n, r in v["results"].items()}
    JSON_PATH.write_text(json.dumps(out, indent=2) + "\n")


def write_readme(v: dict) -> None:
    vers = {p: metadata.version(p) for p in ("onnx", "onnxruntime", "numpy", "pillow", "protobuf")}
    files = [MODEL_PATH] + [IMAGES / n for n, _, _ in IMAGE_SPECS]
    lines = []
    a = lines.append
    a("# Example assets")
    a("")
    a("Generated by `scripts/make_assets.py`; do not edit by hand. Everything here is synthetic:")
    a("no downloads, no trained weights. The model's class ids carry no meaning; they are only")
    a("useful for checking that two runtimes (or two code paths) compute the same thing.")
    a("")
    a("## Files")
    a("")
    a("| file | bytes | what |")
    a("|---|---|---|")
    a(f"| `mobilenet_v1_050.onnx` | {MODEL_PATH.stat().st_size} | MobileNetV1-style classifier, width 0.5, random weights |")
    descs = {
        "landscape_640x480.jpg": "procedural landscape (sky, sun, hills, lake, grain); baseline JPEG q90, 4:4:4",
        "shapes_500x375.jpg": "diagonal stripes with random discs and rectangles; baseline JPEG q90, 4:4:4",
        "checker_320x240.png": "checkerboard under a radial colour gradient with rings; 8-bit RGB PNG",
        "sprite_256x256_rgba.png": "concentric colour rings, alpha falls to 0 at the corners; 8-bit RGBA PNG",
    }
    for n, _, _ in IMAGE_SPECS:
        a(f"| `images/{n}` | {(IMAGES / n).stat().st_size} | {descs[n]} |")
    a(f"| `expected_top5.json` | - | onnxruntime results per image at batch 1 (see below) |")
    a("")
    a("## Model")
    a("")
    a("- Input `input`: float32 `[batch, 3, 224, 224]` (NCHW, dim_param `batch` is dynamic).")
    a("- Output `logits`: float32 `[batch, 1000]` (raw logits, no softmax).")
    a(f"- ONNX opset {OPSET}, IR version {IR_VERSION}; all weights are initializers in the file (no external data).")
    a("- Ops: Conv, Relu, GlobalAveragePool, Flatten, Gemm (transB=1) only.")
    a("- Layers: stem Conv 3x3 s2 3->16 + ReLU; 11 depthwise-separable blocks, each a depthwise")
    a("  Conv 3x3 (group = channels) + ReLU and a pointwise Conv 1x1 + ReLU; GlobalAveragePool;")
    a("  Flatten; Gemm 512->1000. Block output channels (dw stride):")
    a("  " + ", ".join(f"{scaled(c)}" + (" (s2)" if s == 2 else "") for c, s in FULL_WIDTH_BLOCKS) + ".")
    a("  This is standard MobileNetV1 at alpha 0.5 with two of the five stride-1 256-channel middle")
    a("  blocks removed (13 -> 11 blocks), so that float32 weights fit under 5 MB.")
    a("  BatchNorm is \"folded\": each Conv carries a bias, no BatchNormalization nodes.")
    a(f"- Weights: `numpy.random.default_rng(seed={SEED})`, drawn in layer order; He-normal")
    a("  (std sqrt(2/fan_in)) for convs, std sqrt(1/fan_in) for the classifier, biases N(0, 0.05^2).")
    a(f"  {v['n_params']} parameters.")
    a("")
    a("## Preprocessing used for the expected results")
    a("")
    a("Standard ImageNet eval: decode, convert to RGB (for RGBA the alpha channel is simply dropped,")
    a("no compositing onto a background), resize so the shorter side is 256 with PIL bilinear")
    a("(antialiased, longer side `int(256 * long / short)`, i.e. 341 for all three 4:3 images),")
    a("center crop 224 at offset `((W-224)//2, (H-224)//2)`, scale to [0, 1], normalize with")
    a("mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225], HWC -> NCHW.")
    a("")
    a("## Expected results (onnxruntime, CPU, batch 1)")
    a("")
    a("| image | top-5 class ids (best first) | their logits | logits std | gaps rank k - rank k+1, k=1..5 | stable under +-1 LSB noise (top1/top5 list/top5 set) |")
    a("|---|---|---|---|---|---|")
    for n, r in v["results"].items():
        a(f"| `{n}` | {r['top5']} | {[round(x, 4) for x in r['top5_logits']]} | {r['std']:.3f} "
          f"| {[round(g, 4) for g in r['gaps']]} | {r['stab']} |")
    a("")
    a(f"Batch 4 (all four images in file order above) gave the same rows as batch 1, max abs diff {v['batch_diff']:.1e}.")
    a("")
    a("`expected_top5.json` holds:")
    a("")
    a("- `\"<image file name>\": [five class ids, best first]` for each image;")
    a("- `\"logits_first5\": {\"<image file name>\": [logits[0], ..., logits[4]]}`;")
    a("- `\"top5_logits\": {\"<image file name>\": [the logits of the five ids above]}`.")
    a("")
    a("The weights are random, so the logits of the top classes are close together (1000 roughly")
    a("Gaussian values). Another JPEG decoder or resize implementation (e.g. the Rust `image` crate)")
    a("changes the input by about one pixel level. Resizing in float instead of PIL's 8-bit path")
    a("moved logits by up to ~0.003, and +-1 level of noise on every pixel by up to "
      f"{max(r['max_dlogit'] for r in v['results'].values()):.4f};")
    a("some rank gaps above are smaller than that. A robust cross-runtime test: compare `logits_first5`")
    a("with an absolute tolerance (~2e-2 with different preprocessing, ~1e-4 on an identical input")
    a("tensor), require the same top-1, and accept a top-5 difference only between classes whose")
    a("reference logits (`top5_logits`, the 5th one vs. the runner-up) are within that tolerance.")
    a("")
    a("## Regenerating")
    a("")
    a("From the repository root:")
    a("")
    a("```sh")
    a("python3 -m venv .venv-assets")
    a(f".venv-assets/bin/pip install onnx=={vers['onnx']} numpy=={vers['numpy']} "
      f"pillow=={vers['pillow']} onnxruntime=={vers['onnxruntime']}")
    a(".venv-assets/bin/python scripts/make_assets.py")
    a("```")
    a("")
    a("`--verify` re-checks the committed files without rewriting them. Output is byte-for-byte")
    a(f"deterministic with these versions (Python 3.11; protobuf {vers['protobuf']} came in with onnx).")
    a("")
    a("| package | version |")
    a("|---|---|")
    for p, ver in vers.items():
        a(f"| {p} | {ver} |")
    a("")
    a("SHA-256 of the generated files:")
    a("")
    a("```")
    for f in files:
        a(f"{sha256(f)}  {f.relative_to(ASSETS)}")
    a("```")
    README_PATH.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify", action="store_true", help="only verify the existing assets, write nothing")
    args = ap.parse_args()

    if not args.verify:
        ASSETS.mkdir(exist_ok=True)
        model = build_model()
        MODEL_PATH.write_bytes(model.SerializeToString())
        make_images()
        for n, _, _ in IMAGE_SPECS:
            s = (IMAGES / n).stat().st_size
            assert s < MAX_IMAGE_BYTES, f"{n} is {s} bytes"
    v = verify()
    if not args.verify:
        write_json(v)
        write_readme(v)
        print(f"wrote {JSON_PATH.relative_to(ROOT)} and {README_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
