"""Business rules, one object per area held on the app state, each given what it needs in
`__init__`: it opens its connections and transactions and raises domain errors."""
