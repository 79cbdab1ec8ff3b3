"""USPS connector tests."""
