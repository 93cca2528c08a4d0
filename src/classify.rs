//! Preprocessing (decode, resize, crop, normalize) and postprocessing (softmax, top-5) of the
//! example classifier, ImageNet-style as `scripts/make_assets.py` does it.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use ndarray::{Array3, Array4, ArrayView2, Axis};

/// Side of the square model input.
pub const INPUT_SIDE: u32 = 224;
/// Shorter side after resizing, before the center crop.
pub const RESIZE_SHORTER: u32 = 256;
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// The committed example model.
pub fn model_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/mobilenet_v1_050.onnx")
}

/// The committed example images, in a fixed order.
pub fn image_paths() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/images");
    [
        "landscape_640x480.jpg",
        "shapes_500x375.jpg",
        "checker_320x240.png",
        "sprite_256x256_rgba.png",
    ]
    .iter()
    .map(|name| dir.join(name))
    .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read image {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decode image: {0}")]
    Decode(#[from] image::ImageError),
    #[error("a batch needs at least one image")]
    EmptyBatch,
}

/// Reads the encoded bytes of every example image (decoding is part of preprocessing).
pub fn read_images() -> Result<Vec<Vec<u8>>, ClassifyError> {
    image_paths()
        .into_iter()
        .map(|path| std::fs::read(&path).map_err(|source| ClassifyError::Read { path, source }))
        .collect()
}

/// Decodes an encoded image and turns it into a normalized `[3, 224, 224]` tensor: shorter side
/// resized to 256 (bilinear), center crop 224, scaled to [0, 1], ImageNet mean/std.
pub fn preprocess(encoded: &[u8]) -> Result<Array3<f32>, ClassifyError> {
    let rgb = image::load_from_memory(encoded)?.to_rgb8();
    let (width, height) = rgb.dimensions();
    let (new_width, new_height) = if width <= height {
        (
            RESIZE_SHORTER,
            (RESIZE_SHORTER as u64 * height as u64 / width as u64) as u32,
        )
    } else {
        (
            (RESIZE_SHORTER as u64 * width as u64 / height as u64) as u32,
            RESIZE_SHORTER,
        )
    };
    let resized = if (new_width, new_height) == (width, height) {
        rgb
    } else {
        image::imageops::resize(&rgb, new_width, new_height, FilterType::Triangle)
    };
    let left = (new_width - INPUT_SIDE) / 2;
    let top = (new_height - INPUT_SIDE) / 2;
    let side = INPUT_SIDE as usize;
    let mut tensor = Array3::<f32>::zeros((3, side, side));
    for y in 0..side {
        for x in 0..side {
            let pixel = resized.get_pixel(left + x as u32, top + y as u32);
            for channel in 0..3 {
                tensor[[channel, y, x]] =
                    (pixel[channel] as f32 / 255.0 - MEAN[channel]) / STD[channel];
            }
        }
    }
    Ok(tensor)
}

/// A batch of `batch` inputs, cycling through `images`.
pub fn batch_of(images: &[Array3<f32>], batch: usize) -> Result<Array4<f32>, ClassifyError> {
    if images.is_empty() {
        return Err(ClassifyError::EmptyBatch);
    }
    let views: Vec<_> = images
        .iter()
        .cycle()
        .take(batch)
        .map(|i| i.view())
        .collect();
    ndarray::stack(Axis(0), &views).map_err(|_| ClassifyError::EmptyBatch)
}

/// One image's five most likely classes, best first, with their probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Top5 {
    pub classes: [usize; 5],
    pub probabilities: [f32; 5],
}

/// Softmax over each row of `[batch, classes]` logits, then the five best classes per row.
pub fn postprocess(logits: ArrayView2<'_, f32>) -> Vec<Top5> {
    logits
        .outer_iter()
        .map(|row| {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = row.iter().map(|v| (v - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            let mut order: Vec<usize> = (0..exp.len()).collect();
            let k = 5.min(order.len());
            if k > 0 {
                order.select_nth_unstable_by(k - 1, |a, b| exp[*b].total_cmp(&exp[*a]));
            }
            order.truncate(k);
            order.sort_by(|a, b| exp[*b].total_cmp(&exp[*a]));
            let mut top = Top5 {
                classes: [0; 5],
                probabilities: [0.0; 5],
            };
            for (slot, class) in order.into_iter().enumerate() {
                top.classes[slot] = class;
                top.probabilities[slot] = exp[class] / sum;
            }
            top
        })
        .collect()
}

/// The first rows of `logits` as a 2-D view (for models that return `[batch, classes]`).
pub fn as_rows(logits: &ndarray::ArrayD<f32>) -> Option<ArrayView2<'_, f32>> {
    logits.view().into_dimensionality::<ndarray::Ix2>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn top5_is_sorted_and_probabilities_sum_below_one() {
        let logits = array![[0.0f32, 5.0, 1.0, 3.0, 2.0, 4.0, -1.0]];
        let top = postprocess(logits.view());
        assert_eq!(top[0].classes, [1, 5, 3, 4, 2]);
        assert!(top[0].probabilities.windows(2).all(|w| w[0] >= w[1]));
        let total: f32 = top[0].probabilities.iter().sum();
        assert!(total < 1.0 && total > 0.9);
    }

    #[test]
    fn every_example_image_preprocesses_to_the_model_input() {
        for encoded in read_images().unwrap() {
            let tensor = preprocess(&encoded).unwrap();
            assert_eq!(tensor.shape(), &[3, 224, 224]);
            assert!(tensor.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn a_corrupt_image_is_an_error() {
        let error = preprocess(b"not an image").unwrap_err();
        assert!(error.to_string().contains("cannot decode image"), "{error}");
    }
}
