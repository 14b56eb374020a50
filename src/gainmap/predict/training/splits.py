"""Which files train the bundled model and which are held out (fixed; evaluate.py reads the same lists).

Licence rule (issue 6): only images whose manifest licence is CC0, BSD, MIT (incl. MIT-CMU) or CC-BY train the
model.  Files under other licences (Apache-2.0, LGPL, none) may still be *evaluated* here: evaluation reads them
from ``../shared`` and redistributes nothing.
"""

from __future__ import annotations

import re

#: Allowed licence families for training data (prefixes of an SPDX-like identifier).
TRAINABLE_LICENCES = ("CC0", "BSD", "MIT", "CC-BY")

#: Corpus photos kept OUT of training: the validation split that evaluate.py scores (real phone / camera
#: gain-map photos; the two vearutop/pixel files are the same scene and stay together).
VAL_CORPUS: tuple[str, ...] = (
    "android-samples__desert_palms.jpg",
    "android-samples__lamps.jpg",
    "android-samples__train_station_night.jpg",
    "pixel6pro-mishaal__Ultra_HDR_Samples_Originals_01.jpg",
    "vearutop__s01.vipsth.jpg",
    "libvips__ultra-hdr.jpg",
    "pillow__ultrahdr.ORIG-b15ce5a.jpg",
    "uhdrbluredit__result2_image3.jpg",
    "uhdrbluredit__result2_image5.jpg",
    "hurd-gainmap__hdr_hdr-export.jpg",
    "hurd-gainmap__uhdr_200.jpg",
)

#: Corpus files with a decodable gain map and a trainable licence that train the model as real pairs.
TRAIN_CORPUS: tuple[str, ...] = (
    "pixel6pro-mishaal__Ultra_HDR_Samples_Originals_02.jpg",  # CC-BY-4.0
    "vearutop__uhdr.jpg",  # MIT
    "vearutop__small_uhdr.jpg",  # MIT
    "gainmapstego__sample.jpg",  # MIT
    "gainmapjs__memorial.jpg",  # MIT
    "gainmapjs__pisa-4k.jpg",  # MIT
    "gainmapjs__spruit_sunrise_4k.jpg",  # MIT (Poly Haven CC0 scene)
    "threejs__spruit_sunrise_2k.hdr.jpg",  # MIT (same scene)
    "awesomegm__gain_mapped-procedural_art-square_flows_mona_lisa.jpg",  # by the repo author, CC-BY-4.0
)

#: Left out of training on purpose, with the reason (for the model card).
EXCLUDED_CORPUS: dict[str, str] = {
    "awesomegm__gm-*, -photo-*, -video_games-*": "made from Wikimedia Commons images credited per image in "
        "images/readme.md; their licences are not stated there (may be CC-BY-SA), so not trainable",
    "awesomegm__gain_mapped-test_chart-*, -text-*, -ui-*, -visualization-*, -medical-*":
        "synthetic charts/UI/plots: not photographs",
    "gainmapjs__01..08": "Adobe sample photos, 'All Rights Reserved' per file despite the MIT repo; no 1-channel decode",
    "libultrahdr-rs__minnie_ultrahdr_sys.jpg": "Apache-2.0 (not in the trainable set)",
    "hdrcanvas__red-ultrahdr.jpeg, awesomegm__rgba_uhdr.jpg": "tiny synthetic test images",
}

#: Synthetic-validation HDR scenes (held out of the training views; used for the training log only).
VAL_HDR: tuple[str, ...] = (
    "3d-demo-data__vestibule_1k.hdr",
    "openexr-images__GoldenGate.exr",
)


def trainable_licence(text: str) -> bool:
    """True when a manifest licence string names an allowed family (any alternative of an "A OR B")."""
    head = text.split("(")[0]
    alternatives = [a.strip() for a in re.split(r"\bOR\b", head)]
    return any(a.upper().startswith(p) for a in alternatives for p in TRAINABLE_LICENCES)
