"""Business rules: each service takes the database, opens its transaction, raises domain errors."""
