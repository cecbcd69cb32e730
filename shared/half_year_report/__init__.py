"""`poverty report`: the district's half-year report composed from the four services' parts (`GET /v1/report`)."""
