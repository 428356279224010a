#!/usr/bin/python3
"""Writes data/iris.csv, data/breast_cancer.csv and data/digits.csv from the copies of the UCI
datasets that Debian's python3-sklearn ships (sklearn/datasets/data/), with a header row and
the class as a named column. Values are copied as text, unchanged; only the layout differs.

    apt-get install python3-sklearn && /usr/bin/python3 data/make_datasets.py

Provenance and licences: data/README.md.
"""
import csv
import gzip
import os
import sys

SOURCE = "/usr/lib/python3/dist-packages/sklearn/datasets/data"
HERE = os.path.dirname(os.path.abspath(__file__))

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# sklearn's feature names (load_breast_cancer), spaces made underscores.
CANCER_FEATURES = [
    f"{stat}_{name}" if stat != "error" else f"{name}_error"
    for stat in ("mean", "error", "worst")
    for name in ("radius", "texture", "perimeter", "area", "smoothness", "compactness",
                 "concavity", "concave_points", "symmetry", "fractal_dimension")
]
DIGITS_FEATURES = [f"pixel_{row}_{col}" for row in range(8) for col in range(8)]


def sklearn_rows(name):
    """sklearn's layout: a first row "n_samples,n_features,class names...", then the features
    and the class index of each example."""
    with open(os.path.join(SOURCE, name), newline="") as f:
        rows = list(csv.reader(f))
    n_samples, n_features = int(rows[0][0]), int(rows[0][1])
    class_names = rows[0][2:]
    body = rows[1:]
    assert len(body) == n_samples and all(len(r) == n_features + 1 for r in body), name
    return body, class_names


def write(name, header, rows):
    path = os.path.join(HERE, name)
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(header)
        out.writerows(rows)
    print(f"{path}: {len(rows)} rows, {len(header) - 1} features")


def main():
    if not os.path.isdir(SOURCE):
        sys.exit(f"{SOURCE} is missing: apt-get install python3-sklearn")

    body, classes = sklearn_rows("iris.csv")
    write("iris.csv", IRIS_FEATURES + ["species"],
          [r[:-1] + [classes[int(r[-1])]] for r in body])

    body, classes = sklearn_rows("breast_cancer.csv")
    write("breast_cancer.csv", CANCER_FEATURES + ["diagnosis"],
          [r[:-1] + [classes[int(r[-1])]] for r in body])

    # digits.csv.gz has no first row: 64 pixels (0..16) and the digit, 1797 rows.
    with gzip.open(os.path.join(SOURCE, "digits.csv.gz"), "rt", newline="") as f:
        body = list(csv.reader(f))
    assert len(body) == 1797 and all(len(r) == 65 for r in body)
    write("digits.csv", DIGITS_FEATURES + ["digit"],
          body)


if __name__ == "__main__":
    main()
