"""Local PEP 503/691/658 package index for bumper's tests and demo (not shipped).

`wheels.build` turns `universe.toml` into tiny deterministic wheels;
`server.IndexServer` serves them with switches for auth, hiding and faults.
"""
