"""The dataset catalog: offline toy, image, sequence and text sets, CSV upload, and downloads.

    from trainers.datasets import list_datasets, load_dataset, load_csv, check_graph_fits
"""
from trainers.datasets.bundle import DatasetBundle, DatasetInfo
from trainers.datasets.catalog import dataset_info, list_datasets, load_dataset
from trainers.datasets.errors import DatasetError
from trainers.datasets.tabular import MAX_CSV_BYTES, load_csv

__all__ = ["MAX_CSV_BYTES", "DatasetBundle", "DatasetError", "DatasetInfo", "dataset_info",
           "list_datasets", "load_csv", "load_dataset"]
