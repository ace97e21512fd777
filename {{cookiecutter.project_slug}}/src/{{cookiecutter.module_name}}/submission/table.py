"""submission.csv: the predictions in sample_submission.csv's layout, checked as Kaggle would read them; and
test_preds.csv, the same predictions before labels are chosen, which blend.py combines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Config
from ..cv.artefacts import oof_fingerprint
from ..data.competition import Competition
from ..data.tables import read_csv
from ..run import layout
from ..run.errors import DataError
from ..run.io import write_atomic, write_csv, write_json


def submission_table(cfg: Config, competition: Competition, preds: np.ndarray) -> pd.DataFrame:
    """Predictions in the layout of sample_submission.csv (data/sample.py), in its row and column order (its ids
    were checked against test.csv's when the data was loaded)."""
    layout, id_col, sample = competition.layout, cfg.data.id_col, competition.sample_submission
    values = pd.DataFrame(layout.values(competition.problem, preds), columns=list(layout.columns))
    values.insert(0, id_col, competition.test[id_col].to_numpy())
    return values.set_index(id_col).loc[sample[id_col]].reset_index()[list(sample.columns)]


def validate_submission(
    submission: pd.DataFrame, sample: pd.DataFrame, id_col: str, labels: set[str] | None = None
) -> None:
    """Refuse a submission Kaggle would reject or score wrongly, saying what differs from the sample. Both
    are compared as text: an id is right only when it is the sample's own string, byte for byte. `labels`:
    the values a submission of labels may hold; otherwise its values must be finite numbers."""
    if list(submission.columns) != list(sample.columns):
        raise DataError(
            f"submission columns {list(submission.columns)} differ from sample_submission.csv's "
            f"{list(sample.columns)}: set data.target_cols or submission in the config"
        )
    if len(submission) != len(sample):
        raise DataError(f"submission has {len(submission)} rows, sample_submission.csv has {len(sample)}")
    differ = submission[id_col].astype(str).to_numpy() != sample[id_col].astype(str).to_numpy()
    if differ.any():
        row = int(np.argmax(differ))
        raise DataError(
            f"submission ids differ from sample_submission.csv's from row {row}: "
            f"{submission[id_col].iloc[row]!r} where the sample has {sample[id_col].iloc[row]!r}"
        )
    check_values(submission.drop(columns=id_col).astype(str), labels)


def check_values(values: pd.DataFrame, labels: set[str] | None) -> None:
    """A submission's values as text: none empty, and each a label of `labels`, or else a finite number."""
    empty = (values == "").to_numpy()
    if empty.any():
        row, col = map(int, np.argwhere(empty)[0])
        raise DataError(
            f"submission has {int(empty.sum())} empty values, first in column {values.columns[col]!r} at row {row}"
        )
    if labels is not None:
        unknown = ~values.isin(labels).to_numpy()
        if unknown.any():
            row, col = map(int, np.argwhere(unknown)[0])
            raise DataError(
                f"submission holds {values.iat[row, col]!r} in column {values.columns[col]!r} at row {row}, "
                "not a label of train.csv"
            )
        return
    numbers = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise DataError(
            f"submission has {int(bad.sum())} NaN, infinite or non-numeric values, first in column "
            f"{values.columns[col]!r} at row {row}"
        )


def write_submission(cfg: Config, competition: Competition, submission: pd.DataFrame, path: Path) -> None:
    """Write submission.csv whole, after checking the very bytes written: read back as text, its ids and
    labels must be the sample's strings (a float id 10.00 written as 10.0 would not be)."""
    problem, labels = competition.problem, None
    if problem.is_classification and competition.layout.kind == "label":
        labels = set(problem.classes) if problem.kind != "multilabel" else {"0", "1"}

    def write(tmp: Path) -> None:
        submission.to_csv(tmp, index=False)
        validate_submission(read_csv(tmp), competition.sample_submission, cfg.data.id_col, labels)

    write_atomic(path, write)


def write_test_predictions(cfg: Config, competition: Competition, preds: np.ndarray, path: Path) -> None:
    """test_preds.csv: each test row's probabilities or values, laid out as oof.csv's prediction columns, in
    test.csv's order, so that blend.py combines experiments without running their models again. Beside it,
    test_preds.json holds the fingerprint of the experiment's oof.csv as it is now: a blend refuses test
    predictions whose models are not those behind the OOF it weighs (a fold trained again since)."""
    table = pd.DataFrame(preds, columns=competition.problem.pred_columns)
    table.insert(0, cfg.data.id_col, competition.test[cfg.data.id_col].to_numpy())
    write_csv(table, path)
    write_json(
        {"oof_sha256": oof_fingerprint(layout.oof(cfg.experiment_dir))}, path.with_name(layout.TEST_PREDS_SOURCE)
    )
