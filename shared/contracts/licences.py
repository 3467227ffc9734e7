"""The licences a work or a model may carry: an SPDX identifier from a fixed allow-list,
`LicenseRef-All-Rights-Reserved` (the default), or `LicenseRef-Custom` with the owner's own terms.
Anything else is a 422. Works' licences are community's, models' the trainer's; the market owns
only the licences it trades.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import StringConstraints

ALL_RIGHTS_RESERVED: Final = "LicenseRef-All-Rights-Reserved"
CUSTOM: Final = "LicenseRef-Custom"
SpdxLicence = Literal[
    "LicenseRef-All-Rights-Reserved", "LicenseRef-Custom", "CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0",
    "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0", "CC-BY-ND-4.0", "CC-BY-NC-ND-4.0", "MIT",
]
LicenceTerms = Annotated[str, StringConstraints(max_length=4000)]
