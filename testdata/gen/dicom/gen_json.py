#!/usr/bin/python3
"""Writes the DICOM JSON model (PS3.18 Annex F) of a few fixtures with
pydicom, the independent encoder that dicom.ReadJSON is checked against.

Run from the repository root (needs Debian's python3-pydicom):

    /usr/bin/python3 testdata/gen/dicom/gen_json.py

It writes dicom/testdata/json/<fixture>.json for an enhanced multi-frame cine
(per-frame functional groups, nested sequences) and a classic MR image: the
whole data set, with elements over 1 KiB (pixel data) as a BulkDataURI, as a
DICOMweb server sends WADO-RS metadata. dicom/json_test.go compares every
attribute and File.Images of the JSON with the parsed .dcm file.
"""
import json
import os
import warnings

import pydicom

FIXTURES = ["sax_enhanced.dcm", "mr_small_mono1.dcm", "heart_rgb.dcm"]
SRC = "dicom/testdata/fixtures"
DST = "dicom/testdata/json"

warnings.simplefilter("ignore")  # pydicom warns about a fixture's non-conformant UIDs
os.makedirs(DST, exist_ok=True)
for name in FIXTURES:
    ds = pydicom.dcmread(os.path.join(SRC, name))
    obj = ds.to_json_dict(
        bulk_data_threshold=1024,
        bulk_data_element_handler=lambda e: "https://pacs.invalid/bulk/%08X" % int(e.tag),
    )
    out = os.path.join(DST, name[: -len(".dcm")] + ".json")
    with open(out, "w") as f:
        json.dump([obj], f, indent=1, sort_keys=True)
        f.write("\n")
    print(out, os.path.getsize(out), "bytes, pydicom", pydicom.__version__)
