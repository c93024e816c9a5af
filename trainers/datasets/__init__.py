"""The dataset catalog: offline toy, image, sequence and text sets, CSV upload, and downloads.

    from trainers.datasets import list_datasets, load_dataset, load_csv, check_graph_fits

Per training batch: `augment_batch(x, options, generator)` with `default_augment(info)` options.
"""
from trainers.datasets.augment import AugmentOptions, augment_batch, default_augment
from trainers.datasets.bundle import DatasetBundle, DatasetInfo
from trainers.datasets.catalog import dataset_info, list_datasets, load_dataset
from trainers.datasets.compat import check_graph_fits
from trainers.datasets.errors import DatasetError
from trainers.datasets.preview import preview
from trainers.datasets.rows import training_rows
from trainers.datasets.tabular import MAX_CSV_BYTES, load_csv

__all__ = ["MAX_CSV_BYTES", "AugmentOptions", "DatasetBundle", "DatasetError", "DatasetInfo",
           "augment_batch", "check_graph_fits", "dataset_info", "default_augment", "list_datasets",
           "load_csv", "load_dataset", "preview", "training_rows"]
