//! The GPU energy behind a token-stream point: the GPUs' mean power over the window — this
//! machine's through NVML when the server runs here, else a remote server's through its metrics
//! URL (DCGM's `DCGM_FI_DEV_POWER_USAGE`, Triton's `nv_gpu_power_usage`, both in W) — over the
//! client's output tokens per second: joules per output token, and tokens per joule.

use crate::results::{Energy, GpuInfo, GpuUsage, LoadStats, ServerMetrics};

/// Power series read through a metrics URL, in W, with the label naming the GPU's model.
const POWER_METRICS: &[(&str, Option<&str>)] = &[
    ("DCGM_FI_DEV_POWER_USAGE", Some("modelName")),
    ("nv_gpu_power_usage", None),
];

/// The point's energy; `None` when it streamed no tokens (not an LLM point).
pub fn energy(
    stats: &LoadStats,
    gpu: &[GpuUsage],
    gpu_names: &[GpuInfo],
    metrics: Option<&ServerMetrics>,
) -> Option<Energy> {
    let stream = stats.stream.as_ref()?;
    let from_nvml = {
        let powers: Vec<(u32, f64)> = gpu
            .iter()
            .filter_map(|g| g.power_mean_w.map(|w| (g.index, w)))
            .collect();
        (!powers.is_empty()).then(|| {
            let names = powers
                .iter()
                .map(|(index, _)| {
                    gpu_names
                        .iter()
                        .find(|info| info.index == *index)
                        .map_or_else(|| format!("GPU {index}"), |info| info.name.clone())
                })
                .collect();
            (
                "nvml".to_string(),
                names,
                powers.iter().map(|(_, w)| w).sum(),
            )
        })
    };
    let from_metrics = || {
        let metrics = metrics?;
        POWER_METRICS.iter().find_map(|(name, model_label)| {
            let series: Vec<_> = metrics.series.iter().filter(|s| s.name == *name).collect();
            (!series.is_empty()).then(|| {
                let names = series
                    .iter()
                    .filter_map(|s| model_label.and_then(|label| s.labels.get(label)).cloned())
                    .collect();
                let watts: f64 = series.iter().map(|s| s.mean).sum();
                (name.to_string(), names, watts)
            })
        })
    };
    let Some((source, gpus, watts)) = from_nvml.or_else(from_metrics) else {
        return Some(Energy {
            source: None,
            gpus: Vec::new(),
            power_mean_w: None,
            joules_per_output_token: None,
            output_tokens_per_joule: None,
            note: Some(
                "not measured: no power reading (NVML reads this machine's GPUs for a server \
                 on it; a remote one's needs DCGM_FI_DEV_POWER_USAGE or nv_gpu_power_usage on \
                 its metrics URL)"
                    .into(),
            ),
        });
    };
    let mut energy = Energy {
        source: Some(source),
        gpus,
        power_mean_w: Some(watts),
        joules_per_output_token: None,
        output_tokens_per_joule: None,
        note: None,
    };
    energy.rescale(Some(stream.output_tokens_per_s));
    Some(energy)
}
