-- Every work carries a licence: an SPDX identifier from the allow-list (shared/contracts/licences.py),
-- LicenseRef-All-Rights-Reserved (the default) or LicenseRef-Custom with the author's own terms.
ALTER TABLE works
    ADD COLUMN licence text NOT NULL DEFAULT 'LicenseRef-All-Rights-Reserved',
    ADD COLUMN licence_terms text NOT NULL DEFAULT '';
