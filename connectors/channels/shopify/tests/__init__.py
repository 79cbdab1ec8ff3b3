"""Tests of the Shopify channel connector."""
