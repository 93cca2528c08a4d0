//! What the numbers can be compared with: how each bench's setup differs from the baseline it was
//! compared with, and the machine's state when the run started and ended, shown when it was busy.

use super::table::Table;
use crate::results::{ChangeKind, MachineState, Report};

/// One row per difference between a compared bench's setup and its baseline's.
pub(super) fn setup_changes(report: &Report) -> Vec<Table> {
    let baseline = report
        .run
        .baseline
        .as_ref()
        .map(|b| format!(" `{}`", b.name()))
        .unwrap_or_default();
    let mut table = Table::new(
        format!("Setup differs from the baseline{baseline}"),
        &["bench", "what", "baseline", "this run"],
    );
    table.prose = true;
    let mut runtime = false;
    for bench in &report.benches {
        for change in &bench.setup_changes {
            runtime |= change.kind == ChangeKind::Runtime;
            table.rows.push(change.row(&bench.id));
        }
    }
    if runtime {
        table.notes.push(
            "criterion's change figures above compare across these differences: another runtime, \
             model or server, not the same code measured again"
                .into(),
        );
    } else if !table.rows.is_empty() {
        table.notes.push(
            "the same code measured on another machine or under other load: expect noise".into(),
        );
    }
    vec![table]
}

/// The machine's state at the start and end, shown only when it was busy at either.
pub(super) fn busy_machine(report: &Report) -> Vec<Table> {
    let Some(machine) = &report.environment.machine else {
        return Vec::new();
    };
    let states: Vec<(&str, &MachineState)> = std::iter::once(("start", &machine.start))
        .chain(machine.end.as_ref().map(|end| ("end", end)))
        .collect();
    if states.iter().all(|(_, state)| state.busy.is_none()) {
        return Vec::new();
    }
    let mut table = Table::new("Machine busy", &["when", "state"]);
    table.prose = true;
    for (when, state) in states {
        table.rows.push(vec![when.to_string(), machine_line(state)]);
        if let Some(busy) = &state.busy {
            table.notes.push(format!("at the {when}: {busy}"));
        }
    }
    vec![table]
}

/// One line for a machine state: load, other processes, governor, frequencies, limits, GPUs.
pub(crate) fn machine_line(state: &MachineState) -> String {
    let mut parts = Vec::new();
    if let Some([one, five, fifteen]) = state.load_average {
        parts.push(format!("load {one:.2} {five:.2} {fifteen:.2}"));
    }
    if let Some(cores) = state.other_processes_cores {
        parts.push(format!(
            "other processes {cores:.2} cores over {} ms{}",
            state.sampled_ms,
            state.top_processes_named()
        ));
    }
    if let Some(governor) = &state.cpu_governor {
        parts.push(format!("governor {governor}"));
    }
    if let Some([low, high]) = state.cpu_mhz {
        parts.push(if (high - low).abs() < 1.0 {
            format!("{low:.0} MHz")
        } else {
            format!("{low:.0}–{high:.0} MHz")
        });
    }
    if let Some(cores) = state.cgroup_cpu_cores {
        parts.push(format!("cgroup CPU {cores:.1} cores"));
    }
    if let Some(bytes) = state.cgroup_memory_bytes {
        parts.push(format!(
            "cgroup memory {:.1} GiB",
            bytes as f64 / f64::from(1u32 << 30)
        ));
    }
    for gpu in &state.gpus {
        let mhz = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        parts.push(format!(
            "GPU {}: SM {} MHz, memory {} MHz{}",
            gpu.index,
            mhz(gpu.sm_mhz),
            mhz(gpu.memory_mhz),
            match gpu.persistence_mode {
                Some(true) => ", persistence on",
                Some(false) => ", persistence off",
                None => "",
            }
        ));
    }
    parts.join(" · ")
}
