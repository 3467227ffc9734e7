"""Demo content: procedurally generated artworks for seeding and tests."""
