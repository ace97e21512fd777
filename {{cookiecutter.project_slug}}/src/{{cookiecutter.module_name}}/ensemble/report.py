"""Every finished experiment under outputs/ in one table, best CV first, with the tricks each one used (a blend:
its members and weights), its margin over the best scikit-learn floor (baseline.py) of its metric, and its
leaderboard score where the Kaggle CLI can read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..cv.artefacts import read_cv
from ..run import layout
from ..run.errors import UserError
from ..run.provenance import read_provenance
from ..submission.kaggle import leaderboard_scores


def number(value) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def tricks(config: dict) -> str:
    """The switches of a config that are on, in a few words."""
    mixup, optim, averaging = config["mixup"], config["optim"], config["averaging"]
    used = [f"{config['trainer']['max_epochs']} epochs", f"lr {number(optim['lr'])}"]
    used += [f"{name} {mixup[f'{name}_alpha']:g}" for name in ("mixup", "cutmix") if mixup[f"{name}_alpha"] > 0]
    if optim["label_smoothing"]:
        used.append(f"label smoothing {optim['label_smoothing']:g}")
    if averaging["ema"]:
        used.append("EMA")
    if averaging["weights"] == "top_k":
        used.append(f"top-{averaging['top_k']} mean")
    if averaging["weights"] == "swa":
        used.append(f"SWA from epoch {averaging['swa_start_epoch']}")
    if config["tta"]["views"] != ["identity"]:
        used.append(f"TTA x{len(config['tta']['views'])}")
    if optim["freeze_backbone_epochs"]:
        used.append(f"frozen backbone {optim['freeze_backbone_epochs']} epochs")
    if optim.get("layer_decay", 1) != 1:
        used.append(f"layer decay {number(optim['layer_decay'])}")
    if config.get("seeds"):
        used.append(f"mean of {len(config['seeds'])} seeds")
    if config["data"].get("pseudo_labels"):
        used.append(f"pseudo-labels of {config['data']['pseudo_labels']} (>= {config['data']['pseudo_threshold']:g})")
    return ", ".join(used)


def provenances(folder: Path) -> dict[str, dict]:
    """The provenance.json of each fold of an experiment (with seeds, of each seed's folds) or of its floor,
    by folder: fold0, <experiment>_seed7/fold0, <experiment>_floor."""
    paths = sorted(folder.glob(f"**/{layout.PROVENANCE}"))
    return {
        (path.parent.relative_to(folder).as_posix() if path.parent != folder else folder.name): record
        for path in paths
        if (record := read_provenance(path))
    }


def commits(folder: Path) -> str:
    """The short git commits the experiment's folds (or its floor) were trained at; '+' marks changes that
    were not committed. More than one means its folds come from different code."""
    records = [record for record in provenances(folder).values() if record.get("commit")]
    return ", ".join(sorted({record["commit"][:7] + ("+" if record.get("dirty") else "") for record in records}))


def experiments(output_dir: str | Path, lb: dict[str, list[float]] | None = None) -> pd.DataFrame:
    """One row per experiment with a cv.json, sorted by metric, then best CV first (by the metric's direction);
    with `lb` (public scores by submission message), each experiment's best leaderboard score beside its CV."""
    rows = [row for cv_json in sorted(Path(output_dir).glob(f"*/{layout.CV}")) if (row := experiment_row(cv_json, lb))]
    columns = ["experiment", "metric", "cv", *(["lb"] if lb else [])]
    columns += ["vs floor", "fold std", "folds", "model", "tricks", "commit"]
    table = pd.DataFrame(rows, columns=[*columns, "higher_is_better", "floor", "competition"])
    if table.empty:
        return table[columns]
    table["rank"] = table.cv.where(table.higher_is_better, -table.cv)
    # Each experiment's margin over the best floor of its metric, data and folds: above 0 is better, whichever
    # the metric's direction.
    keys = ["metric", "competition"]
    best_floor = table[table.floor].groupby(keys)["rank"].max().rename("best_floor")
    table = table.join(best_floor, on=keys)
    table["vs floor"] = (table["rank"] - table.best_floor).where(~table.floor.astype(bool))
    table = table.sort_values(["metric", "rank"], ascending=[True, False])
    return table[columns].reset_index(drop=True)


def experiment_row(cv_json: Path, lb: dict[str, list[float]] | None) -> dict | None:
    """The report's row of one experiment, or None (said) where its cv.json or config.yaml does not read."""
    try:
        result = read_cv(cv_json.parent)  # and the oof.csv it was merged from, as it is now
        config = yaml.safe_load((cv_json.parent / layout.CONFIG).read_text())
        floor, blend = "floor" in result, result.get("blend")  # baseline.py's floor; blend.py's blend
        used = result["floor"] if floor else blend["description"] if blend else tricks(config)
    except UserError as error:  # one bad folder hides no other
        print(f"skipped {cv_json.parent}: {error}")
        return None
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        print(f"skipped {cv_json.parent}: its cv.json or config.yaml does not read ({type(error).__name__}: {error})")
        return None
    return {
        "experiment": cv_json.parent.name,
        "metric": result["metric"],
        "cv": result["cv"],
        "lb": best(lb.get(cv_json.parent.name, []), result["higher_is_better"]) if lb else None,
        "vs floor": None,
        "fold std": result["std"],
        "folds": len(result["folds"]),
        "model": "scikit-learn" if floor else "blend" if blend else config["model"]["name"],
        "tricks": used,
        "commit": commits(cv_json.parent),
        "higher_is_better": result["higher_is_better"],
        "floor": floor,
        "competition": f"{config['data']['dir']} {config['cv']}",  # the floor is of the same rows and folds
    }


def best(scores: list[float], higher_is_better: bool) -> float | None:
    return (max if higher_is_better else min)(scores) if scores else None


def print_details(output_dir: str | Path, experiment: str) -> dict:
    """What each fold of one experiment was trained with: commit, library versions, config changes."""
    folder = Path(output_dir) / experiment
    records = provenances(folder)
    if not records:
        print(f"no {layout.PROVENANCE} under {folder}/: is the experiment's name right, and was it trained?")
    for name, record in records.items():
        dirty = " with changes not committed" if record.get("dirty") else ""
        print(f"{name}: commit {record.get('commit') or 'unknown (not a git repository)'}{dirty}")
        print("  " + ", ".join(f"{library} {number}" for library, number in record.get("versions", {}).items()))
        changes = record.get("config_changes")
        print("  config vs the task's default: " + ("unknown" if changes is None else f"{len(changes)} changes"))
        for change in changes or []:
            print(f"    {change}")
    return records


def print_report(output_dir: str | Path, competition: str = "") -> pd.DataFrame:
    lb = leaderboard_scores(competition) if competition else None
    if competition and lb is None:
        print(
            f"no leaderboard scores: the Kaggle CLI could not list {competition}'s submissions "
            "(make setup installs it; kaggle auth login)"
        )
    table = experiments(output_dir, lb)
    if table.empty:
        print(f"no finished experiment under {output_dir}/ (a cv.json is written once every fold has trained)")
        return table
    unfinished = sorted(
        path.name
        for path in Path(output_dir).glob("*/")
        if (path / layout.CONFIG).exists() and not (path / layout.CV).exists()
    )
    with pd.option_context("display.max_colwidth", 80, "display.width", 200):
        shown = table.copy()
        shown["vs floor"] = table["vs floor"].map(lambda margin: "" if pd.isna(margin) else f"{margin:+.4f}")
        if "lb" in table:
            shown["lb"] = table.lb.map(lambda score: "" if pd.isna(score) else f"{score:.4f}")  # not submitted
        print(shown.to_string(index=False, float_format=lambda value: f"{value:.4f}"))
    if unfinished:
        print(f"\nnot finished yet (no cv.json): {', '.join(unfinished)}")
    return table
