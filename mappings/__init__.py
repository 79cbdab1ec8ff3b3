"""Default mapping specs, one per connector, that accounts override."""
